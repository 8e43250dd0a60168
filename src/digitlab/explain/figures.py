"""Pictures of explanations: one panel per network or k-NN, weight images, deletion curves.

Every function returns a matplotlib ``Figure`` built without pyplot (nothing to close, renders
with Agg); the CLI saves it, the report embeds it, a notebook shows it. Words and numbers are in
the current language (digitlab.i18n).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from digitlab.explain.deletion import Faithfulness
from digitlab.explain.explanation import NetworkExplanation
from digitlab.explain.neighbours import NeighbourVotes
from digitlab.explain.units import WeightImages
from digitlab.i18n import current
from digitlab.i18n.ticks import localize_axes, percent_axis

TILE = 1.3  # inches per small image
ROW_TITLE_INCHES = 0.35  # a row title above a row of weight images
SHOWN = 8  # filters, feature maps or units per row
TOP_CLASSES = 3  # classes named in a panel's title
DELETION_LEGEND_COLUMNS = 2  # methods per row of the legend under a deletion plot


def _numpy(values) -> np.ndarray:
    return values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)


def _tile(axis, picture, title: str = "", cmap: str = "gray", symmetric: bool = False, fontsize: int = 8) -> None:
    picture = _numpy(picture)
    if symmetric:  # weights: zero is the middle colour, red for, blue against
        limit = float(np.abs(picture).max()) or 1.0
        axis.imshow(picture, cmap="bwr", vmin=-limit, vmax=limit)
    else:
        axis.imshow(picture, cmap=cmap)
    axis.set_title(title, fontsize=fontsize)
    axis.set_xticks([])
    axis.set_yticks([])


def _overlay(axis, image, attribution, title: str) -> None:
    """The digit in gray with the attribution's positive part on top in a heat colour."""
    heat = np.clip(_numpy(attribution), 0, None)
    heat = heat / heat.max() if heat.max() > 0 else heat
    axis.imshow(_numpy(image), cmap="gray")
    axis.imshow(heat, cmap="inferno", alpha=0.6)
    axis.set_title(title, fontsize=8)
    axis.set_xticks([])
    axis.set_yticks([])


def _ranked(scores) -> str:
    numbers = current().numbers
    return ", ".join(f"{name} {numbers.percent(probability, 0)}" for name, probability in scores.top(TOP_CLASSES))


def network_figure(found: NetworkExplanation, title: str = "network") -> Figure:
    """Input, one overlay per attribution method, then what the architecture shows (weights, units or feature maps)."""
    tr = current()
    rows: list[tuple[str, list[tuple[np.ndarray, str, bool]]]] = []
    if found.weight_images is not None:
        rows.append(("weights", [(w, f"w {name}", True) for w, name in zip(found.weight_images.weights, found.scores.classes, strict=True)]))
        rows.append(("weight x pixel", [(c, f"{name}: {tr.numbers.signed(float(c.sum() + b))}", True) for c, name, b in
                                        zip(found.weight_images.contributions, found.scores.classes, found.weight_images.bias, strict=True)]))
    if found.units is not None:
        rows.append(("most active units", [(w, tr("figure.unit", unit=int(u), activation=tr.numbers.decimal(float(a))), True) for u, a, w in
                                           zip(found.units.units, found.units.activations, found.units.weights, strict=True)]))
    if found.filters is not None:
        rows.append(("filters", [(f, f"filter {i}", True) for i, f in enumerate(found.filters[:SHOWN])]))
    for block in found.feature_maps:
        rows.append((block.name, [(m, f"{block.name}[{i}]", False) for i, m in enumerate(block.maps[:SHOWN])]))
    columns = max([1 + len(found.attributions), *(len(row) for _, row in rows)])
    figure = Figure(figsize=(TILE * columns, TILE * (1 + len(rows)) + 0.6))
    grid = figure.add_gridspec(1 + len(rows), columns)
    _tile(figure.add_subplot(grid[0, 0]), found.image, tr("figure.input"))
    for column, (method, attribution) in enumerate(found.attributions.items(), start=1):
        _overlay(figure.add_subplot(grid[0, column]), found.image, attribution, method.replace("_", " "))
    for row, (_, tiles) in enumerate(rows, start=1):
        for column, (picture, label, symmetric) in enumerate(tiles):
            _tile(figure.add_subplot(grid[row, column]), picture, label, cmap="viridis", symmetric=symmetric, fontsize=7)
    figure.suptitle(tr("figure.explaining", title=title, ranked=_ranked(found.scores), target=found.scores.classes[found.target]), fontsize=10)
    figure.tight_layout()
    return figure


def knn_figure(query, found: NeighbourVotes, title: str = "k-NN") -> Figure:
    """The query, its neighbours (label, distance, vote) and the votes per class."""
    count, tr = len(found.indices), current()
    figure = Figure(figsize=(TILE * (count + 1) + 3, TILE + 0.8))
    grid = figure.add_gridspec(1, count + 2, width_ratios=[1] * (count + 1) + [2.5])
    _tile(figure.add_subplot(grid[0, 0]), query, tr("figure.query"))
    for column in range(count):
        label = found.classes[int(found.labels[column])]
        _tile(figure.add_subplot(grid[0, column + 1]), found.images[column],
              tr("figure.neighbour", label=label, distance=tr.numbers.significant(float(found.distances[column])),
                 vote=tr.numbers.significant(float(found.weights[column]))), fontsize=7)
    bars = figure.add_subplot(grid[0, count + 1])
    bars.bar(range(len(found.classes)), found.probabilities, color="tab:blue")
    bars.set_xticks(range(len(found.classes)), found.classes, fontsize=7, rotation=90 if max(map(len, found.classes)) > 2 else 0)
    bars.set_ylim(0, 1)
    bars.set_title(tr("figure.vote_share"), fontsize=8)
    percent_axis(bars.yaxis, fractions=True)
    share = tr.numbers.percent(float(found.probabilities[found.predicted]), 0)
    figure.suptitle(tr("figure.votes", title=title, label=found.classes[found.predicted], share=share), fontsize=10)
    figure.tight_layout()
    return localize_axes(figure)


def weight_images_figure(panels: Sequence[tuple[str, WeightImages]], classes: Sequence[str]) -> Figure:
    """Rows of ten weight images, one row per (title, weights): e.g. the course's setup and logits side by side."""
    columns = len(classes)
    # A row's title heads its own strip above the tiles (a side label of a 1-inch tile overlaps its neighbours).
    figure = Figure(figsize=(TILE * columns * 0.8, (TILE * 0.8 + ROW_TITLE_INCHES) * len(panels)), layout="constrained")
    for row, (title, weights) in zip(np.atleast_1d(figure.subfigures(len(panels), 1)), panels, strict=True):
        row.suptitle(title, fontsize=10, x=0.01, ha="left")
        for axis, column in zip(np.atleast_1d(row.subplots(1, columns)), range(columns), strict=True):
            _tile(axis, weights.weights[column], str(classes[column]), symmetric=True)
    return figure


def deletion_figure(results: Sequence[Faithfulness], title: str) -> Figure:
    """Accuracy against the share of pixels deleted, one line per method and the random order dashed."""
    tr = current()
    figure = Figure(figsize=(5, 4.2), layout="constrained")  # the legend below the axes: inside, it sat on the random line
    axis = figure.add_subplot()
    for result in results:
        axis.plot(result.curve.fractions * 100, result.curve.accuracy * 100,
                  label=f"{result.method.replace('_', ' ')} ({tr.numbers.decimal(result.area)})")
    if results:
        chance = results[0].random
        random_label = tr("figure.random_order", area=tr.numbers.decimal(results[0].random_area))
        axis.plot(chance.fractions * 100, chance.accuracy * 100, "k--", label=random_label)
    axis.set_xlabel(tr("figure.pixels_deleted"))
    axis.set_ylabel(tr("figure.accuracy_percent"))
    axis.set_ylim(0, 100)
    axis.set_title(title, fontsize=10)
    figure.legend(fontsize=7, loc="outside lower center", ncols=DELETION_LEGEND_COLUMNS)
    percent_axis(axis.xaxis)
    percent_axis(axis.yaxis)
    return localize_axes(figure)


def mistakes_figure(images, labels, predicted, confidence, attributions, neighbours: Sequence[NeighbourVotes],
                    classes: Sequence[str], method: str) -> Figure:
    """One row per mistake: the digit (true -> predicted, confidence), the attribution for the wrong answer, the k-NN's neighbours."""
    rows, tr = len(images), current()
    count = max((len(found.indices) for found in neighbours), default=0)
    figure = Figure(figsize=(TILE * (2 + count), (TILE + 0.2) * max(rows, 1)))
    grid = figure.add_gridspec(max(rows, 1), 2 + count)
    for row in range(rows):
        answer = tr("figure.mistake", true=classes[int(labels[row])], predicted=classes[int(predicted[row])],
                    confidence=tr.numbers.percent(float(confidence[row]), 0))
        _tile(figure.add_subplot(grid[row, 0]), images[row], answer)
        _overlay(figure.add_subplot(grid[row, 1]), images[row], attributions[row], method.replace("_", " "))
        found = neighbours[row] if row < len(neighbours) else None
        for column in range(len(found.indices) if found else 0):
            _tile(figure.add_subplot(grid[row, 2 + column]), found.images[column],
                  tr("figure.neighbour_short", label=classes[int(found.labels[column])],
                     distance=tr.numbers.significant(float(found.distances[column]))), fontsize=7)
    figure.tight_layout()
    return figure
