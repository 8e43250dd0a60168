"""k-NN experiments: fit one config's k-NN pipeline and predict the test split (the runner scores it), reusing a search a caller's cache holds.

A lab grid over k x weighting x distance asks the same search (same data and distance) for every k
and both vote weightings. The neighbours do not depend on the weighting, and the k nearest are the
first k of an exact (distance, index)-sorted list of more, wherever the k-th and the next differ in
distance. So a search is made once for ``SEARCHED_NEIGHBORS`` (at least the run's k) and every run
of the grid votes on its first k: identical predictions, one search per distance instead of twenty.
Rows with (nearly) tied distances among their k+1 nearest are searched again for exactly k (scikit-learn's tie
order is not "lowest index first", see docs/knn.md), so the answer is always a fresh search's.

The reuse is explicit: the caller owns a :class:`NeighborCache` (one per grid) and passes it in; a
search is found again only under a digest of the very pixels and labels it was made on plus every
setting that decides the neighbours but k, so it is never handed to a run on other data.
``predict_seconds`` of a run that reused a search still counts that search (the time a prediction
costs, measured when it was made, for its larger k), plus any rows searched again and the vote; its
metrics say ``neighbors_reused``, ``searched_neighbors`` (the k searched) and ``rows_searched_again``.

A search also keeps the fitted pipeline that made it (for the ``KEPT_MODELS`` newest ones): a later
run of a plain search (no training copies, no distortion model) on the same data and settings but
k and weighting fits nothing; it takes that pipeline with its own k and weighting set, and says
``fit_reused`` (its ``fit_seconds`` are the reused fit's). Tied rows are searched again by that
pipeline too, whose index is built already.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from sklearn.pipeline import Pipeline

from digitlab.datasets import Dataset, Split
from digitlab.evaluation.metrics import accuracy
from digitlab.knn import flatten_images
from digitlab.knn.classifier import DEFAULT_BATCH_SIZE
from digitlab.knn.pipeline import KNNPipelineConfig, build_pipeline, classifier, features_before_search

KEPT_SEARCHES = 8  # searches a cache remembers (oldest dropped first); the lab's k-NN grid needs two (euclidean, cosine)
# Neighbours a reusable search finds, at least: the lab's grids ask k of 1..9. The pruned kernel takes
# 64 candidates for any k up to 32, so finding 9 costs about what finding 1 does.
SEARCHED_NEIGHBORS = 9
# Rows with two of their k+1 nearest this close (relative) are searched again: a fresh search hands rows tied
# within rounding to scikit-learn, whose order and last-bit distances (which 1/d votes weigh) the prefix need not
# share; searching a row again always gives the fresh answer, so a generous margin costs only a few searches.
NEAR_TIE_RTOL = 1e-4
KEPT_MODELS = 2  # fitted pipelines a cache holds on to (each holds its prepared training set: 0.2-0.6 GB on MNIST)


@dataclass(frozen=True)
class Search:
    """One neighbour search: (Q, K) distances and indices, nearest first, and the seconds it took."""

    distances: np.ndarray
    indices: np.ndarray
    seconds: float
    model: Pipeline | None = None  # the fitted pipeline that searched (dropped for all but the newest KEPT_MODELS)
    fit_seconds: float = 0.0  # how long fitting it took


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
        kept: list[Pipeline] = []
        for old_key in list(reversed(self._searches)):  # newest first: older entries let go of other pipelines
            model = self._searches[old_key].model
            if model is None or any(model is other for other in kept):
                continue
            if len(kept) < KEPT_MODELS:
                kept.append(model)
            else:
                self._searches[old_key] = replace(self._searches[old_key], model=None)

    def __len__(self) -> int:
        return len(self._searches)


def model_reusable(config: KNNPipelineConfig) -> bool:
    """Whether a fitted pipeline serves another k and weighting by setting them: a plain search."""
    return not config.distortion and config.shifts == 0 and config.zoom == 1


def prefix_reusable(config: KNNPipelineConfig) -> bool:
    """Whether a search for more neighbours answers this config's k by its prefix: a plain search
    (the image distortion model re-ranks its candidates, so its k nearest are not a prefix)."""
    return not config.distortion


def search_key(config: KNNPipelineConfig, train: Split, queries: torch.Tensor) -> str:
    """Digest of what decides a search: the reference images and labels, the query images, and every
    pipeline setting except the vote weighting (and k, where a longer list's prefix answers it).
    Equal keys mean equal neighbours."""
    settings = config.search_dict()
    if prefix_reusable(config):
        settings.pop("n_neighbors")
    digest = hashlib.blake2b(digest_size=20)
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for tensor in (train.images, train.labels, queries):
        digest.update(f"{tuple(tensor.shape)} {tensor.dtype};".encode())  # the same bytes in another shape differ
        digest.update(tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()


def _fitted(config: KNNPipelineConfig, data: Dataset, device: torch.device, cache: NeighborCache | None,
            test_key: str | None, batch_size: int) -> tuple[Pipeline, float, bool]:
    """The fitted pipeline, its fit seconds, and whether it is an earlier run's (same data and settings but k and weights)."""
    found = cache.get(test_key) if cache is not None and model_reusable(config) else None
    if found is not None and found.model is not None:
        classifier(found.model).set_params(n_neighbors=config.n_neighbors, weights=config.weights)
        return found.model, found.fit_seconds, True
    model = build_pipeline(config, device, batch_size)  # the batch size bounds the search's memory, not its result
    started = time.perf_counter()
    model.fit(flatten_images(data.train.images), data.train.labels.numpy())
    return model, time.perf_counter() - started, False


def _predict(model: Pipeline, config: KNNPipelineConfig, train: Split, images: torch.Tensor,
             cache: NeighborCache | None, key: str | None, fit_seconds: float) -> tuple[torch.Tensor, float, dict[str, Any]]:
    """Predicted labels, the seconds a prediction costs (search included), and how its neighbours were found.
    ``key`` is :func:`search_key` of this search (None without a cache)."""
    k = config.n_neighbors
    found = cache.get(key) if cache is not None else None
    reused = found is not None and found.indices.shape[1] >= k
    if not reused:
        searched = max(k, SEARCHED_NEIGHBORS) if cache is not None and prefix_reusable(config) else k
        searched = min(searched, len(train))
        started = time.perf_counter()
        distances, indices = classifier(model).kneighbors(features_before_search(model, flatten_images(images)), searched)
        found = Search(distances, indices, time.perf_counter() - started, model, fit_seconds)
        if cache is not None:
            cache.put(key, found)
    started = time.perf_counter()
    distances, indices, again = _first_k(found.model or model, images, found, k)
    predictions = torch.as_tensor(classifier(model).predict_from_neighbors(distances, indices))
    how = {"neighbors_reused": reused, "searched_neighbors": found.indices.shape[1], "rows_searched_again": again}
    return predictions, found.seconds + time.perf_counter() - started, how


def _first_k(model: Pipeline, images: torch.Tensor, found: Search, k: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The k nearest from a search for more: its first k, except rows with two of their k+1 nearest at equal or
    nearly equal distances (the choice and rounding among tied ones are the fresh search's, not the prefix's),
    which are searched again."""
    if found.indices.shape[1] == k:
        return found.distances, found.indices, 0
    distances, indices = found.distances[:, :k].copy(), found.indices[:, :k].copy()
    nearest = found.distances[:, : k + 1]
    tied = np.flatnonzero(np.isclose(nearest[:, :-1], nearest[:, 1:], rtol=NEAR_TIE_RTOL, atol=0).any(axis=1))
    if len(tied):
        features = features_before_search(model, flatten_images(images[torch.from_numpy(tied)]))
        distances[tied], indices[tied] = classifier(model).kneighbors(features, k)
    return distances, indices, len(tied)


def run_knn(settings: KNNPipelineConfig, data: Dataset, validation: Split | None, device: torch.device,
            cache: NeighborCache | None = None, batch_size: int = DEFAULT_BATCH_SIZE) -> dict[str, Any]:
    """Fit on ``data.train``, predict the test split (``predictions``, scored by the runner) and score validation.

    The result also holds ``predict``, a function images -> labels, for robustness scores (not stored;
    call it before the next run of the grid, which may set another k on the same pipeline).
    """
    # Hashing the training set costs about 0.1 s on MNIST: once per split, shared by the fit and the search lookups.
    test_key = search_key(settings, data.train, data.test.images) if cache is not None else None
    model, fit_seconds, fit_reused = _fitted(settings, data, device, cache, test_key, batch_size)
    predictions, predict_seconds, how = _predict(model, settings, data.train, data.test.images, cache, test_key, fit_seconds)
    val_accuracy = None
    if validation is not None:
        val_key = search_key(settings, data.train, validation.images) if cache is not None else None
        val_predictions, _, _ = _predict(model, settings, data.train, validation.images, cache, val_key, fit_seconds)
        val_accuracy = accuracy(val_predictions, validation.labels)
    metrics = dict(
        val_accuracy=val_accuracy, fit_seconds=fit_seconds, train_seconds=fit_seconds, predict_seconds=predict_seconds,
        num_parameters=None, train_size=len(data.train), test_size=len(data.test), fit_reused=fit_reused, **how,
    )
    predict = lambda images: torch.as_tensor(model.predict(flatten_images(images)))  # noqa: E731
    return {"metrics": metrics, "predictions": predictions, "history": [], "stopped_early": False, "checkpoint": None, "predict": predict}
