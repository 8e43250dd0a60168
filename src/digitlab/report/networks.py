"""The report's parts on the untrained baseline and the notebook's single-layer network."""

from __future__ import annotations

import numpy as np
from markupsafe import Markup

from digitlab.datasets import Dataset
from digitlab.evaluation import history_figure
from digitlab.experiments.store import Run
from digitlab.report.blocks import Answer, Figures, Heading, Note, Table, Text, image
from digitlab.report.data import gallery_blocks
from digitlab.report.inputs import Inputs
from digitlab.report.links import Links, network_summary, percent, target
from digitlab.report.select import SweepRuns, config_value
from digitlab.report.tables import accuracy_and_time, accuracy_time_curves, described, listing, pivot, reach_sentence

EPOCHS = "train_options.epochs"
BATCH = "train_options.batch_size"
SIMPLE_TARGET = 0.92  # "Als je in de buurt bent van 92% accuracy op de testset..."


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


def untrained_blocks(inputs: Inputs) -> list:
    """Roles: ``baseline`` (the untrained network over seeds)."""
    dataset, links, blocks = inputs.dataset, inputs.links, []
    sweep = inputs.sweep("baseline")
    if sweep is None:
        return [inputs.not_run("baseline")]
    rows, explained = [], None
    for run in sweep.runs:
        confusion = confusion_of(run)
        if confusion is None:
            rows.append([str(config_value(run.config, "seed")), links.accuracy(run), "–", "–", "–"])
            continue
        favourite = int(confusion.sum(axis=0).argmax())
        share = links.link(run, percent(confusion.sum(axis=0)[favourite] / confusion.sum()))
        chance = links.link(run, percent(chance_accuracy(confusion)))
        rows.append([str(config_value(run.config, "seed")), links.accuracy(run), dataset.classes[favourite], share, chance])
        explained = explained or (run, favourite, share, chance)
    blocks += [
        Text(sweep.description),
        Table(["seed", "test accuracy", "most predicted class", "its share of predictions", "chance accuracy"], rows,
              caption="The notebook's SimpleNetwork with random weights, before any training"),
    ]
    answer = [Markup("Untrained, the network scores {} on the test set ({} seeds). Its weights are random, so the "
                     "{} outputs say nothing about the image and the predicted class is the argmax of noise: about "
                     "one guess in {} is right, {}.").format(
        Markup(", ").join(links.accuracy(run) for run in sweep.runs), len(sweep.runs), dataset.num_classes,
        dataset.num_classes, target(1 / dataset.num_classes))]
    if explained:
        run, favourite, share, chance = explained
        answer.append(Markup(
            "The confusion matrix shows it: seed {} puts {} of the test images in class {}. Predictions that ignore "
            "the image are right with probability Σ P(predicted c) · P(true c) = {} here, which is 1/{} whenever the "
            "classes are balanced, whichever class the noise prefers.").format(
            config_value(run.config, "seed"), share, dataset.classes[favourite], chance, dataset.num_classes))
    blocks.append(Answer("Why about 10%?", answer))
    return blocks


def epochs_batch_blocks(sweep: SweepRuns, links: Links) -> list:
    """The notebook's play with epochs and batch size: a table, two plots and what they show."""
    blocks = [
        Text(sweep.description),
        pivot(sweep, EPOCHS, BATCH, accuracy_and_time(links), caption=f"{sweep.name}: test accuracy and training time"),
        accuracy_time_curves(sweep, EPOCHS, BATCH),
    ]
    most = max(sweep.grid[EPOCHS])
    small, large = (sweep.find(train_options__epochs=most, train_options__batch_size=size)
                    for size in (min(sweep.grid[BATCH]), max(sweep.grid[BATCH])))
    if small and large and small is not large:
        faster = (small.metrics.get("train_seconds") or 0.0) > (large.metrics.get("train_seconds") or 0.0)
        blocks.append(Text(Markup("At {} epochs, batch size {} trains in {} ({}), batch size {} in {} ({}){}.").format(
            most, min(sweep.grid[BATCH]), links.train_time(small), links.accuracy(small), max(sweep.grid[BATCH]),
            links.train_time(large), links.accuracy(large),
            ": larger batches take fewer, cheaper-per-image steps" if faster else "")))
    return blocks


def trained_blocks(run: Run, sweep: SweepRuns, dataset: Dataset, links: Links, model: str) -> list:
    """The chosen run's test accuracy and learning curve."""
    subject = f"Chosen by validation accuracy, {model}" if len(sweep.runs) > 1 else model[:1].upper() + model[1:]
    blocks = [Text(Markup("{} ({}) scores {} on the test set after {} of training.").format(
        subject, summary(run, dataset), links.accuracy(run), links.train_time(run)))]
    history = run.result.get("history") or []
    if history:
        blocks.append(Figures([image(history_figure(history), f"{model}: loss and accuracy per epoch")]))
    return blocks


def simple_blocks(inputs: Inputs) -> list:
    """Roles: ``notebook`` (the course's single layer over epochs x batch size), ``logits`` (the same layer, logits)."""
    dataset, links, blocks = inputs.dataset, inputs.links, []
    sweep = inputs.sweep("notebook")
    if sweep is None:
        blocks.append(inputs.not_run("notebook"))
    else:
        best = sweep.best()
        blocks += [Heading("Epochs and batch size")] + epochs_batch_blocks(sweep, links)
        blocks += [Heading("After training")] + trained_blocks(best, sweep, dataset, links, "the SimpleNetwork")
        blocks += gallery_blocks(best, dataset, links, "SimpleNetwork")
        blocks.append(Answer("Opdracht 1: which accuracy at which epochs and batch size?", [
            Markup("Best by validation accuracy: {} with {}.").format(links.accuracy(best), summary(best, dataset)),
            reach_sentence(described(sweep, dataset), SIMPLE_TARGET, links),
        ]))
    logits = inputs.sweep("logits")
    blocks.append(Heading("Logits instead of sigmoid outputs"))
    if logits is None:
        blocks.append(inputs.not_run("logits"))
        return blocks
    blocks += [Text(logits.description), listing(logits, links, caption="One linear layer, logits into CrossEntropyLoss")]
    if sweep is not None:
        blocks.append(logits_comparison(logits, sweep, links))
    return blocks


def logits_comparison(logits: SweepRuns, sigmoid: SweepRuns, links: Links) -> Text | Note:
    """The same layer, same epochs and batch size, with and without the sigmoid on its outputs."""
    for run in logits.runs:
        epochs, batch = config_value(run.config, EPOCHS), config_value(run.config, BATCH)
        twin = sigmoid.find(train_options__epochs=epochs, train_options__batch_size=batch)
        if twin is None:
            continue
        better = (run.metrics.get("test_accuracy") or 0.0) > (twin.metrics.get("test_accuracy") or 0.0)
        return Text(Markup(
            "At {} epochs and batch size {} the layer reaches {} with plain logits against {} with the notebook's "
            "sigmoid outputs: {}. The sigmoid squeezes the outputs into (0, 1) before CrossEntropyLoss applies its "
            "own softmax, so the ten scores differ by less than 1 and the loss can never approach 0.").format(
            epochs, batch, links.accuracy(run), links.accuracy(twin),
            "plain logits do better" if better else "the sigmoid does no worse here"))
    return Note("No sigmoid run shares epochs and batch size with these, so no like-for-like comparison.")
