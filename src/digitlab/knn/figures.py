"""Figures of k-NN's tuning and timing results (``digitlab knn tune`` / ``knn scaling``); each returns a Figure."""

from __future__ import annotations

import math

from matplotlib.figure import Figure

from digitlab.evaluation.figures import curve_figure
from digitlab.i18n import current
from digitlab.i18n.ticks import localize_axes, percent_axis
from digitlab.knn.tuning import row_config

PERCENT = 100
PLOTTED_SPACES = 8  # lines in the accuracy-against-k plot: the legend stays readable
LOG_SPREAD = 1  # predict times spanning more than this many decades get a log axis
SCALING_AXES = {"train_size": "figure.training_images", "pixels": "figure.pixels_per_image"}  # scaling row kind -> x axis label key


def accuracy_vs_k(rows: list[dict]) -> Figure:
    """Validation accuracy against k, one line per feature space (its better weighting at each k), for the best few.

    ``rows`` are :func:`digitlab.knn.tuning.search`'s, best first.
    """
    ks = sorted({row["n_neighbors"] for row in rows})
    lines: dict[str, list] = {}
    for row in rows:  # best first, so the first spaces met are the best ones
        name = row_config(row).label().split(" ", 2)[2]  # the feature space: the label without k and weights
        if name not in lines and len(lines) == PLOTTED_SPACES:
            continue
        series = lines.setdefault(name, [None] * len(ks))
        position = ks.index(row["n_neighbors"])
        series[position] = max(series[position] or 0.0, row["accuracy"] * PERCENT)
    tr = current()
    return curve_figure(ks, lines, tr("figure.neighbours"), tr("figure.validation_accuracy_percent"), tr("figure.knn_accuracy_k"), percent=True)


def accuracy_vs_time(rows: list[dict]) -> Figure:
    """Each setting as a point: predict seconds against validation accuracy; the best labelled."""
    tr = current()
    figure = Figure(figsize=(7, 4.5), layout="constrained")
    axis = figure.subplots()
    axis.scatter([row["predict_seconds"] for row in rows], [row["accuracy"] * PERCENT for row in rows], s=12, alpha=0.6)
    best = rows[0]
    axis.annotate(row_config(best).label(),
                  (best["predict_seconds"], best["accuracy"] * PERCENT), fontsize=8, xytext=(5, -12), textcoords="offset points")
    axis.set(xlabel=tr("figure.predict_seconds_on", count=tr.numbers.integer(best["n_validation"])), ylabel=tr("figure.validation_accuracy_percent"),
             title=tr("figure.knn_accuracy_time"), xscale="log" if _spread(rows) else "linear")
    axis.grid(alpha=0.3)
    percent_axis(axis.yaxis)
    return localize_axes(figure)  # 2, 5, 10 rather than 2x10^0 on a log axis


def _spread(rows: list[dict]) -> bool:
    times = [row["predict_seconds"] for row in rows if row["predict_seconds"] > 0]
    return bool(times) and math.log10(max(times) / min(times)) > LOG_SPREAD


def scaling_figures(rows: list[dict], label: str, queries: int, dataset: str) -> dict[str, Figure]:
    """Predict time against what :func:`digitlab.knn.tuning.scaling` varied: {kind: figure}, for kinds with two points or more."""
    figures, tr = {}, current()
    for kind, key in SCALING_AXES.items():
        points = [row for row in rows if row["kind"] == kind]
        if len(points) >= 2:
            xlabel = tr(key)
            line = tr("figure.queries", label=label, count=tr.numbers.integer(queries))
            figures[kind] = curve_figure([row["x"] for row in points], {line: [row["predict_seconds"] for row in points]},
                                         xlabel, tr("figure.predict_seconds"), tr("figure.knn_scaling", axis=xlabel, dataset=dataset))
    return figures
