"""Part 7 and the summary: the other dataset, and every model side by side."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from digitlab.datasets.catalog import CATALOG, DEFAULT_DATASET
from digitlab.experiments.store import Run
from digitlab.report.blocks import Note, Section, Table, Text
from digitlab.report.links import Links, dataset_title, describe, train_seconds
from digitlab.report.select import SweepRuns

# The best run of each of these sweeps stands for its model in the comparisons, in this order.
COMPARED = (
    ("untrained", "Untrained SimpleNetwork"),
    ("simple-notebook", "SimpleNetwork (notebook: sigmoid outputs)"),
    ("simple-logits", "One linear layer, logits"),
    ("complex-notebook", "ComplexNetwork (notebook: 784-512-512-10)"),
    ("mlp-hidden", "MLP, best hidden width"),
    ("mlp-layers", "MLP, best depth"),
    ("mlp-best", "MLP 784-512-512-10 (tuned)"),
    ("cnn", "CNN"),
    ("knn", "k-NN on raw pixels"),
    ("knn-preprocess", "k-NN with PCA / deskewing"),
    ("knn-best", "k-NN, most accurate (deskew, blur, shifted copies, PCA)"),
    ("robustness", "Network trained on augmented batches"),
)
UNTRAINED_LABEL = COMPARED[0][1]


def other_dataset(name: str) -> str | None:
    """The dataset the report compares ``name`` with: its catalog entry's companion (Fashion-MNIST for MNIST)."""
    return CATALOG[name].companion if name in CATALOG else None


def compared(sweeps: dict[str, SweepRuns]) -> list[tuple[str, SweepRuns, Run]]:
    """(model label, sweep, its best run by validation accuracy) for every compared sweep that ran."""
    return [(label, sweeps[name], sweeps[name].best()) for name, label in COMPARED if name in sweeps]


def row_of(label: str, sweep: SweepRuns, run: Run) -> dict[str, Any]:
    return {"model": label, "sweep": sweep.name, "settings": describe(run, sweep.grid), "run_id": run.id,
            "test_accuracy": run.metrics.get("test_accuracy"), "train_seconds": train_seconds(run),
            "predict_seconds": run.metrics.get("predict_seconds"), "num_parameters": run.metrics.get("num_parameters")}


def comparison_section(sweeps: dict[str, SweepRuns], dataset_name: str, links: Links) -> Section:
    section = Section("comparison", "Summary: every model side by side")
    models = compared(sweeps)
    if not models:
        section.blocks.append(Note(Markup("Nothing run yet: <code>digitlab lab --dataset {}</code>.").format(dataset_name)))
        return section
    rows = [[label, describe(run, sweep.grid), links.accuracy(run), links.train_time(run), links.predict_time(run),
             links.parameters(run)] for label, sweep, run in models]
    section.blocks.append(Table(["model", "settings", "test accuracy", "train / fit", "predict (test set)", "parameters"],
                                rows, caption="The best run of each sweep (chosen by validation accuracy)"))
    label, sweep, best = max(models, key=lambda model: model[2].metrics.get("test_accuracy") or 0.0)
    section.blocks.append(Text(Markup("The most accurate is the {}: {} on the test set, after {} of training.").format(
        label, links.accuracy(best), links.train_time(best))))
    return section


def other_dataset_section(this: str, sweeps: dict[str, SweepRuns], others: dict[str, SweepRuns], links: Links) -> Section:
    """Part 7: the same models on the other dataset (Fashion-MNIST in the MNIST report, and back)."""
    other = other_dataset(this)
    if other is None:  # a dataset whose catalog entry names no companion
        section = Section("other-dataset", "7. Compared with another dataset")
        section.blocks.append(Note(f"The catalog entry of {dataset_title(this)} names no dataset to compare it with (its companion)."))
        return section
    here_title, there_title = dataset_title(this), dataset_title(other)
    # The course's Deel IV moves from its first dataset (MNIST) to the companion.
    section = Section("other-dataset", f"7. {there_title} (Deel IV)" if this == DEFAULT_DATASET else f"7. Compared with {there_title}")
    here, there = {label: run for label, _, run in compared(sweeps)}, {label: run for label, _, run in compared(others)}
    both = [label for _, label in COMPARED if label in here and label in there]
    if not both:
        section.blocks.append(Note(Markup("No runs on both datasets yet: <code>digitlab lab --dataset {}</code>.").format(other)))
        return section
    rows = [[label, links.accuracy(here[label]), links.accuracy(there[label]), links.train_time(there[label]),
             links.predict_time(there[label])] for label in both]
    section.blocks += [
        Text(Markup('The same sweeps on {}; its full report is <a href="../{}/index.html">{}/index.html</a>.').format(
            there_title, other, other)),
        Table(["model", f"{here_title} test accuracy", f"{there_title} test accuracy", f"{there_title} train / fit",
               f"{there_title} predict"], rows, caption=f"{here_title} against {there_title}"),
    ]
    trained = [label for label in both if label != UNTRAINED_LABEL]  # guessing scores 10% on both, trivially
    change = sorted(trained, key=lambda label: (here[label].metrics.get("test_accuracy") or 0)
                    - (there[label].metrics.get("test_accuracy") or 0))
    if len(change) >= 2:
        least, most = change[0], change[-1]
        section.blocks.append(Text(Markup(
            "From {} to {}, the {} keeps its accuracy best ({} to {}) and the {} loses most ({} to {}).").format(
            here_title, there_title, least, links.accuracy(here[least]), links.accuracy(there[least]), most,
            links.accuracy(here[most]), links.accuracy(there[most]))))
    return section
