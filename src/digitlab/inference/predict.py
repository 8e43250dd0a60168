"""Predictions from a trained network: class probabilities, labels and accuracy, in batches.

Works for every digitlab network whatever it outputs: logits go through softmax; the notebook's
softmax outputs already are probabilities; the notebook's sigmoid outputs (ten independent values
in (0, 1)) are divided by their sum so that each row adds up to 1.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from digitlab.datasets import Split
from digitlab.pixels import to_float

DEFAULT_BATCH = 2048  # images per forward pass: large enough to be fast, small enough for any memory


def as_float_images(images: torch.Tensor | np.ndarray) -> torch.Tensor:
    """uint8 pixels or floats in [0, 1], one image or a batch (a tensor or a numpy array) -> float32 (N, H, W) in [0, 1]."""
    images = torch.as_tensor(images)  # a numpy array (the web's drawings) is shared, not copied
    if images.ndim == 2:
        images = images.unsqueeze(0)  # one (H, W) image -> a batch of one
    if images.ndim != 3:
        raise ValueError(f"images must be (N, H, W) or (H, W), got shape {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        return to_float(images)
    if not images.is_floating_point():
        raise ValueError(f"images must be uint8 pixels or floats in [0, 1], got {images.dtype}")
    if len(images) and (images.min() < 0 or images.max() > 1):
        raise ValueError(f"float images must lie in [0, 1], got values in [{float(images.min()):g}, {float(images.max()):g}]; "
                         "divide 0-255 pixels by 255 or pass them as uint8")
    return images.to(torch.float32)


def _device_of(model: nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


@torch.no_grad()
def predict_outputs(model: nn.Module, images: torch.Tensor | np.ndarray, batch_size: int = DEFAULT_BATCH) -> torch.Tensor:
    """The network's raw outputs (N, C) on the CPU, computed in eval mode batch by batch."""
    device = _device_of(model)
    # Dropout off, BatchNorm on its running statistics. Switching walks every submodule, which costs
    # more than a one-image forward pass: a model already in eval mode (a server's) is left alone.
    training = [module for module in model.modules() if module.training]
    for module in training:
        module.eval()
    # A network that scores several views of each image (the CNN's test-time views) runs them in one batch:
    # fewer images per pass keep the pass at ``batch_size`` images, and its memory where it was.
    step = max(1, batch_size // getattr(model, "views", 1))
    try:
        outputs = [
            model(as_float_images(images[start:start + step]).to(device)).float().cpu()
            for start in range(0, len(images), step)
        ]
    finally:
        for module in training:
            module.train()
    classes = getattr(getattr(model, "config", None), "num_classes", 0)
    return torch.cat(outputs) if outputs else torch.empty(0, classes)


def to_probabilities(outputs: torch.Tensor, kind: str) -> torch.Tensor:
    """Rows that sum to 1 from a network's outputs of kind "logits", "softmax" or "sigmoid"."""
    if kind == "logits":
        return torch.softmax(outputs, dim=1)
    if kind == "softmax":
        return outputs
    if kind == "sigmoid":
        return outputs / outputs.sum(dim=1, keepdim=True)
    raise ValueError(f"unknown output kind {kind!r}; expected logits, softmax or sigmoid")


def predict_proba(model: nn.Module, images: torch.Tensor | np.ndarray, batch_size: int = DEFAULT_BATCH) -> torch.Tensor:
    """(N, C) class probabilities on the CPU for (N, 28, 28) images (uint8, or float in [0, 1])."""
    kind = getattr(model, "outputs", "logits")  # networks from outside digitlab: assume logits
    return to_probabilities(predict_outputs(model, images, batch_size), kind)


def predict_labels(model: nn.Module, images: torch.Tensor, batch_size: int = DEFAULT_BATCH) -> torch.Tensor:
    """(N,) int64 predicted classes: the argmax of the outputs (the same for every output kind)."""
    return predict_outputs(model, images, batch_size).argmax(dim=1)


def split_accuracy(model: nn.Module, split: Split, batch_size: int = DEFAULT_BATCH) -> float:
    """Fraction of ``split`` classified correctly (micro accuracy: every image counts once)."""
    if len(split) == 0:
        raise ValueError("cannot measure accuracy on an empty split")
    predicted = predict_labels(model, split.images, batch_size)
    return float((predicted == split.labels.cpu()).double().mean())
