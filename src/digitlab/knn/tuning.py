"""Evaluate, tune and time k-NN settings on a Dataset's splits; results are plain data (dicts).

- :func:`evaluate`: fit one :class:`~digitlab.knn.pipeline.KNNPipelineConfig` on a training split,
  predict a test split, time both.
- :func:`search`: a grid over k, weights, metric, deskew, blur, shifted/zoomed copies and PCA size, scored
  on validation data carved from the training split (never the test split). The neighbours of each
  feature space are found once for the largest k and every smaller k and both weightings are read
  off them (the k first of the (distance, index) order are the k nearest), so the grid costs one
  search per (deskew, blur, shifts, zoom, PCA, metric), not per k.
- :func:`scaling`: predict time against training-set size and against pixels per image.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from digitlab.datasets import Split, flatten, train_validation_split
from digitlab.knn.classifier import DEFAULT_BATCH_SIZE, vote
from digitlab.knn.copies import copy_list
from digitlab.knn.pipeline import KNNPipelineConfig, build_pipeline, classifier, features_before_search
from digitlab.pixels import to_uint8

VALIDATION_SIZE = 10_000  # images carved from the training set to score each setting: as many as MNIST's test set
PIXEL_SCALING_TRAIN = 10_000  # training images resized per image side when timing the cost of pixels

Progress = Callable[[int, int, str], None]  # (done, total, what is running now)


@dataclass
class Evaluation:
    """What one fit-and-predict measured."""

    config: KNNPipelineConfig
    accuracy: float
    fit_seconds: float
    predict_seconds: float
    n_train: int
    n_test: int
    predictions: torch.Tensor = field(repr=False)  # (n_test,) int64
    targets: torch.Tensor = field(repr=False)  # (n_test,) int64, the test labels


def features(split: Split) -> np.ndarray:
    """(N, H*W) uint8 rows of a split's images: what every pipeline here takes."""
    return flatten(split.images).numpy()


def evaluate(config: KNNPipelineConfig, train: Split, test: Split, device: str = "auto",
             batch_size: int = DEFAULT_BATCH_SIZE) -> Evaluation:
    """Fit ``config`` on ``train``, predict ``test``; wall-clock seconds of each step."""
    model = build_pipeline(config, device, batch_size)
    started = time.perf_counter()
    model.fit(features(train), train.labels.numpy())
    fitted = time.perf_counter()
    predictions = torch.from_numpy(np.asarray(model.predict(features(test)), dtype=np.int64))
    done = time.perf_counter()
    accuracy = (predictions == test.labels).double().mean().item()
    return Evaluation(config, accuracy, fitted - started, done - fitted, len(train), len(test), predictions, test.labels)


@dataclass(frozen=True)
class Grid:
    """The settings :func:`search` tries: every combination of these."""

    ks: tuple[int, ...] = tuple(range(1, 16))  # the k = 1..15
    weights: tuple[str, ...] = ("uniform", "distance")
    metrics: tuple[str, ...] = ("euclidean", "cosine")  # manhattan is slow on raw pixels: opt in
    pcas: tuple[int, ...] = (0, 30, 50)  # 0 = raw pixels
    deskews: tuple[bool, ...] = (False, True)
    blurs: tuple[float, ...] = (0.0,)  # Gaussian sigmas; 0 = no blur (opt in: --blurs 0,1)
    shifts: tuple[int, ...] = (0,)  # shifted training copies; each step multiplies the search (opt in: --shifts 0,1)
    zooms: tuple[float, ...] = (1.0,)  # zoomed training copies, 1 = none (opt in: --zooms 1,1.1)
    distortions: tuple[int, ...] = (0,)  # image distortion model window radii, 0 = none (opt in: --distortions 0,1)
    candidates: tuple[int, ...] = (50,)  # euclidean-nearest candidates the distortion model re-ranks

    def feature_spaces(self) -> list[KNNPipelineConfig]:
        """One config per search to run (k and weights are read off its neighbours)."""
        # The distortion model takes no training copies, and the candidate count only matters with it.
        reranks = [(0, KNNPipelineConfig.candidates)] if 0 in self.distortions else []
        reranks += [(radius, m) for radius in self.distortions if radius for m in self.candidates]
        return [KNNPipelineConfig(n_neighbors=min(KNNPipelineConfig.n_neighbors, m), metric=metric, deskew=deskew, blur=blur,
                                  shifts=shift, zoom=zoom, pca=pca or 0, distortion=radius, candidates=m)
                for deskew in self.deskews for blur in self.blurs for shift in self.shifts for zoom in self.zooms
                for pca in self.pcas for metric in self.metrics for radius, m in reranks
                if not radius or (shift == 0 and zoom == 1)]

    def size(self) -> int:
        return len(self.feature_spaces()) * len(self.ks) * len(self.weights)


def search(
    train: Split,
    grid: Grid = Grid(),
    validation_size: int = VALIDATION_SIZE,
    folds: int = 1,
    seed: int = 0,
    device: str = "auto",
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> list[dict]:
    """Validation accuracy of every setting in ``grid``, one dict per setting, best first.

    ``folds=1`` scores on one seeded validation split of ``validation_size`` examples; ``folds>1``
    runs K-fold cross-validation over ``train`` (``validation_size`` is then unused). Each dict holds
    the setting's :class:`KNNPipelineConfig` fields plus ``accuracy`` (mean over folds),
    ``accuracy_std`` and ``predict_seconds``: the time to transform the validation rows and search
    their neighbours, shared by every k and weighting of one feature space.
    """
    splits = _folds(train, validation_size, folds, seed)
    spaces = grid.feature_spaces()
    total, done = len(splits) * len(spaces), 0
    scores: dict[KNNPipelineConfig, list[float]] = {}
    seconds: dict[KNNPipelineConfig, list[float]] = {}
    for fit_part, validation in splits:
        for space in spaces:
            if progress:
                progress(done, total, space.label().split(" ", 2)[2])  # without k and weights
            results, search_seconds = _score_space(space, fit_part, validation, grid, device, batch_size)
            for config, accuracy in results.items():
                scores.setdefault(config, []).append(accuracy)
                seconds.setdefault(config, []).append(search_seconds)
            done += 1
    if progress:
        progress(done, total, "done")
    rows = [
        {**config.to_dict(), "accuracy": float(np.mean(scores[config])), "accuracy_std": float(np.std(scores[config])),
         "predict_seconds": float(np.mean(seconds[config])), "n_validation": len(splits[0][1]), "folds": len(splits)}
        for config in scores
    ]
    return sorted(rows, key=lambda row: (-row["accuracy"], row["predict_seconds"], row["n_neighbors"]))


def best_config(rows: Sequence[dict]) -> KNNPipelineConfig:
    """The setting of the best row of :func:`search` (highest accuracy, then fastest, then smallest k)."""
    return row_config(rows[0])


def row_config(row: dict) -> KNNPipelineConfig:
    """The setting a row of :func:`search` scored (its other keys are measurements)."""
    return KNNPipelineConfig.from_dict({name: row[name] for name in KNNPipelineConfig.__dataclass_fields__})


def _folds(train: Split, validation_size: int, folds: int, seed: int) -> list[tuple[Split, Split]]:
    if folds < 1:
        raise ValueError(f"folds must be at least 1, got {folds}")
    if folds == 1:
        return [train_validation_split(train, validation_size, seed)]
    if folds > len(train):
        raise ValueError(f"folds ({folds}) cannot exceed the training examples ({len(train)})")
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))
    parts = order.tensor_split(folds)
    return [(train.take(torch.cat([p for j, p in enumerate(parts) if j != i])), train.take(parts[i])) for i in range(folds)]


def _score_space(space: KNNPipelineConfig, fit_part: Split, validation: Split, grid: Grid, device: str,
                 batch_size: int) -> tuple[dict, float]:
    """Accuracy of every (k, weights) of the grid in one feature space, and the seconds the validation
    rows took to transform and search (what predicting them costs)."""
    k_max = min(max(grid.ks), len(fit_part) * len(copy_list(space.shifts, space.zoom)))
    if space.distortion:  # the vote is among the re-ranked candidates
        k_max = min(k_max, space.candidates)
    model = build_pipeline(space.with_options(n_neighbors=k_max), device, batch_size).fit(features(fit_part), fit_part.labels.numpy())
    started = time.perf_counter()
    distances, indices = classifier(model).kneighbors(features_before_search(model, features(validation)))
    elapsed = time.perf_counter() - started
    classes, encoded = np.unique(fit_part.labels.numpy(), return_inverse=True)
    # A training copy's index i is copy i // n of training image i % n (see TrainingCopies.kneighbors).
    labels = torch.from_numpy(encoded.astype(np.int64).ravel())[torch.from_numpy(indices % len(fit_part))]  # (Q, k_max)
    distances, classes = torch.from_numpy(distances), torch.from_numpy(classes)
    results = {}
    for k in (k for k in grid.ks if k <= k_max):
        for weights in grid.weights:
            winners = vote(labels[:, :k], distances[:, :k], weights, len(classes)).argmax(dim=1)
            results[space.with_options(n_neighbors=k, weights=weights)] = (classes[winners] == validation.labels).double().mean().item()
    return results, elapsed


def scaling(
    config: KNNPipelineConfig,
    train: Split,
    test: Split,
    sizes: Sequence[int],
    image_sides: Sequence[int] = (),
    repeats: int = 3,
    device: str = "auto",
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> list[dict]:
    """Predict seconds (the fastest of ``repeats``) of ``config`` per training size, then per image side.

    Rows have ``kind`` "train_size" (the first ``x`` training images) or "pixels" (all of ``train``
    resized to side x side = ``x`` pixels, bilinear, rounded back to uint8).
    """
    jobs = [("train_size", n, train.head(n), test) for n in sizes]
    jobs += [("pixels", side * side, _resized(train, side), _resized(test, side)) for side in image_sides]
    rows = []
    for done, (kind, x, fit_split, test_split) in enumerate(jobs):
        if progress:
            progress(done, len(jobs), f"{kind}={x}")
        model = build_pipeline(config, device, batch_size).fit(features(fit_split), fit_split.labels.numpy())
        queries = features(test_split)
        timings = []
        for _ in range(repeats):  # the fastest run is the least disturbed by other work on the machine
            started = time.perf_counter()
            predictions = np.asarray(model.predict(queries), dtype=np.int64)
            timings.append(time.perf_counter() - started)
        accuracy = float((predictions == test_split.labels.numpy()).mean())
        rows.append({"kind": kind, "x": x, "n_train": len(fit_split), "n_test": len(test_split),
                     "pixels": test_split.images[0].numel(), "predict_seconds": min(timings), "accuracy": accuracy})
    if progress:
        progress(len(jobs), len(jobs), "done")
    return rows


def fit_line(xs: Sequence[float], ys: Sequence[float]) -> dict:
    """Least-squares line y = slope x + intercept, and the log-log exponent (1 means proportional)."""
    x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    slope, intercept = np.polyfit(x, y, 1)
    positive = (x > 0) & (y > 0)
    exponent = np.polyfit(np.log(x[positive]), np.log(y[positive]), 1)[0] if positive.sum() >= 2 else float("nan")
    return {"slope": float(slope), "intercept": float(intercept), "exponent": float(exponent)}


def _resized(split: Split, side: int) -> Split:
    images = F.interpolate(split.images.unsqueeze(1).float(), size=(side, side), mode="bilinear", align_corners=False)
    return Split(to_uint8(images.squeeze(1)), split.labels)
