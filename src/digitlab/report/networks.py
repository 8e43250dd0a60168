"""The report's parts on the untrained baseline and the notebook's single-layer network."""

from __future__ import annotations

import math

import numpy as np
from markupsafe import Markup

from digitlab.datasets import Dataset
from digitlab.evaluation import confusion_figure, history_figure
from digitlab.experiments.store import Run
from digitlab.report.blocks import Answer, Figures, Heading, Note, Table, Text, image
from digitlab.report.compare import declared_pair, differs_sentence
from digitlab.report.data import gallery_blocks
from digitlab.report.i18n import number, sweep_description, t
from digitlab.report.inputs import Inputs
from digitlab.report.links import Links, count, network_summary, percent, target
from digitlab.report.select import SweepRuns, config_value
from digitlab.report.tables import accuracy_and_time, accuracy_time_curves, described, pivot, reach_sentence
from digitlab.report.timing import timings_comparable

EPOCHS = "train_options.epochs"
BATCH = "train_options.batch_size"
SIMPLE_TARGET = 0.92  # "Als je in de buurt bent van 92% accuracy op de testset..."
CONFUSION_WIDTH = 560  # CSS pixels: the heatmap's natural size dwarfs the text


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


def loss_floor(classes: int) -> float:
    """The least CrossEntropyLoss can be when the network's outputs lie in [0, 1] (sigmoid or softmax outputs):
    the loss's own softmax then gives the right class at most e / (e + classes - 1)."""
    return math.log(1 + (classes - 1) / math.e)


def final_loss(run: Run) -> float | None:
    """The training loss of the run's last epoch."""
    history = run.result.get("history") or []
    return history[-1].get("train_loss") if history else None


def macro_gap(inputs: Inputs) -> tuple[Run, float] | None:
    """The run with the largest gap between plain accuracy and MulticlassAccuracy's macro default, over every run here."""
    gaps = [(run, abs(run.metrics["test_accuracy"] - run.metrics["macro_accuracy"])) for sweep in inputs.sweeps.values()
            for run in sweep.runs if run.metrics.get("test_accuracy") is not None and run.metrics.get("macro_accuracy") is not None]
    return max(gaps, key=lambda item: (item[1], -item[0].id)) if gaps else None


def untrained_blocks(inputs: Inputs) -> list:
    """Roles: ``baseline`` (the untrained network over seeds)."""
    dataset, links, blocks = inputs.dataset, inputs.links, []
    sweep = inputs.sweep("baseline")
    if sweep is None:
        return [inputs.not_run("baseline")]
    rows, scored = [], []
    for run in sweep.runs:
        confusion = confusion_of(run)
        seed = str(config_value(run.config, "seed"))
        macro = links.metric(run, "macro_accuracy")
        if confusion is None:
            rows.append([seed, links.accuracy(run), macro, "–", "–", "–"])
            continue
        favourite = int(confusion.sum(axis=0).argmax())
        share = links.link(run, percent(confusion.sum(axis=0)[favourite] / confusion.sum()))
        rows.append([seed, links.accuracy(run), macro, dataset.classes[favourite], share, links.link(run, percent(chance_accuracy(confusion)))])
        scored.append((run, confusion))
    blocks += [
        Text(sweep_description(sweep.name, sweep.description)),
        Table([t("head.seed"), t("head.test_accuracy"), t("head.macro"), t("head.most_predicted"), t("head.share"), t("head.chance")],
              rows, caption=t("caption.untrained")),
    ]
    classes = dataset.num_classes
    answer = [t("untrained.scores", scores=Markup(", ").join(links.accuracy(run) for run in sweep.runs), seeds=len(sweep.runs),
                classes=classes, share=target(1 / classes))]
    if scored:
        run, confusion = max(scored, key=lambda item: (item[0].metrics.get("test_accuracy") or 0.0, -item[0].id))
        blocks.append(Figures([image(confusion_figure(confusion.astype(int), dataset.classes,
                                                      title=t("figure.untrained_confusion", seed=config_value(run.config, "seed"))),
                                     t("alt.untrained_confusion"), max_width=CONFUSION_WIDTH)]))
        off = confusion.copy()
        np.fill_diagonal(off, 0)
        true, predicted = np.unravel_index(int(off.argmax()), off.shape)
        answer.append(t("untrained.function", seed=config_value(run.config, "seed"),
                        group=links.link(run, count(int(off[true, predicted]))), size=count(int(confusion[true].sum())),
                        true=dataset.classes[true], predicted=dataset.classes[predicted],
                        right=links.link(run, count(int(np.trace(confusion)))), accuracy=links.accuracy(run)))
        low = min(scored, key=lambda item: item[0].metrics.get("test_accuracy") or 0.0)[0]
        answer.append(t("untrained.chance", chance=links.link(run, percent(chance_accuracy(confusion))), seed=config_value(run.config, "seed"),
                        classes=classes, low=links.accuracy(low), high=links.accuracy(run)))
    gap = macro_gap(inputs)
    if gap is not None:
        worst, value = gap
        answer.append(t("untrained.macro", plain=links.accuracy(worst), macro=links.metric(worst, "macro_accuracy"),
                        gap=links.link(worst, number(value * 100)), runs=sum(len(found.runs) for found in inputs.sweeps.values())))
    blocks.append(Answer(t("question.untrained"), answer))
    return blocks


def epochs_batch_blocks(sweep: SweepRuns, links: Links, model: str) -> list:
    """The notebook's play with epochs and batch size: a table, two plots and what they show."""
    blocks = [
        Text(sweep_description(sweep.name, sweep.description)),
        pivot(sweep, EPOCHS, BATCH, accuracy_and_time(links), caption=t("caption.epochs_batch", model=model)),
        accuracy_time_curves(sweep, EPOCHS, BATCH),
    ]
    most = max(sweep.grid[EPOCHS])
    small, large = (sweep.find(train_options__epochs=most, train_options__batch_size=size)
                    for size in (min(sweep.grid[BATCH]), max(sweep.grid[BATCH])))
    if small and large and small is not large:
        key = "batch.timing"
        if not timings_comparable(small, large):
            key = "batch.timing_contended"
        elif (small.metrics.get("train_seconds") or 0.0) > (large.metrics.get("train_seconds") or 0.0):
            key = "batch.timing_faster"
        blocks.append(Text(t(key, epochs=most, small=min(sweep.grid[BATCH]), small_time=links.train_time(small),
                             small_accuracy=links.accuracy(small), large=max(sweep.grid[BATCH]), large_time=links.train_time(large),
                             large_accuracy=links.accuracy(large))))
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
    """Roles: ``notebook`` (the course's single layer over epochs x batch size), ``logits`` (the same layer, logits)."""
    dataset, links, blocks = inputs.dataset, inputs.links, []
    sweep = inputs.sweep("notebook")
    if sweep is None:
        blocks.append(inputs.not_run("notebook"))
    else:
        best = sweep.best()
        blocks += [Heading(t("heading.epochs_batch"))] + epochs_batch_blocks(sweep, links, "SimpleNetwork")
        blocks += [Heading(t("heading.after_training"))] + trained_blocks(best, sweep, dataset, links, "SimpleNetwork")
        blocks += gallery_blocks(best, dataset, links, "SimpleNetwork")
        blocks.append(Answer(t("question.simple"), [
            t("simple.best", accuracy=links.accuracy(best), settings=summary(best, dataset)),
            reach_sentence(described(sweep, dataset), SIMPLE_TARGET, links),
        ]))
    logits = inputs.sweep("logits")
    blocks.append(Heading(t("heading.simple_logits")))
    if logits is None:
        blocks.append(inputs.not_run("logits"))
        return blocks
    blocks.append(Text(sweep_description(logits.name, logits.description)))
    blocks += outputs_comparison(inputs, "simple-outputs", "sigmoid")
    return blocks


def outputs_comparison(inputs: Inputs, key: str, squashed: str) -> list:
    """The course's network against the same network with logits, epoch by epoch, then at the course's settings,
    with the settings that differ and why the bounded outputs hold the loss up (``squashed``: sigmoid or softmax)."""
    links, classes = inputs.links, inputs.dataset.num_classes
    course, logits = inputs.sweep("notebook"), inputs.sweep("logits")
    if course is None or logits is None:
        return [inputs.not_run("notebook" if course is None else "logits")]
    rows = []
    for run in logits.runs:
        twin = course.find(train_options__epochs=config_value(run.config, EPOCHS), train_options__batch_size=config_value(run.config, BATCH))
        if twin is not None:
            rows.append([str(config_value(run.config, EPOCHS)), str(config_value(run.config, BATCH)), links.accuracy(twin), links.accuracy(run),
                         loss_text(twin, links), loss_text(run, links)])
    blocks: list = []
    if rows:
        blocks.append(Table([t("head.epochs"), t("head.batch"), t(f"head.{squashed}_accuracy"), t("head.logits_accuracy"),
                             t(f"head.{squashed}_loss"), t("head.logits_loss")], rows, caption=t("caption.outputs", squashed=squashed)))
    found = declared_pair(inputs, key)
    if found is None:
        return blocks + [Note(t("compare.missing"))]
    with_outputs, plain_logits = found
    difference = ((plain_logits.metrics.get("test_accuracy") or 0.0) - (with_outputs.metrics.get("test_accuracy") or 0.0)) * 100
    floor, measured = loss_floor(classes), final_loss(with_outputs)
    paragraphs = [
        t("outputs.course", squashed=squashed, epochs=config_value(plain_logits.config, EPOCHS), batch=config_value(plain_logits.config, BATCH),
          logits=links.accuracy(plain_logits), course=links.accuracy(with_outputs), points=links.link(plain_logits, number(difference))),
        differs_sentence(with_outputs, plain_logits),
    ]
    if measured is not None:
        paragraphs.append(t(f"outputs.floor_{squashed}", others=classes - 1, classes=classes, floor=number(floor),
                            measured=links.link(with_outputs, number(measured, 3)),
                            logits_loss=loss_text(plain_logits, links)))
    return blocks + [Text(paragraph) for paragraph in paragraphs]


def loss_text(run: Run, links: Links) -> Markup | str:
    value = final_loss(run)
    return "–" if value is None else links.link(run, number(value, 3))
