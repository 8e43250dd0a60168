"""The report's parts on the untrained baseline and the notebook's single-layer network."""

from __future__ import annotations

import numpy as np
from markupsafe import Markup

from digitlab.datasets import Dataset
from digitlab.evaluation import confusion_figure, history_figure
from digitlab.experiments.store import Run, SweepRuns, config_value
from digitlab.i18n import current
from digitlab.report.blocks import Answer, Figures, Heading, Table, Text, further_heading, further_link, image
from digitlab.report.data import gallery_blocks
from digitlab.report.i18n import classes_of, number, sweep_description, t
from digitlab.report.inputs import Inputs
from digitlab.report.links import Links, count, describe, items, network_summary, percent, target
from digitlab.report.outputs import outputs_comparison
from digitlab.report.seeds import Spread, noise_sentence, points, spread_in, spread_of, spread_text
from digitlab.report.tables import accuracy_and_time, accuracy_time_curves, described, pivot, reach_sentence
from digitlab.report.timing import timings_comparable

EPOCHS = "train_config.epochs"
BATCH = "train_config.batch_size"
SIGMOID = "sigmoid"  # the course's single layer activates its outputs with the sigmoid
SIMPLE_TARGET = 0.92  # "Als je in de buurt bent van 92% accuracy op de testset..."
FEW_POINTS = 0.03  # epochs and batch size moving one layer by at most 3 points: tuning them, not the network, is spent
CONFUSION_WIDTH = 680  # CSS pixels: the heatmap at about 90% of its size keeps its counts readable


def confusion_of(run: Run) -> np.ndarray | None:
    """The run's test confusion matrix (rows true, columns predicted), or None when it stored none."""
    matrix = np.asarray(run.result.get("confusion") or [], dtype=float)
    return matrix if matrix.ndim == 2 and matrix.shape[0] == matrix.shape[1] and matrix.sum() > 0 else None


def chance_accuracy(confusion: np.ndarray) -> float:
    """The accuracy of predictions that ignore the image: sum over classes of P(predict c) * P(true c)."""
    total = confusion.sum()
    return float((confusion.sum(axis=0) / total) @ (confusion.sum(axis=1) / total))


def summary(run: Run, dataset: Dataset) -> str:
    return network_summary(run, int(np.prod(dataset.image_shape)), dataset.num_classes)


def macro_gap(inputs: Inputs) -> tuple[Run, float] | None:
    """The run with the largest gap between plain accuracy and MulticlassAccuracy's macro default, over every run here."""
    gaps = [(run, abs(run.metrics["test_accuracy"] - run.metrics["macro_accuracy"])) for sweep in inputs.sweeps.values()
            for run in sweep.runs if run.metrics.get("test_accuracy") is not None and run.metrics.get("macro_accuracy") is not None]
    return max(gaps, key=lambda item: (item[1], -item[0].id)) if gaps else None


def untrained_blocks(inputs: Inputs) -> list:
    """Roles: ``baseline`` (the untrained network over seeds). The why (a fixed function of the pixels, the chance
    formula, macro accuracy) is in the Verdieping: :func:`untrained_further`."""
    dataset, links, blocks = inputs.dataset, inputs.links, []
    sweep = inputs.sweep("baseline")
    if sweep is None:
        return [inputs.not_run("baseline")]
    rows = []
    for run in sweep.runs:
        confusion = confusion_of(run)
        seed = str(config_value(run.config, "seed"))
        if confusion is None:
            rows.append([seed, links.accuracy(run), "–", "–"])
            continue
        favourite = int(confusion.sum(axis=0).argmax())
        share = links.link(run, percent(confusion.sum(axis=0)[favourite] / confusion.sum()))
        rows.append([seed, links.accuracy(run), classes_of(dataset)[favourite], share])
    blocks += [
        Text(sweep_description(sweep.name, sweep.description)),
        Table([t("head.seed"), t("head.test_accuracy"), t("head.most_predicted"), t("head.share")], rows, caption=t("caption.untrained")),
    ]
    classes = dataset.num_classes
    spread = spread_of(sweep.runs)
    answer = [] if spread is not None else [t("untrained.expect", classes=classes, share=target(1 / classes))]  # else the short says it
    if spread is not None:
        answer.append(t("untrained.measured", items=items(dataset.name)))  # the short answer gives the spread
    else:
        answer.append(t("untrained.scores", scores=Markup(", ").join(links.accuracy(run) for run in sweep.runs)))
    answer.append(further_link("guessing"))
    short = t("short.untrained", share=target(1 / classes), classes=classes, spread=spread_text(spread, links)) if spread else ""
    blocks.append(Answer(t("question.untrained"), answer, short=short))
    return blocks


def untrained_further(inputs: Inputs) -> list:
    """The Verdieping on the untrained network: why one seed can sit far from 1/classes, the chance formula, the
    confusion matrix of the best seed, and plain against macro accuracy."""
    dataset, links = inputs.dataset, inputs.links
    sweep = inputs.sweep("baseline")
    if sweep is None:
        return []
    scored = [(run, confusion) for run in sweep.runs if (confusion := confusion_of(run)) is not None]
    blocks: list = [further_heading("guessing")]
    if scored:
        run, confusion = max(scored, key=lambda item: (item[0].metrics.get("test_accuracy") or 0.0, -item[0].id))
        off = confusion.copy()
        np.fill_diagonal(off, 0)
        true, predicted = np.unravel_index(int(off.argmax()), off.shape)
        low = min(scored, key=lambda item: item[0].metrics.get("test_accuracy") or 0.0)[0]
        blocks += [
            Text(t("untrained.function", seed=config_value(run.config, "seed"), items=items(dataset.name),
                   group=links.link(run, count(int(off[true, predicted]))), size=count(int(confusion[true].sum())),
                   true=classes_of(dataset)[true], predicted=classes_of(dataset)[predicted],
                   right=links.link(run, count(int(np.trace(confusion)))), accuracy=links.accuracy(run))),
            Figures([image(confusion_figure(confusion.astype(int), classes_of(dataset),
                                            title=t("figure.untrained_confusion", seed=config_value(run.config, "seed"))),
                           t("alt.untrained_confusion"), max_width=CONFUSION_WIDTH)]),
            Text(t("untrained.chance", chance=links.link(run, percent(chance_accuracy(confusion))), seed=config_value(run.config, "seed"),
                   classes=dataset.num_classes, low=links.accuracy(low), high=links.accuracy(run))),
        ]
    gap = macro_gap(inputs)
    if gap is not None:
        worst, value = gap
        blocks.append(Text(t("untrained.macro", plain=links.accuracy(worst), macro=links.metric(worst, "macro_accuracy"),
                             gap=links.link(worst, number(value * 100)), runs=sum(len(found.runs) for found in inputs.sweeps.values()))))
    return blocks


def epochs_batch_blocks(sweep: SweepRuns, links: Links, model: str) -> list:
    """The notebook's play with epochs and batch size: a table, two plots and what they show."""
    blocks = [
        Text(sweep_description(sweep.name, sweep.description)),
        pivot(sweep, EPOCHS, BATCH, accuracy_and_time(links), caption=t("caption.epochs_batch", model=model)),
        accuracy_time_curves(sweep, EPOCHS, BATCH),
    ]
    most = max(sweep.grid[EPOCHS])
    small, large = (sweep.find({"train_config.epochs": most, "train_config.batch_size": size})
                    for size in (min(sweep.grid[BATCH]), max(sweep.grid[BATCH])))
    if small and large and small is not large:
        key = "batch.timing"
        if not timings_comparable(small, large):
            key = "batch.timing_contended"
        elif (small.metrics.get("train_seconds") or 0.0) > (large.metrics.get("train_seconds") or 0.0):
            key = "batch.timing_faster"
        blocks.append(Text(t(key, epochs=current().plural("unit.epochs", most), small=min(sweep.grid[BATCH]), small_time=links.train_time(small),
                             small_accuracy=links.accuracy(small), large=max(sweep.grid[BATCH]), large_time=links.train_time(large),
                             large_accuracy=links.accuracy(large)), conclusion=True))
    return blocks


def trained_blocks(run: Run, sweep: SweepRuns, dataset: Dataset, links: Links, model: str) -> list:
    """The chosen run's test accuracy and learning curve."""
    key = "trained.chosen" if len(sweep.runs) > 1 else "trained.only"
    blocks = [Text(t(key, model=model, settings=summary(run, dataset), accuracy=links.accuracy(run), time=links.train_time(run)))]
    history = run.result.get("history") or []
    if history:
        blocks.append(Figures([image(history_figure(history), t("alt.history", model=model))]))
    return blocks


def simple_blocks(inputs: Inputs) -> list:
    """Roles: ``notebook`` (the course's single layer over epochs x batch size), ``logits`` (the same layer, logits),
    ``seeds`` (both at the course's settings, three seeds)."""
    dataset, links, blocks = inputs.dataset, inputs.links, []
    sweep = inputs.sweep("notebook")
    if sweep is None:
        blocks.append(inputs.not_run("notebook"))
    else:
        best = sweep.best()
        blocks += [Heading(t("heading.epochs_batch"))] + epochs_batch_blocks(sweep, links, "SimpleNetwork")
        blocks += [Heading(t("heading.after_training"))] + trained_blocks(best, sweep, dataset, links, "SimpleNetwork")
        blocks += gallery_blocks(best, dataset, links, "SimpleNetwork")
        answer = [reach_sentence(described(sweep, dataset), SIMPLE_TARGET, links)]  # the best setting: in the short answer
        noise = runner_up_sentence(sweep, spread_in(inputs.sweep("seeds"), {"model_config.outputs": SIGMOID}), links)
        blocks.append(Answer(t("question.simple"), answer + ([noise] if noise else []), short=simple_short(sweep, best, dataset, links)))
    logits = inputs.sweep("logits")
    blocks.append(Heading(t("heading.simple_logits")))
    if logits is None:
        blocks.append(inputs.not_run("logits"))
        return blocks
    blocks.append(Text(sweep_description(logits.name, logits.description)))
    blocks += outputs_comparison(inputs, "simple-outputs", SIGMOID)
    return blocks


def simple_short(sweep: SweepRuns, best: Run, dataset: Dataset, links: Links) -> Markup:
    """Opdracht 1 in a sentence or two: how far epochs and batch size move one layer, and where that ends."""
    scored = [run for run in sweep.runs if run.metrics.get("test_accuracy") is not None]
    low, high = (min(scored, key=lambda run: run.metrics["test_accuracy"]), max(scored, key=lambda run: run.metrics["test_accuracy"]))
    short = t("short.simple", count=len(scored), low=links.accuracy(low), high=links.accuracy(high), settings=summary(best, dataset),
              accuracy=links.accuracy(best))
    span = high.metrics["test_accuracy"] - low.metrics["test_accuracy"]
    return short + " " + t("short.simple_small" if span <= FEW_POINTS else "short.simple_large", points=points(span))


def runner_up_sentence(sweep: SweepRuns, spread: Spread | None, links: Links) -> Markup | None:
    """The best setting against the next best (each one seed), weighed against the spread of one setting over seeds."""
    ranked = sorted(sweep.runs, key=lambda run: (-(run.value if run.value is not None else float("-inf")), run.id))
    if spread is None or len(ranked) < 2 or None in (ranked[0].metrics.get("test_accuracy"), ranked[1].metrics.get("test_accuracy")):
        return None
    best, second = ranked[:2]
    difference = best.metrics["test_accuracy"] - second.metrics["test_accuracy"]
    return t("simple.runner_up", settings=describe(second, sweep.grid), accuracy=links.accuracy(second), seeds=len(spread.runs),
             spread=spread_text(spread, links)) + " " + noise_sentence(difference, spread)
