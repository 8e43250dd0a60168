"""k-NN experiments: fit, predict and score one config, reusing a neighbour search the last run already did.

A lab grid over k x weighting x distance asks the same search (same data, k and distance) once with
uniform votes and once with 1/d votes. The neighbours do not depend on the weighting, so the second
run votes on the first one's neighbours: identical predictions, half the searches. Its
``predict_seconds`` still counts the search it reused (the time a prediction costs), and its metrics
say ``neighbors_reused``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

import numpy as np
import torch
from sklearn.pipeline import Pipeline, make_pipeline

from digitlab.datasets import Dataset, Split
from digitlab.evaluation.metrics import accuracy
from digitlab.evaluation.scores import score_split
from digitlab.experiments.config import ExperimentConfig
from digitlab.knn import PCA, Deskew, KNNClassifier, flatten_images

KEPT_SEARCHES = 8  # (config, split) searches remembered; a grid needs the last two
_searches: OrderedDict[tuple, tuple[Dataset, np.ndarray, np.ndarray, float]] = OrderedDict()


def knn_pipeline(options: dict[str, Any], device: torch.device) -> Pipeline:
    """KNNClassifier with optional deskewing and PCA in front, from a config's ``knn_options``."""
    options = dict(options)
    pca, deskew = options.pop("pca", 0), options.pop("deskew", False)
    steps = ([Deskew()] if deskew else []) + ([PCA(pca)] if pca else [])
    return make_pipeline(*steps, KNNClassifier(device=str(device), **options))


def _search_key(config: ExperimentConfig, source: Dataset, split: str) -> tuple:
    """Everything that decides the neighbours: the data cut, the k-NN options except the vote weighting."""
    options = tuple(sorted((key, repr(value)) for key, value in config.knn_options.items() if key != "weights"))
    return (id(source), config.dataset, config.train_limit, config.test_limit, config.validation_size, config.seed, options, split)


def _neighbours(estimator: Pipeline, images: torch.Tensor, key: tuple, source: Dataset) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """(distances, indices, search seconds, reused?) for ``images``, from the store of recent searches when possible."""
    known = _searches.get(key)
    if known is not None and known[0] is source:  # the entry holds ``source``, so its id cannot have been reused
        _searches.move_to_end(key)
        return known[1], known[2], known[3], True
    started = time.perf_counter()
    features = flatten_images(images)
    for _, step in estimator.steps[:-1]:
        features = step.transform(features)
    distances, indices = estimator.steps[-1][1].kneighbors(features)
    seconds = time.perf_counter() - started
    _searches[key] = (source, distances, indices, seconds)
    while len(_searches) > KEPT_SEARCHES:
        _searches.popitem(last=False)
    return distances, indices, seconds, False


def _predict(estimator: Pipeline, images: torch.Tensor, key: tuple, source: Dataset) -> tuple[torch.Tensor, float, bool]:
    """Predicted labels, the seconds a prediction costs (search included), and whether the search was reused."""
    distances, indices, search_seconds, reused = _neighbours(estimator, images, key, source)
    started = time.perf_counter()
    predictions = torch.as_tensor(estimator.steps[-1][1].predict_from_neighbors(distances, indices))
    return predictions, search_seconds + time.perf_counter() - started, reused


def run_knn(config: ExperimentConfig, source: Dataset, data: Dataset, validation: Split | None,
            device: torch.device) -> dict[str, Any]:
    """Fit on ``data.train`` (cut from ``source``), score the test split (and validation); results as plain data.

    The result also holds ``predict``, a function images -> labels, for robustness scores (not stored).
    """
    estimator = knn_pipeline(config.knn_options, device)
    started = time.perf_counter()
    estimator.fit(flatten_images(data.train.images), data.train.labels.numpy())
    fit_seconds = time.perf_counter() - started
    predictions, predict_seconds, reused = _predict(estimator, data.test.images, _search_key(config, source, "test"), source)
    result = score_split(predictions, data.test, data.num_classes)  # the scoring every kind of run shares
    val_accuracy = None
    if validation is not None:
        val_predictions, _, _ = _predict(estimator, validation.images, _search_key(config, source, "validation"), source)
        val_accuracy = accuracy(val_predictions, validation.labels)
    result["metrics"].update(
        val_accuracy=val_accuracy, fit_seconds=fit_seconds, train_seconds=fit_seconds, predict_seconds=predict_seconds,
        num_parameters=None, train_size=len(data.train), test_size=len(data.test), neighbors_reused=reused,
    )
    predict = lambda images: torch.as_tensor(estimator.predict(flatten_images(images)))  # noqa: E731
    return {**result, "history": [], "stopped_early": False, "checkpoint": None, "predict": predict}
