"""The machinery under every transform: dtype round trips, random draws, and sampling grids.

A geometric change is described backwards, as ``grid_sample`` wants it: for each output pixel,
where in the input to read. In pixel units centred on the image middle that is
``p_in = A @ p_out + t`` with one 2x2 ``A`` and offset ``t`` per image; :func:`affine_grid` turns
those into the normalised grid, so one ``grid_sample`` call moves the whole batch.
Coordinates: x to the right, y downwards (as images are drawn), both in pixels.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from digitlab.pixels import from_unit, to_float


def to_unit_float(images: torch.Tensor) -> torch.Tensor:
    """(N, H, W) uint8 or float images as float in [0, 1] (float64 stays float64, others float32)."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a torch.Tensor, got {type(images).__name__}")
    if images.ndim != 3:
        raise ValueError(f"images must be a batch (N, H, W), got shape {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        return to_float(images)
    if not images.is_floating_point():
        raise ValueError(f"images must be uint8 (0..255) or float (0..1), got dtype {images.dtype}")
    return images.to(torch.float64 if images.dtype == torch.float64 else torch.float32)


def like_input(result: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """``result`` (float in [0, 1]) back in the dtype of ``images``: uint8 rounds to the nearest level."""
    if images.dtype == torch.uint8:
        return from_unit(result)
    return result.to(images.dtype)


def make_generator(seed: int | None, generator: torch.Generator | None) -> torch.Generator:
    """The given generator, else a fresh CPU one seeded with ``seed`` (0 when None)."""
    if generator is not None:
        return generator
    return torch.Generator().manual_seed(0 if seed is None else int(seed))


def draw(kind: str, shape: tuple[int, ...], generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """Uniform [0, 1) (``kind="rand"``) or standard normal (``"randn"``) numbers on ``device``.

    They are drawn where the generator lives and then moved, so a CPU generator gives the same
    numbers whether the images are on the CPU or a GPU.
    """
    sampler = torch.rand if kind == "rand" else torch.randn
    return sampler(shape, generator=generator, device=generator.device).to(device)


def rotation_matrices(degrees: torch.Tensor) -> torch.Tensor:
    """(N,) angles -> (N, 2, 2) matrices turning a picture counter-clockwise as drawn (y down)."""
    radians = torch.deg2rad(degrees)
    cos, sin = torch.cos(radians), torch.sin(radians)
    # With y pointing down, [[c, s], [-s, c]] turns (1, 0) (right) into (0, -1) (up): counter-clockwise.
    return torch.stack([torch.stack([cos, sin], -1), torch.stack([-sin, cos], -1)], -2)


def inverse_similarity(degrees: torch.Tensor, factors: torch.Tensor, shifts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sampling ``(A, t)`` for "scale by factor, turn by degrees, then shift by (dx, dy)" per image.

    Forward ``p_out = R S p_in + T``, so ``p_in = (R S)^-1 (p_out - T)``; R and an isotropic S
    commute, hence ``(R S)^-1 = R(-degrees) / factor``. Shapes: (N,), (N,), (N, 2) -> (N, 2, 2), (N, 2).
    """
    matrices = rotation_matrices(-degrees) / factors[:, None, None]
    offsets = -(matrices @ shifts[:, :, None]).squeeze(-1)
    return matrices, offsets


def affine_grid(matrices: torch.Tensor, offsets: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Pixel-unit ``p_in = A p_out + t`` -> a normalised sampling grid (N, H, W, 2) for grid_sample."""
    # With align_corners=False a pixel is 2/W wide in normalised units: n = D p, D = diag(2/W, 2/H).
    to_normal = torch.tensor([2 / width, 2 / height], dtype=matrices.dtype, device=matrices.device)
    theta_matrix = matrices * to_normal[:, None] / to_normal[None, :]  # D A D^-1
    theta = torch.cat([theta_matrix, (offsets * to_normal)[:, :, None]], dim=2)  # (N, 2, 3)
    return F.affine_grid(theta, [len(matrices), 1, height, width], align_corners=False)


def identity_grid(count: int, height: int, width: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The grid (N, H, W, 2) that reads every pixel from where it already is."""
    eye = torch.eye(2, dtype=dtype, device=device).expand(count, 2, 2)
    return affine_grid(eye, torch.zeros(count, 2, dtype=dtype, device=device), height, width)


def sample(images: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Bilinear read of float (N, H, W) images at grid (N, H, W, 2); outside the image is 0 (background)."""
    moved = F.grid_sample(images[:, None], grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return moved[:, 0]


def gaussian_blur(fields: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur each (H, W) plane of (N, C, H, W) with a Gaussian of ``sigma`` pixels (zero beyond the edges).

    Blurring a row is a product with a banded (W, W) matrix of Gaussian weights; two batched
    matrix products (rows, then columns) beat a grouped convolution by far on CPUs.
    """
    height, width = fields.shape[-2:]

    def band(size: int) -> torch.Tensor:
        positions = torch.arange(size, dtype=fields.dtype, device=fields.device)
        weights = torch.exp(-0.5 * ((positions[:, None] - positions[None, :]) / sigma) ** 2)
        # Normalise as a full, untruncated kernel would be, so planes fade towards the edges (zero padding).
        return weights / (sigma * math.sqrt(2 * math.pi))

    return band(height) @ fields @ band(width)  # (H, H) @ (..., H, W) @ (W, W); both bands are symmetric


def elastic_grid(
    base: torch.Tensor, alpha: torch.Tensor, sigma: float, generator: torch.Generator,
) -> torch.Tensor:
    """``base`` grid (N, H, W, 2) plus a smooth random displacement of RMS ``alpha`` (N,) pixels.

    Simard et al. (2003): uniform noise per pixel and axis, blurred with a Gaussian of ``sigma``
    pixels. Each image's field is rescaled to unit root-mean-square length, so ``alpha`` reads as
    "pixels moved, typically" whatever ``sigma`` is.
    """
    count, height, width, _ = base.shape
    noise = draw("rand", (count, 2, height, width), generator, base.device).to(base.dtype) * 2 - 1
    field = gaussian_blur(noise, sigma)  # (N, 2, H, W), dx and dy planes
    rms = field.pow(2).sum(dim=1).mean(dim=(1, 2)).sqrt().clamp(min=torch.finfo(base.dtype).tiny)
    field = field / rms[:, None, None, None] * alpha.to(base.dtype)[:, None, None, None]
    to_normal = torch.tensor([2 / width, 2 / height], dtype=base.dtype, device=base.device)
    return base + field.permute(0, 2, 3, 1) * to_normal  # (N, H, W, 2), x then y as grid_sample wants
