"""Pictures of results: training curves, confusion heatmaps, galleries of predictions, sweeps.

Every function returns a matplotlib ``Figure`` and never shows or saves it: the CLI, the report
and notebooks decide where it goes. Figures are built without pyplot, so no global figure list
grows and nothing needs closing; they render with the Agg canvas (``figure.savefig``) and
display inline in Jupyter. Their words and numbers are in the current language (digitlab.i18n:
the report draws inside ``speaking(lang)``); callers pass their own labels already translated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from digitlab.i18n import current
from digitlab.i18n.ticks import localize_axes, percent_axis

TILE_INCHES = 1.8  # room for a 28x28 digit and a two-line title
CELL_INCHES = 0.55  # per confusion-matrix cell: fits a four-digit count
COUNT_POINTS = 12  # the counts in a confusion matrix: readable when the page shows the figure at 560-620 px
LONG_CLASS_NAME = 3  # longer tick labels (Fashion-MNIST's "T-shirt/top") are tilted to stay readable
HISTORY_KEYS = ("epoch", "train_loss", "train_accuracy", "test_accuracy")
CURVE_LEGEND_COLUMNS = 2  # a curve figure's legend below its axes: at most two names to a row
CURVE_INCHES = (7, 4)  # width, height of a curve figure's axes and labels, without its legend
LEGEND_CHAR_EMS = 0.6  # an average legend character's width in ems of its font: generous, so no label is cut off
LEGEND_ENTRY_POINTS = 40  # an entry's line sample and the gap to the next
LEGEND_ROW_INCHES = 0.25  # one row of a small legend
SMALL_POINTS = 8.33  # matplotlib's "small" font at its default 10-point size
POINTS_PER_INCH = 72


def _numpy(values) -> np.ndarray:
    return values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)


def history_figure(history: list[dict]) -> Figure:
    """Loss (left) and accuracy (right) per epoch from a training history.

    Each entry has ``epoch``, ``train_loss``, ``train_accuracy``, ``test_accuracy`` and optionally
    ``val_accuracy`` (drawn for the epochs that have it) and ``seconds`` (ignored here).
    """
    if not history:
        raise ValueError("history is empty: train for at least one epoch")
    for number, entry in enumerate(history):
        missing = [key for key in HISTORY_KEYS if key not in entry]
        if missing:
            raise ValueError(f"history entry {number} lacks {', '.join(missing)}")
    epochs = [entry["epoch"] for entry in history]
    tr = current()
    figure = Figure(figsize=(10, 3.8), layout="constrained")
    loss_axis, accuracy_axis = figure.subplots(1, 2)
    loss_axis.plot(epochs, [entry["train_loss"] for entry in history], marker="o", label=tr("figure.train"))
    loss_axis.set(title=tr("figure.loss_per_epoch"), xlabel=tr("figure.epoch"), ylabel=tr("figure.loss"))
    for key, label in (("train_accuracy", tr("figure.train")), ("val_accuracy", tr("figure.validation")), ("test_accuracy", tr("figure.test"))):
        points = [(entry["epoch"], entry[key]) for entry in history if entry.get(key) is not None]
        if points:
            accuracy_axis.plot(*zip(*points, strict=True), marker="o", label=label)
    accuracy_axis.set(title=tr("figure.accuracy_per_epoch"), xlabel=tr("figure.epoch"), ylabel=tr("figure.accuracy"))
    percent_axis(accuracy_axis.yaxis, fractions=True)
    for axis in (loss_axis, accuracy_axis):
        axis.grid(alpha=0.3)
        axis.legend()
        axis.xaxis.get_major_locator().set_params(integer=True)  # epochs are whole numbers
    return localize_axes(figure)


def confusion_figure(confusion, classes: Sequence[str], title: str = "") -> Figure:
    """A heatmap of a confusion matrix (rows true, columns predicted) with each count written in."""
    counts = _numpy(confusion)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"confusion must be a square matrix, got shape {counts.shape}")
    if len(classes) != len(counts):
        raise ValueError(f"{len(classes)} class names for a {len(counts)}x{len(counts)} confusion matrix")
    size = max(4.0, CELL_INCHES * len(counts) + 2)
    figure = Figure(figsize=(size + 1, size), layout="constrained")
    axis = figure.subplots()
    tr = current()
    image = axis.imshow(counts, cmap="Greens")
    figure.colorbar(image, ax=axis, label=tr("figure.images"))
    # Dark cells get white text; the threshold is half the darkest shade.
    threshold = counts.max() / 2 if counts.size and counts.max() > 0 else 1
    for row, column in np.ndindex(counts.shape):
        value = counts[row, column]
        axis.text(column, row, tr.numbers.short(float(value)), ha="center", va="center", fontsize=COUNT_POINTS,
                  color="white" if value > threshold else "black")
    tilt = 45 if max((len(name) for name in classes), default=0) > LONG_CLASS_NAME else 0
    ticks = range(len(classes))
    axis.set_xticks(ticks, classes, rotation=tilt, ha="right" if tilt else "center")
    axis.set_yticks(ticks, classes)
    axis.set(xlabel=tr("figure.predicted_class"), ylabel=tr("figure.true_class"), title=title)
    return localize_axes(figure)


def gallery_figure(
    images, predicted, labels, classes: Sequence[str], indices, title: str = "", cols: int = 3,
) -> Figure:
    """Chosen images in a grid, each titled with its predicted and its true class.

    ``images`` (N, H, W), ``predicted`` and ``labels`` (N,) cover the whole set; ``indices`` picks
    the tiles (e.g. from :func:`~digitlab.evaluation.metrics.most_confident_mistakes`).
    """
    images, predicted, labels = _numpy(images), _numpy(predicted), _numpy(labels)
    chosen = [int(index) for index in _numpy(indices).reshape(-1)]
    if images.ndim != 3:
        raise ValueError(f"images must be (N, H, W), got shape {images.shape}")
    if not len(images) == len(predicted) == len(labels):
        raise ValueError(f"images, predicted and labels differ in length: {len(images)}, {len(predicted)}, {len(labels)}")
    if cols < 1:
        raise ValueError(f"cols must be at least 1, got {cols}")
    outside = [index for index in chosen if not 0 <= index < len(images)]
    if outside:
        raise ValueError(f"index {outside[0]} is outside the {len(images)} images")
    rows = max(1, math.ceil(len(chosen) / cols))
    figure = Figure(figsize=(cols * TILE_INCHES, rows * TILE_INCHES + (0.4 if title else 0)), layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, cols, squeeze=False)).reshape(-1)
    for axis in axes:
        axis.axis("off")
    if not chosen:
        axes[0].text(0.5, 0.5, current()("figure.nothing"), ha="center", va="center", transform=axes[0].transAxes)
    for axis, index in zip(axes, chosen, strict=False):
        axis.imshow(images[index], cmap="binary", interpolation="none")
        axis.set_title(current()("figure.guess", predicted=classes[int(predicted[index])], true=classes[int(labels[index])]), fontsize=9)
    if title:
        figure.suptitle(title)
    return figure


def legend_columns(labels: Sequence[str], inches: float, points: float, most: int) -> int:
    """As many legend columns (up to ``most``) as the longest label lets fit across ``inches``: translated labels
    (a Dutch k-NN setting) are long, and a legend wider than its figure is cut off."""
    entry = max(map(len, labels), default=0) * points * LEGEND_CHAR_EMS + LEGEND_ENTRY_POINTS
    return max(1, min(len(labels), most, int(inches * POINTS_PER_INCH // entry)))


def curve_figure(
    x, ys: dict[str, list], xlabel: str, ylabel: str, title: str, logx: bool = False, percent: bool = False,
) -> Figure:
    """Lines sharing one x axis, one per entry of ``ys`` (a legend names them); None is a gap.

    ``percent``: the values are percentages (accuracy), and the y ticks say so.
    """
    xs = _numpy(x).astype(float)
    if xs.ndim != 1:
        raise ValueError(f"x must be 1-D, got shape {xs.shape}")
    columns = legend_columns(list(ys), CURVE_INCHES[0], SMALL_POINTS, CURVE_LEGEND_COLUMNS)
    legend_rows = math.ceil(len(ys) / columns) if len(ys) > 1 else 0
    figure = Figure(figsize=(CURVE_INCHES[0], CURVE_INCHES[1] + legend_rows * LEGEND_ROW_INCHES), layout="constrained")
    axis = figure.subplots()
    for name, values in ys.items():
        points = np.array([np.nan if value is None else float(value) for value in values], dtype=float)
        if len(points) != len(xs):
            raise ValueError(f"series {name!r} has {len(points)} values for {len(xs)} x values")
        axis.plot(xs, points, marker="o", label=name)
    if logx:
        axis.set_xscale("log")
    axis.set(xlabel=xlabel, ylabel=ylabel, title=title)
    axis.grid(alpha=0.3)
    if len(ys) > 1:  # below the axes, where it covers no line (inside, "best" still sat on the curves)
        figure.legend(loc="outside lower center", ncols=columns, fontsize="small")
    elif ys:
        axis.legend()
    if percent:
        percent_axis(axis.yaxis)
    return localize_axes(figure)


def time_to_accuracy_figure(curves: dict[str, list[list[tuple[float, float]]]], title: str = "",
                            floor: float | None = None, axis=None) -> Figure:  # noqa: ANN001 (a matplotlib Axes)
    """Test accuracy against training seconds: one line per run, one colour per setup.

    ``curves`` maps a setup's label to its runs, each a list of (training seconds at the end of an
    epoch, test accuracy in [0, 1]); the seconds axis is logarithmic so that a 2-second MLP and a
    3-minute augmented CNN share one picture. ``floor`` (e.g. 0.97) hides the first, low epochs.
    ``axis`` draws into one panel of a bigger figure (and returns that figure).
    """
    if not curves or not any(curves.values()):
        raise ValueError("no runs to draw: give at least one run with one epoch")
    figure = axis.figure if axis is not None else Figure(figsize=(9, 5), layout="constrained")
    axis = axis if axis is not None else figure.subplots()
    for index, (label, runs) in enumerate(curves.items()):
        colour = f"C{index % 10}"
        for number, points in enumerate(runs):
            seconds, accuracy = zip(*points, strict=True) if points else ((), ())
            axis.plot(seconds, [100 * value for value in accuracy], marker="o", markersize=3, color=colour,
                      alpha=0.9 if number == 0 else 0.45, label=label if number == 0 else None)
    axis.set_xscale("log")
    tr = current()
    axis.set(title=title or tr("figure.time_to_accuracy"), xlabel=tr("figure.training_seconds_log"), ylabel=tr("figure.test_accuracy_percent"))
    percent_axis(axis.yaxis)
    best = max(value for runs in curves.values() for points in runs for _, value in points)
    if floor is not None and best > floor:  # else nothing would be left to see
        axis.set_ylim(100 * floor, 100 * best + 0.1 * (100 * best - 100 * floor))
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize="small", loc="lower right")
    return localize_axes(figure)
