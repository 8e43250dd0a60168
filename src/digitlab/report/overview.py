"""The report's parts on the other dataset and the summary of every model side by side."""

from __future__ import annotations

from typing import Any

import numpy as np

from digitlab.datasets import Dataset
from digitlab.datasets.catalog import CATALOG, DEFAULT_DATASET, DatasetSpec
from digitlab.experiments.store import Run, SweepRuns
from digitlab.report.blocks import Answer, Note, Table, Text
from digitlab.report.i18n import t
from digitlab.report.inputs import Inputs
from digitlab.report.links import dataset_title, network_summary, percent, run_setting, setting_phrase, train_seconds
from digitlab.report.robustness import augmentation_words
from digitlab.report.seeds import spread_of, spread_text

# What a k-NN row says it did, in this order; the steps after the distance only when the run took them.
KNN_SETTINGS = ("knn_config.n_neighbors", "knn_config.weights", "knn_config.metric")
KNN_STEPS = ("knn_config.deskew", "knn_config.pca", "knn_config.distortion")


def other_dataset(name: str) -> str | None:
    """The dataset the report compares ``name`` with: its catalog entry's companion (Fashion-MNIST for MNIST)."""
    return CATALOG[name].companion if name in CATALOG else None


def compared(sweeps: dict[str, SweepRuns], roles: dict[str, str], picks: dict[str, dict] | None = None) -> list[tuple[str, SweepRuns, Run]]:
    """(model label, sweep, its run) for every compared sweep that ran: the run ``picks`` names by its settings, else
    the sweep's best by validation accuracy.

    ``roles`` maps model labels to sweep names, in the order the comparison shows them.
    """
    found = []
    for label, name in roles.items():
        if name not in sweeps:
            continue
        settings = (picks or {}).get(label)
        run = sweeps[name].find(settings) if settings else sweeps[name].best()
        if run is not None:
            found.append((label, sweeps[name], run))
    return found


def row_of(label: str, sweep: SweepRuns, run: Run, dataset: Dataset | DatasetSpec) -> dict[str, Any]:
    return {"model": label, "sweep": sweep.name, "settings": summary_settings(run, dataset), "run_id": run.id,
            "test_accuracy": run.metrics.get("test_accuracy"), "train_seconds": train_seconds(run),
            "predict_seconds": run.metrics.get("predict_seconds"), "num_parameters": run.metrics.get("num_parameters")}


def comparison_blocks(inputs: Inputs) -> list:
    """Every model side by side: the best run of each compared sweep (roles: model labels)."""
    links, blocks = inputs.links, []
    models = compared(inputs.sweeps, inputs.roles, inputs.picks)
    if not models:
        return [Note(t("summary.nothing", dataset=inputs.dataset.name))]
    rows = []
    for label, sweep, run in models:
        spread = spread_of(sweep.runs) if label in inputs.spread else None
        # seeds: the mean in the number column, the range in the settings column (a long cell there wraps)
        settings = spread_text(spread, links) if spread else summary_settings(run, inputs.dataset)
        accuracy = percent(spread.mean) if spread else links.accuracy(run)
        rows.append([row_label(label, sweep), settings, accuracy, links.train_time(run), links.predict_time(run), links.parameters(run)])
    blocks.append(Table([t("head.model"), t("head.settings"), t("head.test_accuracy"), t("head.train"), t("head.predict"), t("head.parameters")],
                        rows, caption=t("caption.summary")))
    validated = [model for model in models if model[2].metrics.get("val_accuracy") is not None]  # the test set chooses nothing
    if not validated:
        return blocks
    label, sweep, best = max(validated, key=lambda model: (model[2].metrics["val_accuracy"], -model[2].id))
    best_sentence = t("summary.best", label=row_label(label, sweep), validation=links.metric(best, "val_accuracy"), accuracy=links.accuracy(best),
                      time=links.train_time(best))
    blocks.append(Text(best_sentence, conclusion=True))
    return blocks


def summary_settings(run: Run, dataset: Dataset | DatasetSpec) -> str:
    """What a summary row's run was, as it ran: a network's structure, epochs, batch size and augmentation
    ('784-512-512-10, 12 epochs, batch size 512'); a k-NN's k, votes, distance and the steps it took."""
    if run.config.get("kind") == "knn":
        phrases = [setting_phrase(path, run_setting(run, path)) for path in KNN_SETTINGS if run_setting(run, path) is not None]
        phrases += [setting_phrase(path, value) for path in KNN_STEPS if (value := run_setting(run, path))]
        return ", ".join(phrases)
    summary = network_summary(run, int(np.prod(dataset.image_shape)), dataset.num_classes)
    augment = augmentation_words(run)
    return f"{summary}, {t('summary.augment', kinds=augment)}" if augment else summary


def row_label(label: str, sweep: SweepRuns) -> str:
    """A compared model's name in the report's language (the catalog's ``row.<sweep>``; the English label without one)."""
    return str(t(f"row.{sweep.name}", default=label))


def other_dataset_title(dataset: str) -> str:
    """The course's Deel IV moves from its first dataset (MNIST) to the companion; the companion's report looks back."""
    other = other_dataset(dataset)
    if other is None:
        return str(t("title.no_companion"))
    return str(t("title.companion" if dataset == DEFAULT_DATASET else "title.compared_with", name=dataset_title(other)))


def other_dataset_blocks(inputs: Inputs) -> list:
    """The same models on the other dataset (Fashion-MNIST in the MNIST report, and back); roles: model labels."""
    links, blocks, this = inputs.links, [], inputs.dataset.name
    other = other_dataset(this)
    if other is None:  # a dataset whose catalog entry names no companion
        return [Note(t("other.no_companion", name=dataset_title(this)))]
    here_title, there_title = dataset_title(this), dataset_title(other)
    found = compared(inputs.sweeps, inputs.roles, inputs.picks)
    here = {label: run for label, _, run in found}
    names = {label: row_label(label, sweep) for label, sweep, _ in found}
    there = {label: run for label, _, run in compared(inputs.others, inputs.roles, inputs.picks)}
    both = [label for label in inputs.roles if label in here and label in there]
    untrained = next(iter(inputs.roles), None)  # guessing scores 1/classes on both datasets, trivially
    if not both:  # name the dataset that lacks runs: this page's own first
        return [Note(t("other.not_run", dataset=this if not here else other, name=dataset_title(this if not here else other)))]
    rows = [[names[label], links.accuracy(here[label]), links.accuracy(there[label]), links.train_time(there[label]),
             links.predict_time(there[label])] for label in both]
    blocks += [
        Text(t("other.intro", name=there_title, other=other)),
        Table([t("head.model"), t("head.accuracy_on", name=here_title), t("head.accuracy_on", name=there_title), t("head.train_on", name=there_title),
               t("head.predict_on", name=there_title)], rows, caption=t("caption.other", here=here_title, there=there_title)),
    ]
    trained = [label for label in both if label != untrained]
    # the answer always goes from the default dataset (MNIST) to the harder one, whichever page it is on
    (start, start_title), (end, end_title) = (((here, here_title), (there, there_title)) if this == DEFAULT_DATASET
                                              else ((there, there_title), (here, here_title)))
    change = sorted(trained, key=lambda label: (start[label].metrics.get("test_accuracy") or 0)
                    - (end[label].metrics.get("test_accuracy") or 0))
    if len(change) >= 2:
        least, most = change[0], change[-1]
        blocks.append(Answer(t("question.other_dataset", name=end_title), [t(
            "other.change", here=start_title, there=end_title, least=names[least], least_here=links.accuracy(start[least]),
            least_there=links.accuracy(end[least]), most=names[most], most_here=links.accuracy(start[most]),
            most_there=links.accuracy(end[most]))]))
    return blocks
