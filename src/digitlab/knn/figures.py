"""Figures of k-NN's tuning and timing results (``digitlab knn tune`` / ``knn scaling``); each returns a Figure."""

from __future__ import annotations

import math

from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

from digitlab.evaluation.figures import curve_figure
from digitlab.knn.tuning import row_config

PERCENT = 100
PLOTTED_SPACES = 8  # lines in the accuracy-against-k plot: the legend stays readable
LOG_SPREAD = 1  # predict times spanning more than this many decades get a log axis
SCALING_AXES = {"train_size": "training images", "pixels": "pixels per image"}  # scaling row kind -> x axis


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
    return curve_figure(ks, lines, "k (neighbours)", "validation accuracy (%)", "k-NN: accuracy against k (best feature spaces)")


def accuracy_vs_time(rows: list[dict]) -> Figure:
    """Each setting as a point: predict seconds against validation accuracy; the best labelled."""
    figure = Figure(figsize=(7, 4.5), layout="constrained")
    axis = figure.subplots()
    axis.scatter([row["predict_seconds"] for row in rows], [row["accuracy"] * PERCENT for row in rows], s=12, alpha=0.6)
    best = rows[0]
    axis.annotate(row_config(best).label(),
                  (best["predict_seconds"], best["accuracy"] * PERCENT), fontsize=8, xytext=(5, -12), textcoords="offset points")
    axis.set(xlabel=f"predict seconds ({best['n_validation']:,} validation images)", ylabel="validation accuracy (%)",
             title="k-NN: accuracy against predict time", xscale="log" if _spread(rows) else "linear")
    axis.xaxis.set_major_formatter(ScalarFormatter())  # 2, 5, 10 rather than 2x10^0 on a log axis
    axis.grid(alpha=0.3)
    return figure


def _spread(rows: list[dict]) -> bool:
    times = [row["predict_seconds"] for row in rows if row["predict_seconds"] > 0]
    return bool(times) and math.log10(max(times) / min(times)) > LOG_SPREAD


def scaling_figures(rows: list[dict], label: str, queries: int, dataset: str) -> dict[str, Figure]:
    """Predict time against what :func:`digitlab.knn.tuning.scaling` varied: {kind: figure}, for kinds with two points or more."""
    figures = {}
    for kind, xlabel in SCALING_AXES.items():
        points = [row for row in rows if row["kind"] == kind]
        if len(points) >= 2:
            figures[kind] = curve_figure([row["x"] for row in points], {f"{label}, {queries} queries": [row["predict_seconds"] for row in points]},
                                         xlabel, "predict seconds", f"k-NN predict time against {xlabel} ({dataset})")
    return figures
