"""k-NN experiments: fit, predict and score one config's k-NN pipeline, reusing a search a caller's cache holds.

A lab grid over k x weighting x distance asks the same search (same data, k and distance) once with
uniform votes and once with 1/d votes. The neighbours do not depend on the weighting, so the second
run can vote on the first one's neighbours: identical predictions, half the searches. The reuse is
explicit: the caller owns a :class:`NeighborCache` (one per grid) and passes it in; a search is
found again only under a digest of the very pixels and labels it was made on plus every setting that
decides the neighbours, so it is never handed to a run on other data. ``predict_seconds`` of a run
that reused a search still counts that search (the time a prediction costs), and its metrics say
``neighbors_reused``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.pipeline import Pipeline

from digitlab.datasets import Dataset, Split
from digitlab.evaluation.metrics import accuracy
from digitlab.evaluation.scores import score_split
from digitlab.experiments.config import ExperimentConfig
from digitlab.knn import flatten_images
from digitlab.knn.classifier import DEFAULT_BATCH_SIZE
from digitlab.knn.pipeline import KNNPipelineConfig, build_pipeline, classifier, features_before_search

KEPT_SEARCHES = 8  # searches a cache remembers (oldest dropped first); a weighting grid needs the last two


@dataclass(frozen=True)
class Search:
    """One neighbour search: (Q, k) distances and indices, and the seconds it took."""

    distances: np.ndarray
    indices: np.ndarray
    seconds: float


class NeighborCache:
    """Recent neighbour searches, keyed by :func:`search_key`; owned and passed in by whoever runs a grid."""

    def __init__(self, size: int = KEPT_SEARCHES) -> None:
        self.size = size
        self._searches: OrderedDict[str, Search] = OrderedDict()

    def get(self, key: str) -> Search | None:
        found = self._searches.get(key)
        if found is not None:
            self._searches.move_to_end(key)
        return found

    def put(self, key: str, search: Search) -> None:
        self._searches[key] = search
        while len(self._searches) > self.size:
            self._searches.popitem(last=False)

    def __len__(self) -> int:
        return len(self._searches)


def search_key(config: KNNPipelineConfig, train: Split, queries: torch.Tensor) -> str:
    """Digest of what decides a search: the reference images and labels, the query images, and every
    pipeline setting except the vote weighting. Equal keys mean equal neighbours."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(json.dumps(config.search_dict(), sort_keys=True).encode())
    for tensor in (train.images, train.labels, queries):
        digest.update(f"{tuple(tensor.shape)} {tensor.dtype};".encode())  # the same bytes in another shape differ
        digest.update(tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()


def knn_config(options: dict[str, Any]) -> KNNPipelineConfig:
    """An experiment's ``knn_options`` as the one k-NN config (unknown keys fail, naming the known ones)."""
    return KNNPipelineConfig.from_dict(options)


def _predict(model: Pipeline, config: KNNPipelineConfig, train: Split, images: torch.Tensor,
             cache: NeighborCache | None) -> tuple[torch.Tensor, float, bool]:
    """Predicted labels, the seconds a prediction costs (search included), and whether the search was reused."""
    key = search_key(config, train, images) if cache is not None else None
    found = cache.get(key) if cache is not None else None
    if found is None:
        started = time.perf_counter()
        distances, indices = classifier(model).kneighbors(features_before_search(model, flatten_images(images)))
        found = Search(distances, indices, time.perf_counter() - started)
        if cache is not None:
            cache.put(key, found)
        reused = False
    else:
        reused = True
    started = time.perf_counter()
    predictions = torch.as_tensor(classifier(model).predict_from_neighbors(found.distances, found.indices))
    return predictions, found.seconds + time.perf_counter() - started, reused


def run_knn(config: ExperimentConfig, data: Dataset, validation: Split | None, device: torch.device,
            cache: NeighborCache | None = None, batch_size: int = DEFAULT_BATCH_SIZE) -> dict[str, Any]:
    """Fit on ``data.train``, score the test split (and validation); results as plain data.

    The result also holds ``predict``, a function images -> labels, for robustness scores (not stored).
    """
    settings = knn_config(config.knn_options)
    model = build_pipeline(settings, device, batch_size)  # the batch size bounds the search's memory, not its result
    started = time.perf_counter()
    model.fit(flatten_images(data.train.images), data.train.labels.numpy())
    fit_seconds = time.perf_counter() - started
    predictions, predict_seconds, reused = _predict(model, settings, data.train, data.test.images, cache)
    result = score_split(predictions, data.test, data.num_classes)  # the scoring every kind of run shares
    val_accuracy = None
    if validation is not None:
        val_predictions, _, _ = _predict(model, settings, data.train, validation.images, cache)
        val_accuracy = accuracy(val_predictions, validation.labels)
    result["metrics"].update(
        val_accuracy=val_accuracy, fit_seconds=fit_seconds, train_seconds=fit_seconds, predict_seconds=predict_seconds,
        num_parameters=None, train_size=len(data.train), test_size=len(data.test), neighbors_reused=reused,
    )
    predict = lambda images: torch.as_tensor(model.predict(flatten_images(images)))  # noqa: E731
    return {**result, "history": [], "stopped_early": False, "checkpoint": None, "predict": predict}
