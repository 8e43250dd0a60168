"""Numbers about predictions: accuracy, confusion matrix, per-class report, the worst mistakes.

Every function takes predicted and true class labels as 1-D integer torch tensors or numpy
arrays (any device) and returns plain Python numbers or small int64 CPU tensors, so that the CLI,
the report and the web app can use them without caring where the model ran.

>>> accuracy([0, 1, 1, 2], [0, 1, 2, 2])
0.75
>>> confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2], num_classes=3).tolist()
[[1, 0, 0], [0, 1, 0], [0, 1, 1]]
"""

from __future__ import annotations

import numpy as np
import torch
from torchmetrics.functional.classification import multiclass_accuracy

ArrayLike = torch.Tensor | np.ndarray | list
PROBABILITY_SUM_TOLERANCE = 1e-3  # float32 softmax rows sum to 1 within ~1e-6; logits miss by far more


def _as_tensor(values: ArrayLike) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        return values
    return torch.as_tensor(np.asarray(values))


def _as_labels(values: ArrayLike, name: str) -> torch.Tensor:
    """A 1-D int64 tensor of class labels, or a ValueError naming ``name``."""
    labels = _as_tensor(values)
    if labels.ndim != 1:
        raise ValueError(f"{name} must be 1-D class labels, got shape {tuple(labels.shape)}")
    # An empty list arrives as float64; only non-empty float labels are a mistake.
    if labels.numel() and (labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool):
        raise ValueError(f"{name} must hold integer class labels, got dtype {labels.dtype} (take argmax of scores first)")
    return labels.to(torch.int64)


def _label_pair(pred: ArrayLike, target: ArrayLike, num_classes: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Validated (pred, target) of equal length on one device, labels within [0, num_classes)."""
    pred, target = _as_labels(pred, "pred"), _as_labels(target, "target")
    if len(pred) != len(target):
        raise ValueError(f"pred and target differ in length: {len(pred)} vs {len(target)}")
    pred = pred.to(target.device)
    if num_classes is not None:
        if int(num_classes) != num_classes or num_classes < 1:
            raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
        for name, labels in (("pred", pred), ("target", target)):
            outside = labels[(labels < 0) | (labels >= num_classes)]
            if len(outside):
                raise ValueError(f"{name} holds label {int(outside[0])} outside 0..{num_classes - 1}")
    return pred, target


def _require_some(target: torch.Tensor, what: str) -> None:
    if len(target) == 0:
        raise ValueError(f"{what} of zero predictions is undefined: pass at least one label")


def accuracy(pred: ArrayLike, target: ArrayLike) -> float:
    """Fraction of predictions equal to the target (micro accuracy, sklearn's ``accuracy_score``)."""
    pred, target = _label_pair(pred, target)
    _require_some(target, "accuracy")
    return float((pred == target).double().mean())


def macro_accuracy(pred: ArrayLike, target: ArrayLike, num_classes: int) -> float:
    """Mean of the per-class recalls: what the notebook's ``MulticlassAccuracy(num_classes)`` reports.

    torchmetrics' ``MulticlassAccuracy`` averages with ``average="macro"`` by default: it computes
    the accuracy within each true class (its recall) and takes the unweighted mean, so every class
    counts equally however many examples it has. On balanced test sets like MNIST's this is close
    to, but not equal to, the plain :func:`accuracy` (the fraction of all images right); on a
    skewed subset the two can differ a lot. Classes that occur neither in ``target`` nor in
    ``pred`` are left out of the mean; a class that is predicted but never true counts with
    recall 0 (sklearn's ``balanced_accuracy_score`` would skip it instead).
    """
    pred, target = _label_pair(pred, target, num_classes)
    _require_some(target, "macro accuracy")
    return float(multiclass_accuracy(pred, target, num_classes=num_classes, average="macro"))


def confusion_matrix(pred: ArrayLike, target: ArrayLike, num_classes: int) -> torch.Tensor:
    """Counts (num_classes, num_classes), int64 on CPU: row = true class, column = predicted class."""
    pred, target = _label_pair(pred, target, num_classes)
    # One bincount over the pair index true*C + predicted fills the whole matrix at once.
    pairs = target * num_classes + pred
    counts = torch.bincount(pairs, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).cpu()


def _safe_ratio(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    """numerator / denominator with 0 where the denominator is 0 (sklearn's zero_division=0)."""
    nonzero = denominator > 0
    return torch.where(nonzero, numerator / torch.where(nonzero, denominator, 1.0), 0.0)


def classification_report(pred: ArrayLike, target: ArrayLike, num_classes: int) -> dict:
    """Per-class precision, recall, F1 and support, plus their macro averages and the accuracy.

    Returns ``{"precision": [...], "recall": [...], "f1": [...], "support": [...],
    "macro": {"precision": p, "recall": r, "f1": f}, "accuracy": a}``, lists indexed by class.
    A ratio with nothing to divide by (a class never predicted, or never true) is 0, as in
    sklearn's ``precision_recall_fscore_support(..., zero_division=0)``; the macro averages run over
    all ``num_classes`` classes.
    """
    pred, target = _label_pair(pred, target, num_classes)
    _require_some(target, "a classification report")
    counts = confusion_matrix(pred, target, num_classes).double()
    true_positives = counts.diagonal()
    support = counts.sum(dim=1)  # how many of each class there are
    predicted = counts.sum(dim=0)  # how often each class was guessed
    precision = _safe_ratio(true_positives, predicted)
    recall = _safe_ratio(true_positives, support)
    f1 = _safe_ratio(2 * precision * recall, precision + recall)
    return {
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "f1": f1.tolist(),
        "support": support.to(torch.int64).tolist(),
        "macro": {"precision": float(precision.mean()), "recall": float(recall.mean()), "f1": float(f1.mean())},
        "accuracy": float(true_positives.sum() / support.sum()),
    }


def correct_and_incorrect(pred: ArrayLike, target: ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (1-D int64, CPU, ascending) of the right and of the wrong predictions."""
    pred, target = _label_pair(pred, target)
    right = (pred == target).cpu()
    return torch.nonzero(right).flatten(), torch.nonzero(~right).flatten()


def most_confident_mistakes(probabilities: ArrayLike, target: ArrayLike, k: int) -> torch.Tensor:
    """Indices of up to ``k`` wrong predictions, most confident first (1-D int64, CPU).

    ``probabilities`` is (N, C) with rows summing to 1 (softmax outputs, kNN vote shares); the
    prediction is each row's argmax and its confidence the probability it gave that wrong class.
    Ties keep the lower index first. Fewer than ``k`` come back when there are fewer mistakes.
    """
    if isinstance(k, bool) or int(k) != k or k < 0:
        raise ValueError(f"k must be a non-negative integer, got {k!r}")
    scores = _as_tensor(probabilities)
    if scores.ndim != 2 or not scores.is_floating_point():
        raise ValueError(f"probabilities must be a float (N, C) array, got {scores.dtype} of shape {tuple(scores.shape)}")
    target = _as_labels(target, "target").to(scores.device)
    if len(target) != len(scores):
        raise ValueError(f"probabilities and target differ in length: {len(scores)} vs {len(target)}")
    row_sums = scores.sum(dim=1)
    if len(scores) and (scores.min() < 0 or (row_sums - 1).abs().max() > PROBABILITY_SUM_TOLERANCE):
        raise ValueError("probabilities must be non-negative with rows summing to 1 (apply softmax to logits first)")
    confidence, pred = scores.max(dim=1)  # (N,), (N,)
    wrong = torch.nonzero(pred != target).flatten()
    order = torch.sort(confidence[wrong], descending=True, stable=True).indices
    return wrong[order][: int(k)].cpu()
