"""How every run is scored, network or k-NN alike: accuracy, macro accuracy, confusion, per-image predictions,
and (when asked for) accuracy on changed test sets."""

from __future__ import annotations

import time
from typing import Any

import torch

from digitlab.datasets import Split
from digitlab.evaluation.metrics import accuracy, confusion_matrix, macro_accuracy
from digitlab.robustness.evaluate import Predictor, parse_transforms, robustness_table

ROBUSTNESS_SEED = 0  # every run of every sweep is scored on the same changed test images, whatever its own seed
MAX_STORED_CLASS = 9  # per-image predictions are stored as one digit character each


def scores(predictions: torch.Tensor, split: Split, num_classes: int) -> dict[str, Any]:
    predictions = predictions.cpu()
    return {
        "metrics": {
            "test_accuracy": accuracy(predictions, split.labels),
            "macro_accuracy": macro_accuracy(predictions, split.labels, num_classes),
        },
        "confusion": confusion_matrix(predictions, split.labels, num_classes).tolist(),
        # One character per test image: compact enough to keep for every run, enough for galleries.
        "test_predictions": "".join(map(str, predictions.tolist())) if num_classes <= MAX_STORED_CLASS + 1 else None,
    }


def robustness_result(transforms: str, predict: Predictor, test: Split) -> dict[str, Any]:
    """``{"robustness": {transform: {strength: accuracy}}, "robustness_seconds": s}`` for ``transforms`` ("" = none)."""
    if not transforms:
        return {}
    started = time.perf_counter()
    rows = robustness_table({"model": predict}, test, parse_transforms(transforms), seed=ROBUSTNESS_SEED)
    measured: dict[str, dict[str, float]] = {}
    for row in rows:
        measured.setdefault(row["transform"], {})[f"{row['strength']:g}"] = row["accuracy"]
    return {"robustness": measured, "robustness_seconds": time.perf_counter() - started}
