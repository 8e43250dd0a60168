"""Shapes shared by the sections: grids of runs as tables and curves, and 'which reaches X%' answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from markupsafe import Markup

from digitlab.datasets import Dataset
from digitlab.evaluation.figures import curve_figure
from digitlab.experiments.store import Run, SweepRuns, config_value
from digitlab.report.blocks import Figures, Table, image
from digitlab.report.i18n import t
from digitlab.report.links import (
    Links,
    accuracy_percent,
    describe,
    network_summary,
    setting_label,
    setting_phrase,
    setting_value,
    target,
    train_seconds,
)
from digitlab.report.timing import contention

Cell = Callable[[Run], Any]


def accuracy_and_time(links: Links, predict: bool = False) -> Cell:
    """A cell with the test accuracy over the training (or ``predict``) time, both linked."""
    time = links.predict_time if predict else links.train_time
    return lambda run: Markup("{}<br><small>{}</small>").format(links.accuracy(run), time(run))


def pivot(sweep: SweepRuns, rows: str, columns: str, cell: Cell, caption: str = "") -> Table:
    """Rows by one grid setting, columns by another; a cell per run (a dash where none finished)."""
    header = [f"{setting_label(rows)} \\ {setting_label(columns)}"]
    header += [setting_phrase(columns, value) for value in sweep.grid[columns]]
    body = []
    for row_value in sweep.grid[rows]:
        found = [sweep.find({rows: row_value, columns: value})
                 for value in sweep.grid[columns]]
        body.append([setting_value(row_value)] + ["–" if run is None else cell(run) for run in found])
    return Table(header, body, caption)


def listing(sweep: SweepRuns, links: Links, caption: str = "", parameters: bool = False) -> Table:
    """One row per run: its grid settings, then test accuracy, train and predict seconds."""
    header = [setting_label(path) for path in sweep.grid] + ([t("head.parameters")] if parameters else [])
    header += [t("head.test_accuracy"), t("head.train"), t("head.predict")]
    body = []
    for run in sweep.runs:
        row = [setting_value(config_value(run.config, path)) for path in sweep.grid]
        row += [links.parameters(run)] if parameters else []
        body.append(row + [links.accuracy(run), links.train_time(run), links.predict_time(run)])
    return Table(header, body, caption)


def series(sweep: SweepRuns, x_path: str, line_path: str | None, value: Callable[[Run], float | None]) -> dict[str, list]:
    """Values along ``x_path``, one line per value of ``line_path`` (None: a single line)."""
    lines = sweep.grid.get(line_path, [None]) if line_path else [None]
    result = {}
    for line in lines:
        points = []
        for x in sweep.grid[x_path]:
            run = sweep.find({x_path: x, **({line_path: line} if line_path else {})})
            points.append(None if run is None else value(run))
        name = f"{setting_label(line_path)} {setting_value(line)}" if line_path else sweep.name
        result[name] = points
    return result


def accuracy_time_curves(sweep: SweepRuns, x_path: str, line_path: str | None, logx: bool = False) -> Figures:
    """Two plots over ``x_path``: test accuracy (%) and training seconds, one line per ``line_path``."""
    xs = [float(x) for x in sweep.grid[x_path]]
    accuracy = series(sweep, x_path, line_path, accuracy_percent)
    time = series(sweep, x_path, line_path, train_seconds)
    label = setting_label(x_path)
    against, time_against = t("figure.accuracy_against", x=label), t("figure.time_against", x=label)
    return Figures([
        image(curve_figure(xs, accuracy, label, t("figure.test_accuracy_percent"), against, logx=logx, percent=True), against),
        image(curve_figure(xs, time, label, t("figure.training_seconds"), time_against, logx=logx), time_against),
    ])


def reach_sentence(candidates: list[tuple[Run, str]], threshold: float, links: Links, by_predict: bool = False) -> Markup:
    """Which of the described runs reach ``threshold`` test accuracy, and the quickest of those to train
    (``by_predict``: to predict, k-NN's real cost). With none reaching it: the best one, to show how far off it is."""
    scored = [(run, text) for run, text in candidates if run.metrics.get("test_accuracy") is not None]
    if not scored:
        return t("reach.nothing", target=target(threshold))
    reaching = [(run, text) for run, text in scored if run.metrics["test_accuracy"] >= threshold]
    time, verb = (links.predict_time, t("reach.predict")) if by_predict else (links.train_time, t("reach.train"))
    if not reaching:
        run, text = max(scored, key=lambda pair: pair[0].metrics["test_accuracy"])
        return t("reach.none", count=len(scored), target=target(threshold), settings=text, accuracy=links.accuracy(run), time=time(run), verb=verb)
    seconds_of = (lambda run: run.metrics.get("predict_seconds")) if by_predict else train_seconds
    quiet = [pair for pair in reaching if contention(pair[0]) is None]  # a time taken on a busy machine picks nothing
    sentence = t("reach.count", reaching=len(reaching), count=len(scored), target=target(threshold))
    if not quiet:
        return sentence + " " + t("reach.contended", verb=verb)
    run, text = min(quiet, key=lambda pair: (seconds_of(pair[0]) or 0.0, pair[0].id))
    dropped = len(reaching) - len(quiet)
    sentence += " " + t("reach.quickest", verb=verb, settings=text, accuracy=links.accuracy(run), time=time(run))
    return sentence + (" " + t("reach.dropped", count=dropped) if dropped else "")


def described(sweep: SweepRuns, dataset: Dataset) -> list[tuple[Run, str]]:
    """Each run with what the notebook asks to report: structure, epochs and batch size (k-NN: its settings); no sweep
    names, which are the lab's internal words."""
    inputs = int(np.prod(dataset.image_shape))
    return [(run, describe(run, sweep.grid) if run.config.get("kind") == "knn" else network_summary(run, inputs, dataset.num_classes))
            for run in sweep.runs]


def figures_of(*pairs: tuple[Any, str]) -> Figures:
    """Figures from (matplotlib figure, alt text) pairs."""
    return Figures([image(figure, alt) for figure, alt in pairs])

