"""The torchinfo table of a network, as a string (the CLI prints it; the notebook shows the same)."""

from __future__ import annotations

import torchinfo
from torch import nn

IMAGE_SHAPE = (28, 28)


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
    return str(torchinfo.summary(model, input_size=(batch_size, *IMAGE_SHAPE), device=device, verbose=0))
