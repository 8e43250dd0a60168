"""The torchinfo table of a network, as a string (the CLI prints it; the notebook shows the same)."""

from __future__ import annotations

import torchinfo
from torch import nn

DEFAULT_IMAGE_SHAPE = (28, 28)  # for networks from outside digitlab, whose config does not say


def input_shape(model: nn.Module) -> tuple[int, ...]:
    """The shape of one input image: (side, side) for a CNN, (H*W,) flattened for the fully connected ones."""
    config = getattr(model, "config", None)
    if hasattr(config, "image_size"):
        return (config.image_size, config.image_size)
    if hasattr(config, "input_size"):
        return (config.input_size,)
    return DEFAULT_IMAGE_SHAPE


def summary(model: nn.Module, batch_size: int | None = None) -> str:
    """``torchinfo.summary(model)``'s table; with ``batch_size`` also output shapes and mult-adds.

    Without a batch the table lists layers and parameter counts only, exactly as the notebook
    prints it (for ``ComplexNetwork``: 401,920 + 262,656 + 5,130 = 669,706 parameters).
    """
    if batch_size is None:
        return str(torchinfo.summary(model, verbose=0))
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    device = next(model.parameters()).device
    return str(torchinfo.summary(model, input_size=(batch_size, *input_shape(model)), device=device, verbose=0))
