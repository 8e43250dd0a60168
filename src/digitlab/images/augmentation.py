"""Data augmentation for training: every batch gets fresh random shifts, turns, zooms and more.

An :class:`Augmenter` is called once per batch inside the training loop, on the batch's device:
the random scale, rotation and shift of every image (and an elastic warp when asked) are folded
into one sampling grid, so the whole batch moves in a single ``grid_sample``. A shift alone (no turn, zoom or warp)
by a whole number of pixels needs no resampling: every image is moved by its own whole-pixel offset in one gather
(:func:`digitlab.pixels.random_shift`), faster and without blurring the strokes. A pen's width
(``thickness``: grey dilation or erosion, blended per image), noise, inversion and left-right mirroring
(``mirror``: for clothing, whose mirror image is the same kind of garment; never for digits) follow as batch
operations. Nothing loops over images in Python.

>>> augment = Augmenter(kinds=parse_augment("shift,rotate"), seed=0)   # doctest: +SKIP
>>> for batch in batches:
...     inputs = augment(to_float(train.images[batch]).to(device))     # (B, 28, 28) float
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from digitlab.images.grids import (
    affine_grid,
    draw,
    elastic_grid,
    inverse_similarity,
    like_input,
    sample,
    to_unit_float,
)
from digitlab.pixels import random_shift

AUGMENT_KINDS = ("shift", "rotate", "scale", "elastic", "noise", "invert", "thickness", "mirror")
THICKNESS_KERNEL = 3  # grey dilation/erosion over 3x3 neighbours: the stroke grows or shrinks by one pixel a side
RESAMPLING_KINDS = frozenset({"rotate", "scale", "elastic"})  # these resample the batch; a shift then joins the same grid
NO_AUGMENTATION = frozenset({"", "none"})


def parse_augment(text: str) -> tuple[str, ...]:
    """``"shift, rotate"`` -> ``("shift", "rotate")``; ``""`` or ``"none"`` -> ``()``; unknown names fail.

    The kinds come in AUGMENT_KINDS' order, once each (the order does not change what an Augmenter does), so two
    texts asking the same write the same setting.
    """
    if text.strip().lower() in NO_AUGMENTATION:
        return ()
    names = [name.strip().lower() for name in text.split(",")]
    unknown = [name for name in names if name not in AUGMENT_KINDS]
    if unknown:
        raise ValueError(f"unknown augmentation {unknown[0]!r} in {text!r}; choose from {', '.join(AUGMENT_KINDS)} (comma separated)")
    return tuple(kind for kind in AUGMENT_KINDS if kind in names)


def whole_pixel_shifts(kinds: tuple[str, ...], max_shift: float) -> bool:
    """Whether 'shift' moves images by whole pixels (each offset uniform in -max_shift..max_shift): when nothing else
    resamples the batch and max_shift is a whole number; otherwise the shift is sub-pixel, inside the one grid."""
    return "shift" in kinds and not RESAMPLING_KINDS & set(kinds) and float(max_shift).is_integer()


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclass
class Augmenter:
    """Random per-image changes for training batches (a config: ``dataclasses.asdict`` stores it)."""

    kinds: tuple[str, ...] = ("shift", "rotate", "scale")  # which changes to apply; see AUGMENT_KINDS
    max_shift: float = 2.0  # pixels; dx and dy each uniform in [-max_shift, max_shift] (whole pixels: whole_pixel_shifts)
    max_degrees: float = 15.0  # rotation uniform in [-max_degrees, max_degrees]: handwriting's slant range
    scale_range: tuple[float, float] = (0.9, 1.1)  # zoom factor uniform in this range
    elastic_alpha: float = 1.0  # RMS displacement in pixels of the elastic warp
    elastic_sigma: float = 4.0  # smoothness of the warp in pixels (Simard et al. 2003)
    noise_std: float = 0.1  # each image gets Gaussian noise with std uniform in [0, noise_std] (0..1 units)
    invert_probability: float = 0.5  # chance that an image is swapped to its negative
    mirror_probability: float = 0.5  # 'mirror': chance that an image is flipped left to right
    max_thickness: float = 1.0  # 'thickness': strokes grow (> 0) or shrink by up to this many pixels a side, uniform
    seed: int = 0  # seeds the augmenter's own generator, used when a call passes none

    def __post_init__(self) -> None:
        if isinstance(self.kinds, str):
            self.kinds = parse_augment(self.kinds)
        self.kinds = tuple(self.kinds)
        parse_augment(",".join(self.kinds) or "none")  # same checks and messages as the CLI text
        low, high = self.scale_range
        settings = (self.max_shift, self.max_degrees, low, high, self.elastic_alpha, self.elastic_sigma,
                   self.noise_std, self.invert_probability, self.mirror_probability, self.max_thickness)
        _check(all(math.isfinite(value) for value in settings), f"augmentation settings must be finite numbers: {self}")
        _check(self.max_shift >= 0, f"max_shift must be >= 0 pixels, got {self.max_shift}")
        _check(0 <= self.max_degrees <= 180, f"max_degrees must lie in [0, 180], got {self.max_degrees}")
        _check(0 < low <= high, f"scale_range must be (low, high) with 0 < low <= high, got {self.scale_range}")
        _check(self.elastic_alpha >= 0, f"elastic_alpha must be >= 0 pixels, got {self.elastic_alpha}")
        _check(self.elastic_sigma > 0, f"elastic_sigma must be > 0 pixels, got {self.elastic_sigma}")
        _check(self.noise_std >= 0, f"noise_std must be >= 0, got {self.noise_std}")
        _check(0 <= self.invert_probability <= 1, f"invert_probability must lie in [0, 1], got {self.invert_probability}")
        _check(0 <= self.mirror_probability <= 1, f"mirror_probability must lie in [0, 1], got {self.mirror_probability}")
        _check(0 <= self.max_thickness <= 1, f"max_thickness must lie in [0, 1] pixels, got {self.max_thickness}")
        self.scale_range = (float(low), float(high))
        self._generator = torch.Generator().manual_seed(self.seed)  # not a field: configs stay plain data

    def __call__(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """A randomly changed copy of a batch: same shape, dtype and device.

        ``images`` is (N, H, W), (N, C, H, W) (all channels of an image get the same change) or flat (N, H*W) with a
        square side, uint8 or float in [0, 1]. Random numbers come from ``generator`` (pass one on
        the batch's device to draw there) or else from the augmenter's own seeded generator.
        """
        if not self.kinds:
            return images
        planes = self._as_planes(images)  # (M, H, W)
        repeats = 1 if images.ndim != 4 else images.shape[1]
        generator = self._generator if generator is None else generator
        unit = to_unit_float(planes)
        count = len(unit) // repeats
        if whole_pixel_shifts(self.kinds, self.max_shift) and repeats == 1:  # several channels of an image move together in the grid
            unit = random_shift(unit, int(self.max_shift), generator)
        elif RESAMPLING_KINDS & set(self.kinds) or "shift" in self.kinds:
            unit = sample(unit, self._grid(count, repeats, unit, generator))
        if "thickness" in self.kinds:
            unit = self._thickness(unit, count, repeats, generator)
        if "noise" in self.kinds:
            spread = draw("rand", (count,), generator, unit.device).to(unit.dtype) * self.noise_std
            grain = draw("randn", (count, *unit.shape[1:]), generator, unit.device).to(unit.dtype)
            unit = (unit + (spread[:, None, None] * grain).repeat_interleave(repeats, dim=0)).clamp(0, 1)
        if "invert" in self.kinds:
            flips = draw("rand", (count,), generator, unit.device) < self.invert_probability
            unit = torch.where(flips.repeat_interleave(repeats)[:, None, None], 1 - unit, unit)
        if "mirror" in self.kinds:
            mirrored = draw("rand", (count,), generator, unit.device) < self.mirror_probability
            unit = torch.where(mirrored.repeat_interleave(repeats)[:, None, None], unit.flip(-1), unit)
        return like_input(unit, planes).reshape(images.shape)

    def _grid(self, count: int, repeats: int, unit: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One sampling grid (M, H, W, 2) holding each image's random similarity and warp."""
        _, height, width = unit.shape
        work = {"dtype": unit.dtype, "device": unit.device}

        def uniform(low: float, high: float, shape: tuple[int, ...]) -> torch.Tensor:
            return low + (high - low) * draw("rand", shape, generator, unit.device).to(unit.dtype)

        degrees = uniform(-self.max_degrees, self.max_degrees, (count,)) if "rotate" in self.kinds else torch.zeros(count, **work)
        factors = uniform(*self.scale_range, (count,)) if "scale" in self.kinds else torch.ones(count, **work)
        shifts = uniform(-self.max_shift, self.max_shift, (count, 2)) if "shift" in self.kinds else torch.zeros(count, 2, **work)
        grid = affine_grid(*inverse_similarity(degrees, factors, shifts), height, width)  # (N, H, W, 2)
        if "elastic" in self.kinds:
            grid = elastic_grid(grid, torch.full((count,), self.elastic_alpha, **work), self.elastic_sigma, generator)
        return grid.repeat_interleave(repeats, dim=0)  # channels of one image move together

    def _thickness(self, unit: torch.Tensor, count: int, repeats: int, generator: torch.Generator) -> torch.Tensor:
        """A wider or finer pen per image: blend towards the grey dilation (t > 0) or erosion (t < 0) by |t|.

        A whole pixel a side is a big change for MNIST's 2-3 pixel strokes, so ``t`` is drawn
        uniform in [-max_thickness, max_thickness] and fractions blend (anti-aliased, like a scan).
        """
        pad = THICKNESS_KERNEL // 2
        planes = unit[:, None]  # (M, 1, H, W)
        dilated = F.max_pool2d(planes, THICKNESS_KERNEL, stride=1, padding=pad)[:, 0]
        eroded = -F.max_pool2d(-planes, THICKNESS_KERNEL, stride=1, padding=pad)[:, 0]
        amount = (2 * draw("rand", (count,), generator, unit.device).to(unit.dtype) - 1) * self.max_thickness  # (N,)
        amount = amount.repeat_interleave(repeats)[:, None, None]  # channels of one image get the same pen
        target = torch.where(amount > 0, dilated, eroded)
        return unit + amount.abs() * (target - unit)

    @staticmethod
    def _as_planes(images: torch.Tensor) -> torch.Tensor:
        """(N, H, W), (N, C, H, W) or (N, H*W) -> (M, H, W) planes, with a clear error otherwise."""
        if not isinstance(images, torch.Tensor):
            raise TypeError(f"images must be a torch.Tensor, got {type(images).__name__}")
        if images.ndim == 3:
            return images
        if images.ndim == 4:
            return images.reshape(-1, *images.shape[2:])
        if images.ndim == 2:
            side = math.isqrt(images.shape[1])
            _check(side * side == images.shape[1], f"flat images need a square number of pixels, got {images.shape[1]}")
            return images.reshape(-1, side, side)
        raise ValueError(f"images must be (N, H, W), (N, C, H, W) or (N, H*W), got shape {tuple(images.shape)}")
