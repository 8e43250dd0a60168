"""The checks of the course's experiments (Opdracht 1, 2.b, 3.b, Fashion-MNIST): the student's results table.

What each assignment's table must hold is data (:data:`EXPERIMENTS`, also read by digitlab.course's checks
in the notebook). ``extract`` (in the sandbox) reads the table's rows and, for one network row, the
predictions of that setting run again from the same start (``row.again(images)`` of digitlab.course's
run records) on the test images. ``judge`` (in the grader) applies the table's rules and verifies one row
with what the sandbox never sees: a k-NN row it computes again itself on the grader's own data; a network
row's predictions it scores against the hidden test labels (it must have learned) and against the
sandbox's all-zero test labels, which is what the student's own run was scored on there (the claimed
accuracy must be that share, so a number typed into the table does not pass).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from digitlab.notebooks.checks.contract import FAILED, NOT_ANSWERED, PASSED, Check, Truth, Verdict, error_of, labels, number, register

VALIDATION_IMAGES, QUICK_VALIDATION_IMAGES = 2_000, 500  # training images k-NN runs hold out to choose k on (full / quick)
VALIDATION_SEED = 0  # the split's seed: the grader carves out the same images as the notebook
MAX_ROWS = 200  # a table longer than this is not a student's
ROUNDED = 0.0005  # a row may give its run's accuracy rounded to 0.1 percentage point (and as a percentage)
SAME = 0.01  # a row's accuracy and the same setting run again agree within this (ties, thread counts)
LEARNED = 0.5  # a network row run again must classify this share of the hidden test labels right
ROW_KEYS = ("dataset", "model", "layers", "parameters", "epochs", "batch_size", "k", "metric", "weights", "on", "train_size")


@dataclass(frozen=True)
class Experiment:
    """What one assignment's results table must hold."""

    table: str  # the table's name in the notebook
    dataset: str  # the runs' dataset
    kind: str  # "network", "knn", or "any"
    vary: tuple[str, ...]  # settings that must each take two values or more
    on: str | None = None  # k-NN: the rows that compare settings are scored here ("validatie")


EXPERIMENTS = {
    "opdracht-1-runs": Experiment("resultaten_1", "mnist", "network", ("epochs", "batch_size")),
    "opdracht-2b-runs": Experiment("resultaten_2b", "mnist", "network", ("layers",)),
    "opdracht-3b-runs": Experiment("resultaten_3b", "mnist", "knn", ("k", "metric"), on="validatie"),
    "fashion-runs": Experiment("resultaten_fashion", "fashion-mnist", "any", ("model",)),
}


def _items(table: Any) -> list:
    if hasattr(table, "to_dict") and hasattr(table, "columns"):
        return list(table.to_dict("records"))
    if isinstance(table, dict):
        return list(table.values())
    return list(table) if isinstance(table, list | tuple) else []


def _plain(value: Any) -> Any:
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value][:16]
    return str(value)[:80]


def _row(item: Any) -> dict:
    """A row as JSON: the run record's settings and accuracy, or a dict's own keys."""
    settings = getattr(item, "settings", None)
    source = {**settings, "accuracy": getattr(item, "accuracy", None)} if isinstance(settings, dict) else item
    if not isinstance(source, dict):
        return {}
    row = {key: _plain(source[key]) for key in ROW_KEYS if key in source}
    row["accuracy"] = _plain(next((source[key] for key in ("accuracy", "acc", "test_accuracy", "nauwkeurigheid") if key in source), None))
    return row


def _logged() -> list:
    """The runs the notebook made, from digitlab.course's run log when the notebook loaded it (looked up, not
    imported: the course module sits above this layer, and the sandbox has it loaded by the setup cells)."""
    log = getattr(sys.modules.get("digitlab.course.runs"), "run_log", None)
    return log() if callable(log) else []


def _runs_of(items: list, rows: list[dict]) -> list:
    """Per row, a run record that can run its setting again: the row itself, or the logged run it reports."""
    logged, found = _logged(), []
    for item, row in zip(items, rows, strict=True):
        if callable(getattr(item, "again", None)):
            found.append(item)
            continue
        claimed = number(row.get("accuracy"))
        claimed = claimed / 100 if claimed is not None and claimed > 1 else claimed
        found.append(next((run for run in logged if claimed is not None and abs(run.accuracy - claimed) <= ROUNDED and
                           all(row[key] == _plain(run.settings.get(key)) for key in row if key in run.settings)), None))
    return found


def extract_table(assignment: str):
    spec = EXPERIMENTS[assignment]

    def extract(namespace: dict, kit) -> dict:
        table = namespace.get(spec.table)
        items = _items(table)[:MAX_ROWS]
        data: dict[str, Any] = {"rows": [_row(item) for item in items]}
        networks = [(index, run) for index, run in enumerate(_runs_of(items, data["rows"]))
                    if run is not None and getattr(run, "settings", {}).get("model") != "k-NN"]
        if networks:
            index, item = min(networks, key=lambda pair: pair[1].settings.get("epochs", 1) * pair[1].settings.get("parameters", 1))
            data["again"] = {"row": index, "predictions": [int(label) for label in item.again(kit.test_images)]}
        return data

    return extract


def _rows(data: dict) -> list[dict] | None:
    rows = data.get("rows")
    if not isinstance(rows, list) or len(rows) > MAX_ROWS or not all(isinstance(row, dict) for row in rows):
        return None
    return rows


def _knn_again(row: dict, truth: Truth) -> float | None:
    """The accuracy the grader gets for a k-NN row's setting on its own data (scored like the notebook scores it)."""
    from sklearn.neighbors import KNeighborsClassifier

    k, size = number(row.get("k")), number(row.get("train_size"))
    metric, weights, on = row.get("metric"), row.get("weights", "uniform"), row.get("on")
    if k is None or k < 1 or size is None or size < 1 or metric not in ("euclidean", "cosine", "manhattan") or \
            weights not in ("uniform", "distance") or on not in ("validatie", "test"):
        return None
    images, train_labels = truth.train_images.reshape(len(truth.train_images), -1), truth.train_labels
    if on == "test":
        fit, fit_labels = images[:int(size)], train_labels[:int(size)]
        scored, scored_labels = truth.test_images.reshape(len(truth.test_images), -1), np.zeros(len(truth.test_images), dtype=int)
    else:  # the notebook's split: a seeded permutation, the validation images first (digitlab.datasets.train_validation_split)
        import torch

        held = QUICK_VALIDATION_IMAGES if len(images) <= QUICK_VALIDATION_IMAGES * 10 else VALIDATION_IMAGES
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(VALIDATION_SEED)).numpy()
        fit, fit_labels = images[order[held:]][:int(size)], train_labels[order[held:]][:int(size)]
        scored, scored_labels = images[order[:held]], train_labels[order[:held]]
    if int(k) > len(fit):
        return None
    model = KNeighborsClassifier(int(k), weights=weights, metric=metric, algorithm="brute").fit(fit.astype(np.float32), fit_labels)
    return float((model.predict(scored.astype(np.float32)) == scored_labels).mean())


def _verified(rows: list[dict], data: dict, truth: Truth) -> tuple[str, dict] | None:
    """None when one row, run again where the student cannot reach it, gives what the table says; else why not."""
    knn = [row for row in rows if row.get("model") == "k-NN"]
    if knn:
        row = min(knn, key=lambda row: (row.get("metric") == "manhattan", number(row.get("train_size")) or 0))
        again, claimed = _knn_again(row, truth), number(row.get("accuracy"))
        claimed = claimed / 100 if claimed is not None and claimed > 1 else claimed
        if again is None or claimed is None or abs(again - claimed) > SAME:
            return "experiment.rerun", {"accuracy": claimed or 0.0, "again": again or 0.0}
        return None
    rerun = data.get("again") if isinstance(data.get("again"), dict) else {}
    predicted = labels(rerun.get("predictions"), len(truth.test_labels))
    index = rerun.get("row")
    if predicted is None or not isinstance(index, int) or not 0 <= index < len(rows):
        return "experiment.no-run", {}
    claimed, zero_share = number(rows[index].get("accuracy")), float((predicted == 0).mean())
    claimed = claimed / 100 if claimed is not None and claimed > 1 else claimed
    learned = float((predicted == truth.test_labels).mean())
    if claimed is None or abs(claimed - zero_share) > SAME or learned < LEARNED:
        return "experiment.rerun", {"accuracy": claimed or 0.0, "again": learned}
    return None


def judge_table(assignment: str):
    spec = EXPERIMENTS[assignment]

    def judge(data: dict, truth: Truth) -> Verdict:
        error = error_of(data)
        if error and error[0] == "NotImplementedError":
            return Verdict(NOT_ANSWERED, "placeholder", "", {"name": spec.table})
        if error:
            return Verdict(FAILED, "cell-error", "read-error", {"error": f"{error[0]}: {error[1]}"})
        rows = _rows(data)
        if rows is None:
            return Verdict(FAILED, "experiment.unreadable", "experiment.unreadable", {"table": spec.table})
        if not rows:
            return Verdict(NOT_ANSWERED, "open", "", {})
        params = {"table": spec.table, "dataset": spec.dataset, "rows": len(rows)}
        if any(number(row.get("accuracy")) is None for row in rows):
            return Verdict(FAILED, "experiment.unreadable", "experiment.unreadable", params)
        if any(row.get("dataset") not in (None, spec.dataset) for row in rows):
            return Verdict(FAILED, "experiment.dataset", "experiment.dataset", params)
        if spec.kind != "any" and any((row.get("model") == "k-NN") != (spec.kind == "knn") for row in rows if "model" in row):
            return Verdict(FAILED, "experiment.kind", "experiment.kind", params)
        compared = [row for row in rows if spec.on is None or row.get("on") == spec.on]
        if not compared:
            return Verdict(FAILED, "experiment.on-test", "experiment.on-test", params)
        for key in spec.vary:
            if len({repr(row.get(key)) for row in compared if key in row}) < 2:
                return Verdict(FAILED, "experiment.vary", "experiment.vary-" + key, {**params, "setting": key})
        problem = _verified(rows, data, truth)
        if problem is not None:
            return Verdict(FAILED, problem[0], "experiment.rerun", {**params, **problem[1]})
        return Verdict(PASSED, "experiment.passed", "", params)

    return judge


for _assignment in EXPERIMENTS:
    register(Check(_assignment, extract_table(_assignment), judge_table(_assignment)))
