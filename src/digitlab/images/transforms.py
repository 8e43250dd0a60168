"""Changed test sets: shift, rotate, scale, invert, add noise, distort — each with one strength knob.

Every transform takes a whole batch of images (N, H, W), uint8 (0..255) or float (0..1 as
``to_float`` gives), on any device, and returns a new batch of the same shape, dtype and device.
Geometry goes through one ``grid_sample`` call per batch; pixels moved in from outside the picture
are background (0). Random choices (shift directions, rotation signs, noise, distortion fields)
come from ``seed`` or a ``generator`` drawn on the CPU, so a seed gives the same images on CPU and GPU.

>>> from digitlab.images import apply, STRENGTHS                    # doctest: +SKIP
>>> for degrees in STRENGTHS["rotate"]:
...     turned = apply("rotate", mnist.test.images, degrees, seed=0)   # (10000, 28, 28) uint8
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import torch

from digitlab.i18n import current
from digitlab.images.grids import (
    affine_grid,
    draw,
    elastic_grid,
    identity_grid,
    inverse_similarity,
    like_input,
    make_generator,
    sample,
    to_unit_float,
)

DEFAULT_ELASTIC_SIGMA = 4.0  # pixels; Simard et al. (2003) found 4 gives digit-like, smooth warps on MNIST


def _finite(value: float, name: str, low: float = -math.inf, high: float = math.inf, low_open: bool = False) -> float:
    """``value`` as a float, or a ValueError naming it when it is not a finite number in range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if value < low or (low_open and value == low) or value > high:
        bounds = f"{'(' if low_open else '['}{low:g}, {high:g}]"
        raise ValueError(f"{name} must lie in {bounds}, got {value!r}")
    return float(value)


def _similarity(images: torch.Tensor, degrees: torch.Tensor, factors: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Scale, turn and shift each image (per-image parameters, (N,), (N,), (N, 2)) in one sampling pass."""
    unit = to_unit_float(images)
    count, height, width = unit.shape
    to_work = {"dtype": unit.dtype, "device": unit.device}
    matrices, offsets = inverse_similarity(degrees.to(**to_work), factors.to(**to_work), shifts.to(**to_work))
    return like_input(sample(unit, affine_grid(matrices, offsets, height, width)), images)


def shift(
    images: torch.Tensor, pixels: float | tuple[float, float], *, seed: int | None = 0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Move every image ``pixels`` far in its own random direction, or all by a fixed ``(dx, dy)``.

    ``dx`` is to the right and ``dy`` downwards; fractions of a pixel interpolate bilinearly.
    """
    count = len(images)
    if isinstance(pixels, tuple | list):
        if len(pixels) != 2:
            raise ValueError(f"a fixed shift is (dx, dy), got {pixels!r}")
        dx, dy = (_finite(value, "shift pixels") for value in pixels)
        shifts = torch.tensor([[dx, dy]]).expand(count, 2)
    else:
        magnitude = _finite(pixels, "shift pixels", low=0)
        directions = draw("rand", (count,), make_generator(seed, generator), torch.device("cpu")) * (2 * math.pi)
        shifts = magnitude * torch.stack([torch.cos(directions), torch.sin(directions)], dim=1)  # (N, 2)
    return _similarity(images, torch.zeros(count), torch.ones(count), shifts)


def rotate(
    images: torch.Tensor, degrees: float, *, random_sign: bool = True, seed: int | None = 0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Turn every image about its centre by ``degrees``: counter-clockwise as drawn when positive.

    With ``random_sign`` (the default, as in a robustness sweep) each image turns either way at
    random, so a sweep measures sensitivity to the angle, not to one direction.
    """
    angle = _finite(degrees, "rotate degrees", low=-360, high=360)
    count = len(images)
    angles = torch.full((count,), angle)
    if random_sign:
        coins = draw("rand", (count,), make_generator(seed, generator), torch.device("cpu"))
        angles = torch.where(coins < 0.5, -angles, angles)
    return _similarity(images, angles, torch.ones(count), torch.zeros(count, 2))


def scale(images: torch.Tensor, factor: float) -> torch.Tensor:
    """Zoom every image about its centre: ``factor`` 0.5 halves the digit, 1.2 enlarges it by a fifth."""
    zoom = _finite(factor, "scale factor", low=0, low_open=True)
    count = len(images)
    return _similarity(images, torch.zeros(count), torch.full((count,), zoom), torch.zeros(count, 2))


def invert(images: torch.Tensor, strength: float = 1.0) -> torch.Tensor:
    """Blend towards the negative: 0 leaves the images, 1 swaps ink and background, 0.5 is flat grey."""
    amount = _finite(strength, "invert strength", low=0, high=1)
    unit = to_unit_float(images)
    return like_input(unit + amount * (1 - 2 * unit), images)  # (1 - a) x + a (1 - x)


def noise(
    images: torch.Tensor, std: float, background: float = 0.0, *, seed: int | None = 0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Lift every pixel by ``background`` and add Gaussian noise of ``std`` (both in 0..1 units), clipped.

    A raised background mimics a grey photo or scan; the noise mimics sensor grain.
    """
    spread = _finite(std, "noise std", low=0)
    lift = _finite(background, "noise background", low=0, high=1)
    unit = to_unit_float(images)
    grain = draw("randn", tuple(unit.shape), make_generator(seed, generator), unit.device).to(unit.dtype)
    return like_input((unit + lift + spread * grain).clamp(0, 1), images)


def elastic(
    images: torch.Tensor, alpha: float, sigma: float = DEFAULT_ELASTIC_SIGMA, *, seed: int | None = 0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Warp each image by a smooth random field: pixels move ``alpha`` pixels (root mean square).

    ``sigma`` (pixels) is the field's smoothness: small values crumple strokes, large ones bend
    the whole digit. Simard, Steinkraus & Platt (2003), with the field normalised to RMS ``alpha``.
    """
    strength = _finite(alpha, "elastic alpha", low=0)
    smoothness = _finite(sigma, "elastic sigma", low=0, low_open=True)
    unit = to_unit_float(images)
    count, height, width = unit.shape
    base = identity_grid(count, height, width, unit.dtype, unit.device)
    amounts = torch.full((count,), strength, dtype=unit.dtype, device=unit.device)
    grid = elastic_grid(base, amounts, smoothness, make_generator(seed, generator))
    return like_input(sample(unit, grid), images)


Transform = Callable[[torch.Tensor, float, torch.Generator], torch.Tensor]

TRANSFORMS: dict[str, Transform] = {
    "shift": lambda images, pixels, generator: shift(images, pixels, generator=generator),
    "rotate": lambda images, degrees, generator: rotate(images, degrees, generator=generator),
    "scale": lambda images, factor, generator: scale(images, factor),
    "invert": lambda images, strength, generator: invert(images, strength),
    "noise": lambda images, std, generator: noise(images, std, generator=generator),
    "background": lambda images, level, generator: noise(images, 0.0, background=level, generator=generator),
    "elastic": lambda images, alpha, generator: elastic(images, alpha, generator=generator),
}
"""Name -> ``f(images, strength, generator)``; strength means what :data:`STRENGTH_LABELS` says."""

STRENGTHS: dict[str, tuple[float, ...]] = {
    "shift": (0, 1, 2, 3, 4, 5, 6),  # MNIST digits sit in a 20x20 box centred in 28x28: 4 px reaches the edge
    "rotate": (0, 5, 10, 15, 20, 30, 45),  # handwriting slants up to ~15 degrees; 45 is far outside it
    "scale": (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2),  # 1.2 already touches the border of the 28x28 frame
    "invert": (0, 0.25, 0.5, 0.75, 1.0),  # 1 = white digit on black becomes black on white
    "noise": (0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5),  # std in 0..1 pixel units
    "background": (0, 0.1, 0.2, 0.3, 0.4, 0.5),  # grey level added everywhere
    "elastic": (0, 0.5, 1, 1.5, 2, 3, 4),  # RMS displacement in pixels at sigma 4
}
"""Default sweep values per transform, ordered from mild to severe (identity included)."""

IDENTITY_STRENGTH: dict[str, float] = {name: 1.0 if name == "scale" else 0.0 for name in TRANSFORMS}
"""The strength that leaves images unchanged: the baseline of a sweep."""



def transform_name(name: str) -> str:
    """A transform's name in the current language (digitlab.i18n's ``transform.<name>``): 'verschuiving'."""
    return current()(f"transform.{name}")


def strength_label(name: str) -> str:
    """What a transform's strength means, in the current language (``strength.<name>``): an axis label."""
    return current()(f"strength.{name}")


def apply(name: str, images: torch.Tensor, strength: float, seed: int = 0) -> torch.Tensor:
    """Transform ``images`` with the transform called ``name`` at ``strength``, reproducibly from ``seed``."""
    if name not in TRANSFORMS:
        raise ValueError(f"unknown transform {name!r}; choose from {', '.join(TRANSFORMS)}")
    return TRANSFORMS[name](images, strength, torch.Generator().manual_seed(int(seed)))
