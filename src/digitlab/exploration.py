"""The notebook's step 1, data exploration: sample grids, class counts and the pixel matrix.

Figures are returned, never shown or saved: the CLI and the report decide where they go. They are
built without pyplot, so nothing here touches matplotlib's global backend or figure list (a notebook
keeps its inline plots; a server or a sweep keeps no figures alive).
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from digitlab.datasets import Dataset, Split
from digitlab.i18n import class_names, current
from digitlab.i18n.ticks import localize_axes
from digitlab.pixels import to_float

GRID_INCHES_PER_IMAGE = 1.6  # room for a two-line title under each digit
SHORT_CLASS_NAME = 2  # class names up to this long fit level under their bar ("0".."9")


def sample_grid(
    split: Split, classes: tuple[str, ...], *, rows: int = 3, cols: int = 3, seed: int = 0,
    indices: list[int] | None = None,
) -> tuple[Figure, list[int]]:
    """A grid of random images titled '#index' and their class, plus the indices drawn.

    ``indices`` picks the images instead of drawing them at random (``rows * cols`` at most).
    """
    count = rows * cols
    if indices is None:
        generator = torch.Generator().manual_seed(seed)
        indices = torch.randperm(len(split), generator=generator)[:count].tolist()
    if not 0 < len(indices) <= count:
        raise ValueError(f"need between 1 and {count} indices, got {len(indices)}")
    figure = Figure(figsize=(cols * GRID_INCHES_PER_IMAGE, rows * GRID_INCHES_PER_IMAGE), layout="tight")
    axes = figure.subplots(rows, cols, squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, index in zip(axes.flat, indices, strict=False):
        axis.imshow(split.images[index].numpy(), cmap="binary", interpolation="none")
        axis.set_title(f"#{index}\n{classes[int(split.labels[index])]}", fontsize=9)
    return figure, indices


def class_count_chart(dataset: Dataset) -> Figure:
    """Bars of images per class for train and test side by side, in the current language."""
    train = dataset.train.class_counts(dataset.num_classes).tolist()
    test = dataset.test.class_counts(dataset.num_classes).tolist()
    positions = torch.arange(dataset.num_classes).numpy()
    width = 0.4
    tr = current()
    figure = Figure(figsize=(8, 3.5), layout="tight")
    axis = figure.subplots()
    for offset, counts, split, size in ((-width / 2, train, "figure.train", len(dataset.train)), (width / 2, test, "figure.test", len(dataset.test))):
        axis.bar(positions + offset, counts, width, label=tr("figure.split_count", split=tr(split), count=tr.numbers.integer(size)))
    names = class_names(dataset.name, dataset.classes)
    slanted = max(map(len, names)) > SHORT_CLASS_NAME  # long names (T-shirt/top) would overlap
    axis.set_xticks(positions, names, rotation=30 if slanted else 0, ha="right" if slanted else "center")
    axis.set_ylabel(tr("figure.examples"))
    axis.set_title(tr("figure.examples_per_class", name=dataset.name))
    axis.legend()
    return localize_axes(figure)


def pixel_matrix(image: torch.Tensor, scale: bool = True, digits: int = 2) -> str:
    """The image as a text matrix like the notebook's ``matprint``: one row per line, aligned columns.

    With ``scale`` the values are the network's inputs (``uint8 / 255``, printed with ``digits``
    significant digits, ``0`` for blank); without it the raw bytes 0..255.
    """
    if image.ndim != 2:
        raise ValueError(f"expected one (H, W) image, got shape {tuple(image.shape)}")
    values = to_float(image) if scale and image.dtype == torch.uint8 else image
    cells = [[f"{float(v):.{digits}g}" if scale else str(int(v)) for v in row] for row in values]
    widths = [max(len(row[col]) for row in cells) for col in range(len(cells[0]))]
    return "\n".join("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) for row in cells)
