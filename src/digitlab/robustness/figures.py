"""Pictures of a robustness sweep: accuracy-vs-strength curves, and one digit under every change.

Like :mod:`digitlab.evaluation.figures`, every function returns a matplotlib ``Figure`` built
without pyplot; the caller saves or shows it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from digitlab.evaluation.figures import legend_columns
from digitlab.i18n import current
from digitlab.i18n.ticks import localize_axes, percent_axis
from digitlab.images.transforms import IDENTITY_STRENGTH, apply, strength_label, transform_name
from digitlab.pixels import PIXEL_MAX
from digitlab.robustness.evaluate import Predictor, accuracy_grid

PANEL_INCHES = (4.0, 3.0)  # width, height of one transform's accuracy panel
PANEL_COLUMNS = 3  # six default transforms -> a 2 x 3 grid
LEGEND_COLUMNS = 4  # models per row of the legend below the panels, at most
LEGEND_POINTS = 9  # the legend's font size
TILE_INCHES = 1.6  # one digit in the example figure
LINE_INCHES = 0.2  # one model's prediction under a digit (8-point text)
TITLE_INCHES = 0.7  # figure title plus the column captions
MARGIN_INCHES = 0.15  # between a tile and its first guess, and below the last one
MARGIN_POINTS = 4
POINTS_PER_INCH = 72
CORRECT_COLOR, WRONG_COLOR = "tab:green", "tab:red"

EXAMPLE_STRENGTHS: dict[str, float] = {
    "shift": 4,  # the digit's box reaches the frame's edge
    "rotate": 30,  # twice handwriting's usual slant
    "scale": 0.6,
    "invert": 1.0,  # black digit on white paper
    "noise": 0.3,
    "background": 0.3,
    "elastic": 2,
}
"""One clearly visible, still readable strength per transform for the example figure."""


def robustness_figure(rows: Sequence[dict], chance: float | None = None, title: str = "") -> Figure:
    """One panel per transform: accuracy (y) against strength (x), one line per model.

    ``rows`` come from :func:`~digitlab.robustness.evaluate.robustness_table`; ``chance`` (e.g. 0.1
    for ten classes) draws a dashed floor, named in the legend: a model on that line is guessing.
    The legend sits below the panels, where it covers no curve.
    """
    grid = accuracy_grid(rows)
    if not grid:
        raise ValueError("no rows to plot: run robustness_table first")
    cols = min(PANEL_COLUMNS, len(grid))
    panels = math.ceil(len(grid) / cols)
    figure = Figure(figsize=(cols * PANEL_INCHES[0], panels * PANEL_INCHES[1]), layout="constrained")
    axes = np.atleast_1d(figure.subplots(panels, cols, squeeze=False, sharey=True)).reshape(-1)
    tr = current()
    for axis in axes[len(grid):]:
        axis.axis("off")  # the grid's last row may be partly empty
    for axis, (transform, models) in zip(axes, grid.items(), strict=False):
        for model, by_strength in models.items():
            strengths = sorted(by_strength)
            axis.plot(strengths, [by_strength[s] for s in strengths], marker="o", label=model)
        if chance is not None:
            axis.axhline(chance, color="gray", linestyle="--", linewidth=1, label=tr("figure.chance"))
        axis.set(title=transform_name(transform), xlabel=strength_label(transform), ylim=(0, 1.02))
        axis.grid(alpha=0.3)
        percent_axis(axis.yaxis, fractions=True)
    axes[0].set_ylabel(tr("figure.test_accuracy"))
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=legend_columns(labels, cols * PANEL_INCHES[0], LEGEND_POINTS, LEGEND_COLUMNS),
                  fontsize=LEGEND_POINTS)
    if title:
        figure.suptitle(title)
    return localize_axes(figure)


def example_figure(
    predictors: Mapping[str, Predictor], image: torch.Tensor, label: int, classes: Sequence[str],
    transforms: Sequence[str], strengths: Mapping[str, float] | None = None, seed: int = 0,
) -> Figure:
    """One test digit, untouched and then under each transform, with every model's guess under it.

    Guesses are green when right and red when wrong, as in the notebook's pictures of one 3
    that is shifted, turned or inverted until the network no longer sees a 3.
    """
    tr = current()
    chosen = {**EXAMPLE_STRENGTHS, **(strengths or {})}
    columns = [(tr("figure.original"), image)]
    for name in transforms:
        strength = chosen.get(name, IDENTITY_STRENGTH[name])
        caption = tr("figure.change_strength", change=transform_name(name), strength=tr.numbers.short(strength))
        columns.append((caption, apply(name, image.unsqueeze(0), strength, seed=seed)[0]))
    # Fixed margins, not constrained layout: that one does not reserve room for the guesses below the tiles.
    guesses_inches = len(predictors) * LINE_INCHES + MARGIN_INCHES
    height = TITLE_INCHES + TILE_INCHES + guesses_inches
    figure = Figure(figsize=(len(columns) * TILE_INCHES, height))
    figure.subplots_adjust(left=0.01, right=0.99, top=1 - TITLE_INCHES / height, bottom=guesses_inches / height, wspace=0.08)
    axes = np.atleast_1d(figure.subplots(1, len(columns), squeeze=False)).reshape(-1)
    for axis, (caption, picture) in zip(axes, columns, strict=True):
        axis.imshow(picture.cpu().numpy(), cmap="binary", interpolation="none", vmin=0, vmax=PIXEL_MAX)
        axis.set_title(caption, fontsize=9)
        axis.set_xticks([])
        axis.set_yticks([])
        for line, (model, predictor) in enumerate(predictors.items()):
            guess = int(torch.as_tensor(predictor(picture.unsqueeze(0))).reshape(-1)[0])
            color = CORRECT_COLOR if guess == label else WRONG_COLOR
            named = classes[guess] if 0 <= guess < len(classes) else str(guess)  # a stand-in may answer -1
            axis.annotate(f"{model}: {named}", xy=(0.5, 0), xycoords="axes fraction", ha="center", va="top",
                          xytext=(0, -MARGIN_POINTS - line * LINE_INCHES * POINTS_PER_INCH), textcoords="offset points",
                          color=color, fontsize=8)
    figure.suptitle(tr("figure.one_image", label=classes[label]), fontsize=10)
    return figure
