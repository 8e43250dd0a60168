"""The in-memory dataset: uint8 images and int64 labels as tensors, plus class names.

Everything downstream (models, k-NN, figures) starts from these tensors; float features, flat
vectors and one-hot targets come from :mod:`digitlab.datasets.features`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch


@dataclass(frozen=True)
class Split:
    """One split: ``images`` (N, H, W) uint8 and ``labels`` (N,) int64."""

    images: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 3:
            raise ValueError(f"images must be a (N, H, W) uint8 tensor, got {tuple(self.images.shape)} {self.images.dtype}")
        if self.labels.dtype != torch.int64 or self.labels.shape != self.images.shape[:1]:
            raise ValueError(
                f"labels must be a ({len(self.images)},) int64 tensor, got {tuple(self.labels.shape)} {self.labels.dtype}"
            )

    def __len__(self) -> int:
        return len(self.labels)

    def head(self, limit: int | None) -> Split:
        """The first ``limit`` examples (all when ``limit`` is None), as the notebook slices them."""
        if limit is None or limit >= len(self):
            return self
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        return Split(self.images[:limit], self.labels[:limit])

    def take(self, indices: torch.Tensor) -> Split:
        return Split(self.images[indices], self.labels[indices])

    def class_counts(self, num_classes: int) -> torch.Tensor:
        """(num_classes,) int64: how many examples carry each label."""
        return torch.bincount(self.labels, minlength=num_classes)


@dataclass(frozen=True)
class Dataset:
    """A dataset as digitlab uses it: train and test splits plus class names (index = label)."""

    name: str
    classes: tuple[str, ...]
    train: Split
    test: Split
    source: str = "memory"  # where the bytes came from, for logs and reports

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int]:
        return tuple(self.train.images.shape[1:])  # type: ignore[return-value]

    def limit(self, train: int | None = None, test: int | None = None) -> Dataset:
        """The same dataset cut to its first ``train`` / ``test`` examples (quick runs, tests)."""
        return replace(self, train=self.train.head(train), test=self.test.head(test))


def train_validation_split(split: Split, validation_size: int, seed: int = 0) -> tuple[Split, Split]:
    """Carve a seeded random validation set of ``validation_size`` examples out of ``split``.

    Tuning happens on validation data so the test set stays untouched until the final number.
    """
    if not 0 < validation_size < len(split):
        raise ValueError(f"validation_size must be between 1 and {len(split) - 1}, got {validation_size}")
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(split), generator=generator)
    return split.take(order[validation_size:]), split.take(order[:validation_size])
