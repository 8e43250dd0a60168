"""What the output layer does to training: the course's sigmoid (or softmax) outputs against logits, over three seeds.

Opdracht 1 and 2 both end in an activation before ``CrossEntropyLoss``; the notebook suggests softmax in place of the
sigmoid. The part's ``seeds`` sweep trains each output at the course's settings with three seeds, so the page
gives mean and spread and says when a difference is within what seeds alone do (:mod:`digitlab.report.seeds`).
The loss-floor argument and the classes a softmax network stops predicting are in the Verdieping
(:func:`outputs_further`).
"""

from __future__ import annotations

import math

from markupsafe import Markup

from digitlab.experiments.store import Run, config_value
from digitlab.report.blocks import Note, Table, Text, further_link
from digitlab.report.compare import declared_pair, differs_sentence
from digitlab.report.i18n import number, t
from digitlab.report.inputs import Inputs
from digitlab.report.links import Links, percent
from digitlab.report.seeds import Spread, noise_sentence, points, seed_header, seed_rows, spread_in

EPOCHS = "train_config.epochs"
BATCH = "train_config.batch_size"
OUTPUTS = "model_config.outputs"


def output_name(outputs: str) -> str:
    return str(t(f"outputs.name.{outputs}"))


def loss_floor(classes: int) -> float:
    """The least CrossEntropyLoss can be when the network's outputs lie in [0, 1] (sigmoid or softmax outputs):
    the loss's own softmax then gives the right class at most e / (e + classes - 1)."""
    return math.log(1 + (classes - 1) / math.e)


def final_loss(run: Run) -> float | None:
    """The training loss of the run's last epoch."""
    history = run.result.get("history") or []
    return history[-1].get("train_loss") if history else None


def loss_text(run: Run, links: Links) -> Markup | str:
    value = final_loss(run)
    return "–" if value is None else links.link(run, number(value, 3))


def seed_spreads(inputs: Inputs) -> list[tuple[str, Spread]]:
    """(outputs, spread over seeds) for every output layer the part's ``seeds`` sweep trained, in its grid's order."""
    sweep = inputs.sweep("seeds")
    if sweep is None:
        return []
    found = [(outputs, spread_in(sweep, {OUTPUTS: outputs})) for outputs in sweep.grid.get(OUTPUTS, [])]
    return [(outputs, spread) for outputs, spread in found if spread is not None]


def seeds_blocks(inputs: Inputs, course: str) -> list:
    """The seeds table (a row per output layer) and what it says: the course's output against each other one."""
    links = inputs.links
    spreads = seed_spreads(inputs)
    if not spreads:
        return [inputs.not_run("seeds")]
    labelled = [(output_name(outputs), spread) for outputs, spread in spreads]
    blocks: list = [Table(seed_header(labelled, str(t("head.outputs"))), seed_rows(labelled, links), caption=t("caption.seeds_outputs"))]
    by_name = dict(spreads)
    base = by_name.get(course)
    for outputs, spread in spreads:
        if base is None or outputs == course:
            continue
        difference = spread.mean - base.mean
        blocks.append(Text(t("outputs.seeds", other=output_name(outputs), other_mean=percent(spread.mean), course=output_name(course),
                             course_mean=percent(base.mean), direction=t("seeds.higher" if difference > 0 else "seeds.lower"),
                             difference=points(difference)) + " " + noise_sentence(difference, spread, base), conclusion=True))
    return blocks


def outputs_comparison(inputs: Inputs, key: str, squashed: str) -> list:
    """The course's network against the same network with logits, epoch by epoch (seed 0), then over three seeds at the
    course's settings, with the settings that differ (``squashed``: the course's output, sigmoid or softmax)."""
    links = inputs.links
    course, logits = inputs.sweep("notebook"), inputs.sweep("logits")
    if course is None or logits is None:
        return [inputs.not_run("notebook" if course is None else "logits")]
    rows, pairs = [], []
    for run in logits.runs:
        twin = course.find({EPOCHS: config_value(run.config, EPOCHS), BATCH: config_value(run.config, BATCH)})
        if twin is not None:
            pairs.append((twin, run))
            rows.append([str(config_value(run.config, EPOCHS)), str(config_value(run.config, BATCH)), links.accuracy(twin), links.accuracy(run),
                         loss_text(twin, links), loss_text(run, links)])
    blocks: list = []
    if rows:
        blocks.append(Table([t("head.epochs"), t("head.batch"), t(f"head.{squashed}_accuracy"), t("head.logits_accuracy"),
                             t(f"head.{squashed}_loss"), t("head.logits_loss")], rows, caption=t("caption.outputs", squashed=squashed)))
    blocks += seeds_blocks(inputs, squashed)
    found = declared_pair(inputs, key) or (pairs[-1] if pairs else None)  # the course's settings, else the table's longest pair
    if found is None:
        return [*blocks, Note(t("compare.missing"))]
    blocks.append(Text(differs_sentence(*found)))
    return [*blocks, Text(further_link(f"outputs-{squashed}"))]


def outputs_further(inputs: Inputs, key: str, squashed: str) -> list:
    """The Verdieping on the course's bounded outputs: why they hold the loss up (the floor, measured)."""
    links, classes = inputs.links, inputs.dataset.num_classes
    found = declared_pair(inputs, key)
    if found is None:
        return []
    with_outputs, plain_logits = found
    measured = final_loss(with_outputs)
    if measured is None:
        return []
    return [Text(t(f"outputs.floor_{squashed}", others=classes - 1, classes=classes, floor=number(loss_floor(classes)),
                   measured=links.link(with_outputs, number(measured, 3)), logits_loss=loss_text(plain_logits, links)))]
