"""Opdracht 3.a, k-NN: the student's ``y_pred`` must be a k-NN's answer, at whatever k and distance the student chose.

In the sandbox the checker reads ``y_pred`` and the settings of the k-NN the student made (any object with
scikit-learn's ``get_params`` and ``n_neighbors``, under any name). The grader, with scikit-learn, computes
k-NN itself on the same train images for the student's settings and for the usual others (k 1-15, uniform
or distance votes, Euclidean, Manhattan or cosine), and passes ``y_pred`` when it agrees with one of them
on a sample of the test images and reaches the accuracy floor on the hidden test labels. Sent settings are
only tried first: a forged setting cannot make wrong predictions agree.
"""

from __future__ import annotations

import numpy as np

from digitlab.notebooks.checks.contract import FAILED, NOT_ANSWERED, PASSED, Check, Truth, Verdict, error_of, labels, register

ASSIGNMENT = "knn"
SAMPLE = 200  # test images on which the student's answers are compared with scikit-learn's
AGREEMENT = 0.98  # share of those that must agree (ties may break differently between implementations)
FLOOR = 0.8  # accuracy on the hidden labels (k-NN on 3000 training images reaches ~0.88)
KS = range(1, 16)  # the k the grader tries besides the student's own
METRICS = ("euclidean", "manhattan", "cosine")
WEIGHTS = ("uniform", "distance")
FLAT_WORDS = ("dim 3", "3 dimension", "expected <= 2", "Expected 2D")  # scikit-learn's words for 3-d image arrays


def extract(namespace, kit) -> dict:
    import numpy
    import torch

    data: dict = {}
    for name, value in list(namespace.items()):
        getter = getattr(type(value), "get_params", None)
        if name.startswith("_") or not callable(getter) or isinstance(value, type):
            continue
        try:
            params = getter(value)
        except Exception:  # an estimator that cannot describe itself tells nothing
            continue
        if isinstance(params, dict) and "n_neighbors" in params:
            data["settings"] = {key: params.get(key) for key in ("n_neighbors", "weights", "metric", "p")
                                if isinstance(params.get(key), int | str | float | type(None))}
    y_pred = namespace.get("y_pred")
    if y_pred is None:
        return {**data, "missing": "y_pred"}
    try:
        array = y_pred.numpy() if isinstance(y_pred, torch.Tensor) else numpy.asarray(y_pred)
        data["predictions"] = [int(v) for v in array.reshape(-1)[: len(kit.test_images) + 1]]
    except Exception as error:
        data["error"] = {"type": type(error).__name__, "message": str(error)[:300]}
    return data


def _votes(distances: np.ndarray, train_labels: np.ndarray, k: int, weights: str) -> np.ndarray:
    """scikit-learn's k-NN vote for each row of ``distances`` (sklearn breaks distance ties by index, so do we)."""
    nearest = np.argsort(distances, axis=1, kind="stable")[:, :k]
    near = np.take_along_axis(distances, nearest, axis=1)
    weight = np.ones_like(near) if weights == "uniform" else 1.0 / np.maximum(near, 1e-12)
    scores = np.zeros((len(distances), int(train_labels.max()) + 1))
    np.add.at(scores, (np.arange(len(distances))[:, None], train_labels[nearest]), weight)
    return scores.argmax(axis=1)


def references(truth: Truth) -> tuple[np.ndarray, dict[tuple, np.ndarray]]:
    """The sample of test images and, per (k, weights, metric), scikit-learn's answers on it (cached per class)."""
    if "knn" not in truth.cache:
        from sklearn.metrics import pairwise_distances

        sample = np.random.default_rng(0).permutation(len(truth.test_images))[:SAMPLE]
        train = truth.train_images.reshape(len(truth.train_images), -1).astype(np.float32)
        test = truth.test_images[sample].reshape(len(sample), -1).astype(np.float32)
        answers = {}
        for metric in METRICS:
            distances = pairwise_distances(test, train, metric=metric)
            for k in KS:
                for weights in WEIGHTS:
                    answers[(k, weights, metric)] = _votes(distances, truth.train_labels, k, weights)
        truth.cache["knn"] = (sample, answers)
    return truth.cache["knn"]


def _settings_of(data: dict) -> tuple:
    settings = data.get("settings") if isinstance(data.get("settings"), dict) else {}
    metric = settings.get("metric", "minkowski")
    if metric == "minkowski":
        metric = {1: "manhattan"}.get(settings.get("p", 2), "euclidean")
    return settings.get("n_neighbors"), settings.get("weights", "uniform"), metric


def judge(data: dict, truth: Truth) -> Verdict:
    error = error_of(data)
    if error and error[0] == "NotImplementedError":
        return Verdict(NOT_ANSWERED, "placeholder", "", {"name": "y_pred"})
    if error:
        flat = any(word in error[1] for word in FLAT_WORDS)
        return Verdict(FAILED, "knn.error", "knn.flat" if flat else "read-error", {"error": f"{error[0]}: {error[1]}"})
    if "missing" in data:
        return Verdict(FAILED, "net.missing", "where", {"name": "y_pred"})
    predicted = labels(data.get("predictions"), len(truth.test_labels))
    if predicted is None:
        count = len(data["predictions"]) if isinstance(data.get("predictions"), list) else 0
        return Verdict(FAILED, "knn.length", "knn.length", {"count": count, "expected": len(truth.test_labels)})
    sample, answers = references(truth)
    own = _settings_of(data)
    tried = ([own] if own in answers else []) + list(answers)
    agreement, best = max(((float((answers[key] == predicted[sample]).mean()), key) for key in tried), key=lambda pair: pair[0])
    accuracy = float((predicted == truth.test_labels).mean())
    params = {"k": best[0], "weights": best[1], "metric": best[2], "agreement": agreement, "accuracy": accuracy,
              "floor": FLOOR, "sample": SAMPLE}
    if agreement < AGREEMENT:
        return Verdict(FAILED, "knn.differs", "knn.differs", params)
    if accuracy < FLOOR:
        return Verdict(FAILED, "knn.accuracy", "knn.accuracy", params)
    return Verdict(PASSED, "knn.passed", "", params)


register(Check(ASSIGNMENT, extract, judge, prepare=references))
