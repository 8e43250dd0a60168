"""Small pure helpers that turn uint8 images and int labels into what networks consume.

They follow the notebook's steps: ``ToTensor()`` scaling to [0, 1] (digitlab.pixels), flattening 28x28 to 784,
one-hot targets. Each is one line of torch; they exist so no caller re-derives the constants.
"""

from __future__ import annotations

import torch

from digitlab.pixels import to_float


def flatten(images: torch.Tensor) -> torch.Tensor:
    """(N, H, W) -> (N, H*W): one feature vector per image, as a fully connected layer wants."""
    return images.reshape(len(images), -1)


def one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(N,) int labels -> (N, num_classes) float32 one-hot rows; ``argmax`` undoes it."""
    return torch.nn.functional.one_hot(labels.long(), num_classes).to(torch.float32)


def to_features(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, H, W) -> float32 (N, H*W) in [0, 1]: the notebook's ``X_train``."""
    return flatten(to_float(images))
