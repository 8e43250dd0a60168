"""The numbers the notebook states, read from where they live: the presets and the published benchmark runs.

The notebook's text never types a setting or a measured figure. It writes ``{{mlp.epochs}}`` or
``{{published.mlp}}`` and the editions are rendered with :func:`facts`; a cell that wants the settings
calls :func:`recommended`. Published figures are the benchmark runs behind benchmarks/RESULTS.md (their
JSON logs, found in a clone of digitlab); without a clone they read "niet gevonden".
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from digitlab.i18n import translator
from digitlab.presets import preset
from digitlab.training import TrainConfig

COURSE_LANGUAGE = "nl"  # the companion notebook's language
# The benchmark logs behind the training figures README.md and RESULTS.md publish ("Time to accuracy");
# tests/experiments/test_published.py checks that each ran today's presets.
# The MNIST CNN's runs are those of its pen-thickness preset (2026-12-07); the MLP's, its three runs of 2026-12-01.
PUBLISHED_TRAIN_LOGS = (*(f"train-avx2-2026-12-01b-{part}.json" for part in (
    "mnist-mlp", "augmented-seed0", "augmented-seed1", "augmented-seed2", "fashion-mlp-reference")),
    "train-avx2-2026-12-01c-fashion-cnn.json", "train-avx2-2026-12-07-mnist-cnn.json")
# The benchmark's setup key per (model, dataset) the notebook talks about
PUBLISHED_SETUPS = {("mlp", "mnist"): "mlp", ("cnn", "mnist"): "cnn", ("mlp", "fashion-mnist"): "fashion-mlp",
                    ("cnn", "fashion-mnist"): "fashion-cnn"}
# The course's own networks, as benchmarks/train.py labels their rows in RESULTS.md (3 seeds, 10 epochs each)
RESULTS_ROWS = {
    "simple": "SimpleNetwork, notebook (sigmoid into CE, Adam 0.01, b512)",
    "simple-logits": "SimpleNetwork, notebook setup but logits into CE",
    "complex": "ComplexNetwork, notebook (softmax into CE, Adam 0.01, LinearLR, b512)",
    "complex-logits": "ComplexNetwork, digitlab: the notebook setup but logits into CE",
}
NOT_FOUND = "niet gevonden (de gepubliceerde runs staan in benchmarks/logs van een kloon van digitlab)"


NUMBERS = translator(COURSE_LANGUAGE).numbers  # every number the notebook's student reads, written the course's way


def logs_folder() -> Path:
    """benchmarks/logs of the source tree this digitlab runs from (present in a clone, absent in a wheel)."""
    return Path(__file__).resolve().parents[3] / "benchmarks" / "logs"


@dataclass(frozen=True)
class Published:
    """A setup's published benchmark runs: test accuracy and training seconds per seed."""

    setup: str
    accuracies: tuple[float, ...]
    seconds: tuple[float, ...]

    def __str__(self) -> str:
        if not self.accuracies:
            return NOT_FOUND
        mean = statistics.fmean(self.accuracies)
        return (f"{NUMBERS.percent(mean)} gemiddeld over {len(self.accuracies)} seeds, "
                f"{NUMBERS.seconds(statistics.fmean(self.seconds))} per run")

    @property
    def percent(self) -> str:
        return NUMBERS.percent(statistics.fmean(self.accuracies), 1) if self.accuracies else NOT_FOUND


def published(model: str, dataset: str = "mnist", folder: Path | None = None) -> Published:
    """The published runs of digitlab's ``model`` trained with its recommended preset on ``dataset``."""
    setup = PUBLISHED_SETUPS[(model, dataset)]
    folder = logs_folder() if folder is None else folder
    accuracies, seconds = [], []
    for name in PUBLISHED_TRAIN_LOGS:
        path = folder / name
        if not path.is_file():
            continue
        for run in json.loads(path.read_text(encoding="utf-8"))["runs"]:
            if run["setup"] == setup:
                accuracies.append(run["test_accuracy"])
                seconds.append(run["train_seconds"])
    return Published(setup, tuple(accuracies), tuple(seconds))


def published_row(label: str, folder: Path | None = None) -> str:
    """The mean test accuracy RESULTS.md's newest row ``label`` gives ("91,5%"), or NOT_FOUND."""
    path = (logs_folder() if folder is None else folder).parent / "RESULTS.md"
    if not path.is_file():
        return NOT_FOUND
    for line in path.read_text(encoding="utf-8").splitlines():
        columns = [column.strip(" *") for column in line.strip().strip("|").split("|")]
        if len(columns) > 2 and columns[0] == label and "±" in columns[2]:
            return NUMBERS.percent(float(columns[2].split("±")[0]) / 100, 1)
    return NOT_FOUND


@dataclass(frozen=True)
class Recommendation:
    """digitlab's recommended training of a model on a dataset, and what it gave when published."""

    model: str
    dataset: str
    config: TrainConfig
    result: Published

    def __str__(self) -> str:
        c = self.config
        extras = [f"schedule {c.schedule}"] if c.schedule != "none" else []
        extras += [f"label smoothing {NUMBERS.short(c.label_smoothing)}"] if c.label_smoothing else []
        shifts = f" (verschuivingen tot {NUMBERS.short(c.augment_max_shift)} pixel)" if "shift" in c.augment.split(",") else ""
        extras += [f"augmentatie {c.augment}{shifts}"] if c.augment else []
        settings = f"{c.epochs} epochs, batch size {c.batch_size}, {c.optimizer} met learning rate {NUMBERS.short(c.lr)}"
        return f"{self.model} op {self.dataset}: {', '.join([settings, *extras])}; gepubliceerd: {self.result}"


def recommended(model: str, dataset: str = "mnist") -> Recommendation:
    """digitlab's recommended settings for ``model`` on ``dataset`` (from the presets) and their published result."""
    return Recommendation(model, dataset, preset(model, dataset).train_config, published(model, dataset))


def facts() -> dict[str, str]:
    """Every ``{{name}}`` the notebook's text may use, as the Dutch text it becomes."""
    values: dict[str, str] = {}
    for (model, dataset) in PUBLISHED_SETUPS:
        prefix = model if dataset == "mnist" else f"{dataset}.{model}"
        chosen = recommended(model, dataset)
        for name in ("epochs", "batch_size", "augment_max_shift", "label_smoothing"):
            values[f"{prefix}.{name}"] = NUMBERS.short(getattr(chosen.config, name))
        values[f"{prefix}.lr"] = NUMBERS.short(chosen.config.lr)
        values[f"{prefix}.schedule"] = chosen.config.schedule
        values[f"published.{prefix}"] = chosen.result.percent
        values[f"published.{prefix}.full"] = str(chosen.result)
    for name, label in RESULTS_ROWS.items():
        values[f"published.course.{name}"] = published_row(label)
    for model in ("simple", "complex"):
        course = preset(model, name="notebook").train_config
        values[f"course.{model}.epochs"], values[f"course.{model}.batch_size"] = str(course.epochs), str(course.batch_size)
        values[f"course.{model}.lr"] = NUMBERS.short(course.lr)
    return values
