"""THE k-NN pipeline: one typed config, one builder, used by the CLI, the lab, robustness scoring and the web app.

A :class:`KNNPipelineConfig` holds everything that decides a k-NN's predictions; :func:`build_pipeline`
turns it into a scikit-learn Pipeline of the steps in :mod:`digitlab.knn.transforms`, in a fixed order::

    Deskew -> Blur -> PCA -> KNNClassifier                          (no copies)
    Deskew -> Blur -> TrainingCopies(PCA -> KNNClassifier)          (shifts > 0 or zoom > 1)
    Deskew -> Blur -> DistortionRerank(PCA -> KNNClassifier)        (distortion > 0)

Every step is only there when asked for. The training copies (shifted, zoomed) sit after deskewing
(deskewing moves every digit's centre of mass to the middle, so it would undo a shift made before
it) and after blurring (blur and shift commute, so blurring the originals is 1/9 of the work).
The image distortion model re-ranks the ``candidates`` euclidean-nearest of the search under a
distance that lets each pixel move (:mod:`digitlab.knn.distortion`); it forgives shifts itself, so
it takes no training copies.

>>> config = KNNPipelineConfig(n_neighbors=3, weights="distance", deskew=True, pca=50)
>>> [name for name, _ in build_pipeline(config).steps]
['deskew', 'pca', 'knn']
>>> KNNPipelineConfig.from_dict(config.to_dict()) == config
True
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np
import torch
from sklearn.pipeline import Pipeline

from digitlab.errors import DigitlabError
from digitlab.knn.classifier import DEFAULT_BATCH_SIZE, WEIGHTS, KNNClassifier, flatten_images
from digitlab.knn.copies import TrainingCopies, copy_list
from digitlab.knn.distortion import DistortionRerank
from digitlab.knn.search import METRICS
from digitlab.knn.transforms import PCA, Blur, Deskew

# Deskewed pixels stay floats. Chosen on validation accuracy (5,000 images held out of MNIST's
# training set, see docs/knn.md "Deskewing"): rounding them back to 0..255 (so the exact int8
# kernel can run) cost accuracy or gained nothing, and int8 is not the fast kernel on every CPU.
DESKEW_ROUNDS_TO_PIXELS = False
# The training images a k-NN answers from outside the lab (serve, explain, robustness): 1/6 of MNIST fits in a
# second and answers an image in about a millisecond.
QUICK_TRAIN_LIMIT = 10_000


@dataclass(frozen=True)
class KNNPipelineConfig:
    """One k-NN setting: every choice that decides its predictions (the device only decides speed)."""

    n_neighbors: int = 3  # neighbours that vote: with distance votes the best k on MNIST's raw pixels (docs/knn.md)
    weights: str = "distance"  # "uniform" (one vote each) or "distance" (1/d votes: graded answers, not 0/33/67/100%)
    metric: str = "euclidean"  # euclidean, manhattan, cosine or minkowski
    p: float = 2  # Minkowski power, used when metric="minkowski"
    deskew: bool = False  # straighten slanted digits first (image moments), as in LeCun's table
    blur: float = 0.0  # Gaussian blur sigma in pixels after deskewing; 0 = no blur
    shifts: int = 0  # also store every training image shifted by up to this many pixels each way: (2s+1)^2 copies
    zoom: float = 1.0  # also store every training image enlarged and shrunk by this factor (2 copies); 1 = none
    pca: int = 0  # project onto this many principal components (fitted on the training images); 0 = raw pixels
    distortion: int = 0  # window radius of the image distortion model re-ranking; 0 = none
    candidates: int = 50  # euclidean-nearest training images the distortion model re-ranks (used when distortion > 0)

    def __post_init__(self) -> None:
        checks = [
            (isinstance(self.n_neighbors, int) and not isinstance(self.n_neighbors, bool) and self.n_neighbors >= 1,
             "n_neighbors", "a whole number of at least 1"),
            (self.weights in WEIGHTS, "weights", f"one of {', '.join(WEIGHTS)}"),
            (self.metric in METRICS, "metric", f"one of {', '.join(METRICS)}"),
            (isinstance(self.p, int | float) and not isinstance(self.p, bool) and self.p >= 1, "p", "a number of at least 1"),
            (isinstance(self.deskew, bool), "deskew", "true or false"),
            (isinstance(self.blur, int | float) and not isinstance(self.blur, bool) and self.blur >= 0, "blur", "a sigma >= 0 (0: none)"),
            (isinstance(self.shifts, int) and not isinstance(self.shifts, bool) and self.shifts >= 0, "shifts", "a whole number >= 0 (0: none)"),
            (isinstance(self.zoom, int | float) and not isinstance(self.zoom, bool) and self.zoom >= 1, "zoom", "a factor >= 1 (1: none)"),
            (isinstance(self.pca, int) and not isinstance(self.pca, bool) and self.pca >= 0, "pca", "a whole number >= 0 (0: raw pixels)"),
            (isinstance(self.distortion, int) and not isinstance(self.distortion, bool) and self.distortion >= 0,
             "distortion", "a window radius >= 0 (0: none)"),
            (isinstance(self.candidates, int) and not isinstance(self.candidates, bool) and self.candidates >= 1,
             "candidates", "a whole number of at least 1"),
            (not self.distortion or self.candidates >= self.n_neighbors,
             "candidates", f"at least n_neighbors ({self.n_neighbors}) when distortion > 0"),
            (not self.distortion or (self.shifts == 0 and self.zoom == 1), "distortion",
             "0 with shifts or zoom (the distortion model forgives shifts itself: use shifts=0, zoom=1)"),
        ]
        for ok, name, expected in checks:
            if not ok:
                raise DigitlabError(f"k-NN setting {name}={getattr(self, name)!r} is invalid: expected {expected}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KNNPipelineConfig:
        """From a dict such as the lab's ``knn_config``; unknown keys fail, naming the known ones."""
        known = [field.name for field in fields(cls)]
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise DigitlabError(f"unknown k-NN settings {unknown}; known: {', '.join(known)}")
        return cls(**data)

    def search_dict(self) -> dict[str, Any]:
        """The settings that decide which neighbours are found (all but the vote weighting)."""
        return {name: value for name, value in self.to_dict().items() if name != "weights"}

    def with_options(self, **changes: Any) -> KNNPipelineConfig:
        return replace(self, **changes)

    def label(self) -> str:
        """Short human-readable name, e.g. ``k=4 distance euclidean deskew blur=1 shifts=1 zoom=1.1 pca=50``."""
        metric = f"minkowski p={self.p:g}" if self.metric == "minkowski" else self.metric
        steps = [f"k={self.n_neighbors}", self.weights, metric, "deskew" if self.deskew else "",
                 f"blur={self.blur:g}" if self.blur else "", f"shifts={self.shifts}" if self.shifts else "",
                 f"zoom={self.zoom:g}" if self.zoom != 1 else "",
                 f"pca={self.pca}" if self.pca else "raw", f"idm r={self.distortion} M={self.candidates}" if self.distortion else ""]
        return " ".join(step for step in steps if step)

    def digest(self) -> str:
        # Without the distortion model its two settings change nothing, so they are left out: equal searches, equal digests.
        data = self.to_dict() if self.distortion else {k: v for k, v in self.to_dict().items() if k not in ("distortion", "candidates")}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


def fit_knn(images, labels, config: KNNPipelineConfig | None = None, device: str | torch.device = "auto",
            batch_size: int = DEFAULT_BATCH_SIZE) -> Pipeline:
    """The k-NN of ``config`` (default: :class:`KNNPipelineConfig`'s) fitted on (n, H, W) images and their labels."""
    labels = labels.numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    return build_pipeline(config or KNNPipelineConfig(), device, batch_size).fit(flatten_images(images), labels)


def build_pipeline(config: KNNPipelineConfig, device: str | torch.device = "auto",
                   batch_size: int = DEFAULT_BATCH_SIZE) -> Pipeline:
    """The scikit-learn Pipeline for ``config`` (unfitted); ``device`` and ``batch_size`` only decide speed."""
    steps: list[tuple[str, Any]] = []
    if config.deskew:
        steps.append(("deskew", Deskew(round_to_pixels=DESKEW_ROUNDS_TO_PIXELS)))
    if config.blur:
        steps.append(("blur", Blur(sigma=config.blur)))
    tail: list[tuple[str, Any]] = [("pca", PCA(config.pca))] if config.pca else []
    if config.distortion:
        finder = KNNClassifier(config.candidates, metric=config.metric, p=config.p, device=str(device), batch_size=batch_size)
        rerank = DistortionRerank(Pipeline([*tail, ("knn", finder)]) if tail else finder, n_neighbors=config.n_neighbors,
                                  weights=config.weights, radius=config.distortion, candidates=config.candidates)
        return Pipeline([*steps, ("rerank", rerank)])
    copies = len(copy_list(config.shifts, config.zoom))
    # With 11 copies of every training image a block of batch_size queries would score 11x the rows:
    # fewer queries per block keep the score block (batch_size x n_train x 4 bytes) as for plain pixels.
    knn = KNNClassifier(config.n_neighbors, weights=config.weights, metric=config.metric, p=config.p,
                        device=str(device), batch_size=max(1, batch_size // copies))
    if copies > 1:
        estimator = Pipeline([*tail, ("knn", knn)]) if tail else knn
        return Pipeline([*steps, ("copies", TrainingCopies(estimator, shift=config.shifts, zoom=config.zoom))])
    return Pipeline([*steps, *tail, ("knn", knn)])


def classifier(pipeline: Pipeline) -> KNNClassifier | TrainingCopies | DistortionRerank:
    """The last step: answers ``kneighbors`` and ``predict_from_neighbors`` on the features before it."""
    return pipeline.steps[-1][1]


def features_before_search(pipeline: Pipeline, X) -> Any:
    """``X`` through every fitted step before the classifier."""
    for _, step in pipeline.steps[:-1]:
        X = step.transform(X)
    return X
