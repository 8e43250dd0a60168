"""Pixels: uint8 <-> float, scaling and whole-pixel shifts. The only place that knows 255.

Images are stored and passed around as uint8 (0 = black background, 255 = full ink) and become
float only where a model or a numeric step needs them, scaled to [0, 1] exactly as torchvision's
``ToTensor()`` does. Whole-pixel shifts move images with zeros (background) moved in; they work on
torch tensors and numpy arrays alike, so training, k-NN's training copies and the CNN's test-time
views share them.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch
import torch.nn.functional as F

PIXEL_MAX = 255  # uint8 white: the largest pixel value, and the divisor that scales pixels to [0, 1]

Images = TypeVar("Images", torch.Tensor, np.ndarray)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels -> float32 in [0, 1] (``x / 255``, exactly as ``ToTensor()``)."""
    if images.dtype != torch.uint8:
        raise TypeError(f"expected uint8 pixels, got {images.dtype}")
    return images.to(torch.float32) / PIXEL_MAX


def to_unit(values: np.ndarray) -> np.ndarray:
    """Pixel values 0..255 (any numeric dtype) -> float32 in [0, 1]: the numpy side of :func:`to_float`."""
    return np.asarray(values, dtype=np.float32) / PIXEL_MAX


def to_uint8(values: Images) -> Images:
    """Values on the pixel scale 0..255 (float) -> uint8, rounded and clipped."""
    if isinstance(values, torch.Tensor):
        return values.round().clamp(0, PIXEL_MAX).to(torch.uint8)
    return np.clip(np.round(values), 0, PIXEL_MAX).astype(np.uint8)


def from_unit(values: Images) -> Images:
    """Float values in [0, 1] -> uint8 pixels, rounded and clipped: the inverse of :func:`to_float`."""
    return to_uint8(values * PIXEL_MAX)


def in_pixel_range(low: float, high: float) -> bool:
    """Whether values from ``low`` to ``high`` fit the pixel scale 0..255."""
    return 0 <= low and high <= PIXEL_MAX


def shift(images: Images, dy: int, dx: int) -> Images:
    """Images (..., H, W) moved ``dy`` pixels down and ``dx`` right (negative: up, left), zeros moved in; same dtype."""
    out = torch.zeros_like(images) if isinstance(images, torch.Tensor) else np.zeros_like(images)
    height, width = images.shape[-2:]
    out[..., max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)] = \
        images[..., max(-dy, 0) : height + min(-dy, 0), max(-dx, 0) : width + min(-dx, 0)]
    return out


def random_shift(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Shift each image of (N, H, W) by its own random offset in [-max_shift, max_shift] pixels, zeros moved in.

    The offsets are drawn on the CPU from ``generator``, so a seeded run shifts the same way on every device.
    One gather moves the whole batch: each output pixel reads its source in a zero-padded copy.
    """
    if max_shift == 0:
        return images
    count, height, width = images.shape
    padded = F.pad(images, (max_shift, max_shift, max_shift, max_shift))  # (N, H + 2s, W + 2s)
    offsets = torch.randint(0, 2 * max_shift + 1, (2, count), generator=generator).to(images.device)
    rows = offsets[0, :, None] + torch.arange(height, device=images.device)  # (N, H): source rows
    cols = offsets[1, :, None] + torch.arange(width, device=images.device)  # (N, W): source columns
    index = torch.arange(count, device=images.device)[:, None, None]
    return padded[index, rows[:, :, None], cols[:, None, :]]  # (N, H, W)
