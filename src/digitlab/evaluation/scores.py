"""A run's test scores as plain data, and its per-image predictions kept compactly for any class count.

Every kind of run (network, k-NN) scores its test split the same way, so the report can compare
them; the predictions are kept for galleries and confusion details.

>>> encode_predictions(torch.tensor([3, 11, 0]))    # one character per image up to 62 classes
'3b0'
>>> decode_predictions('3b0').tolist()
[3, 11, 0]
"""

from __future__ import annotations

import string
from typing import Any

import torch

from digitlab.datasets import Split
from digitlab.evaluation.metrics import accuracy, confusion_matrix, macro_accuracy

# Digits first, so runs stored with one digit per image (10 classes) decode unchanged.
ALPHABET = string.digits + string.ascii_lowercase + string.ascii_uppercase  # 62 one-character labels
INDEX = {character: label for label, character in enumerate(ALPHABET)}


def encode_predictions(labels: torch.Tensor) -> str | list[int]:
    """(N,) labels -> one character per image (labels below 62), else the plain list of ints."""
    values = [int(label) for label in labels.tolist()]
    if values and (min(values) < 0 or max(values) >= len(ALPHABET)):
        return values  # beyond 62 classes: ~4 bytes per image in JSON, still fine for a test set
    return "".join(ALPHABET[value] for value in values)


def decode_predictions(stored: object) -> torch.Tensor | None:
    """The int64 labels :func:`encode_predictions` stored, or None when ``stored`` is not such a value."""
    if isinstance(stored, str) and stored and all(character in INDEX for character in stored):
        return torch.tensor([INDEX[character] for character in stored], dtype=torch.int64)
    if isinstance(stored, list) and stored and all(isinstance(value, int) and value >= 0 for value in stored):
        return torch.tensor(stored, dtype=torch.int64)
    return None


def score_split(predictions: torch.Tensor, split: Split, num_classes: int) -> dict[str, Any]:
    """Accuracy, macro accuracy, the confusion matrix and the per-image predictions of one test split."""
    predictions = predictions.cpu()
    return {
        "metrics": {
            "test_accuracy": accuracy(predictions, split.labels),
            "macro_accuracy": macro_accuracy(predictions, split.labels, num_classes),
        },
        "confusion": confusion_matrix(predictions, split.labels, num_classes).tolist(),
        "test_predictions": encode_predictions(predictions),  # compact enough to keep for every run
    }
