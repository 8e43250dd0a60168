"""Why a k-NN answered what it did: its k nearest training images, their labels and distances, and the vote.

The k-NN is fitted by the one k-NN entry (:func:`digitlab.knn.fit_knn`); its last step's
``kneighbors`` finds the neighbours among the features the steps before it made (deskewed,
blurred, PCA-projected), so the distances are the ones the k-NN itself compared. With training
copies (shifted, zoomed) a neighbour may be a copy: the image shown is its original.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.pipeline import Pipeline

from digitlab.errors import DigitlabError
from digitlab.explain.scores import class_names
from digitlab.knn import KNNPipelineConfig, fit_knn, flatten_images, vote
from digitlab.knn.pipeline import classifier, features_before_search


@dataclass(frozen=True)
class FittedKNN:
    """A fitted k-NN pipeline with the training images it searches (to show the neighbours)."""

    pipeline: Pipeline
    config: KNNPipelineConfig
    train_images: torch.Tensor  # (n, H, W) uint8, the images it was fitted on
    train_labels: torch.Tensor  # (n,) int64
    classes: tuple[str, ...]  # index = label


@dataclass(frozen=True)
class NeighbourVotes:
    """One query's neighbours, nearest first, and how they voted."""

    indices: np.ndarray  # (k,) int64: positions in the training images
    labels: np.ndarray  # (k,) int64
    distances: np.ndarray  # (k,) float: in the k-NN's own feature space (after its preprocessing)
    images: np.ndarray  # (k, H, W) uint8: the neighbours as drawn
    weights: np.ndarray  # (k,) each neighbour's vote: 1 (uniform) or 1/distance ("distance")
    votes: np.ndarray  # (classes,) the summed votes per class
    classes: tuple[str, ...]

    @property
    def probabilities(self) -> np.ndarray:
        """Vote shares (classes,): what the k-NN's predict_proba says."""
        total = self.votes.sum()
        return self.votes / total if total > 0 else self.votes

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.votes))  # a tie goes to the lower class, as KNNClassifier.predict


def explainable_knn(train_images: torch.Tensor, train_labels: torch.Tensor, config: KNNPipelineConfig | None = None,
                    classes: tuple[str, ...] | None = None, device: str = "cpu") -> FittedKNN:
    """The k-NN of ``config`` (default: the default k-NN) fitted on (n, H, W) uint8 images, kept with them."""
    config = config or KNNPipelineConfig()
    labels = torch.as_tensor(train_labels, dtype=torch.long)
    pipeline = fit_knn(train_images, labels, config, device=device)
    return FittedKNN(pipeline, config, train_images, labels, class_names(classes, int(labels.max()) + 1))


def explain_knn(knn: FittedKNN, image: torch.Tensor | np.ndarray) -> NeighbourVotes:
    """The k nearest training images of one (H, W) uint8 image and their vote."""
    return explain_knn_many(knn, torch.as_tensor(np.asarray(image))[None])[0]


def explain_knn_many(knn: FittedKNN, images: torch.Tensor | np.ndarray) -> list[NeighbourVotes]:
    """:func:`explain_knn` for (N, H, W) uint8 images, with one search for all of them."""
    images = torch.as_tensor(np.asarray(images))
    if images.ndim != 3 or images.shape[1:] != knn.train_images.shape[1:]:
        raise DigitlabError(f"the k-NN was fitted on {tuple(knn.train_images.shape[1:])} images, not {tuple(images.shape)}")
    queries = flatten_images(images.numpy())  # (N, H*W)
    distances, found = classifier(knn.pipeline).kneighbors(features_before_search(knn.pipeline, queries))  # (N, k) each
    originals = np.asarray(found, dtype=np.int64) % len(knn.train_images)  # copy i // n of image i % n -> the original
    return [_votes(knn, row, far) for row, far in zip(originals, distances, strict=True)]


def _votes(knn: FittedKNN, indices: np.ndarray, distances: np.ndarray) -> NeighbourVotes:
    labels = knn.train_labels[torch.from_numpy(indices)]  # (k,)
    distances_t = torch.as_tensor(np.asarray(distances, dtype=np.float64))
    strength = vote(torch.arange(len(indices))[None], distances_t[None], knn.config.weights, len(indices))[0]  # (k,) one column each
    votes = vote(labels[None], distances_t[None], knn.config.weights, len(knn.classes))[0]  # (classes,)
    return NeighbourVotes(indices, labels.numpy(), distances_t.numpy(), knn.train_images[torch.from_numpy(indices)].numpy(),
                          strength.numpy(), votes.numpy(), knn.classes)
