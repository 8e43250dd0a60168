"""Random shifts of training images: a cheap augmentation that convolutional networks like.

A handwritten digit moved by a pixel or two is still the same digit; showing the network shifted
copies teaches it exactly that (the 'verplaatst' variant in Part II of the notebook).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_shift(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Shift each image of (N, H, W) by its own random offset in [-max_shift, max_shift] pixels.

    Pixels shifted in from outside are 0 (black background). The offsets are drawn on the CPU
    from ``generator``, so a seeded run shifts the same way on every device.
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
