import math

import pytest
import torch

from digitlab.i18n import LANGUAGES, speaking
from digitlab.images import (
    IDENTITY_STRENGTH,
    STRENGTHS,
    TRANSFORMS,
    apply,
    elastic,
    invert,
    noise,
    rotate,
    scale,
    shift,
    strength_label,
    transform_name,
)
from digitlab.images.grids import elastic_grid, identity_grid

SIDE = 28


def _random_images(count: int = 20, dtype: torch.dtype = torch.uint8, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (count, SIDE, SIDE), generator=generator, dtype=torch.uint8)
    return images if dtype == torch.uint8 else images.to(dtype) / 255


def _blobs(count: int = 4, centre: tuple[float, float] = (13.5, 13.5), sigma: float = 2.0) -> torch.Tensor:
    """Gaussian spots (N, 28, 28) float64 at ``centre`` (x, y) in pixel-index coordinates."""
    positions = torch.arange(SIDE, dtype=torch.float64)
    spot = torch.exp(-((positions[None, :] - centre[0]) ** 2 + (positions[:, None] - centre[1]) ** 2) / (2 * sigma**2))
    return spot.expand(count, SIDE, SIDE).clone()


def _centre_of_mass(images: torch.Tensor) -> torch.Tensor:
    """(N, H, W) -> (N, 2) mass-weighted (x, y)."""
    positions = torch.arange(SIDE, dtype=images.dtype)
    mass = images.sum(dim=(1, 2))
    return torch.stack([(images.sum(dim=1) * positions).sum(1) / mass, (images.sum(dim=2) * positions).sum(1) / mass], dim=1)


def _spread(images: torch.Tensor) -> torch.Tensor:
    """Root-mean-square distance of the mass from its centre, per image."""
    positions = torch.arange(SIDE, dtype=images.dtype)
    centre = _centre_of_mass(images)
    squared = (positions[None, None, :] - centre[:, 0, None, None]) ** 2 + (positions[None, :, None] - centre[:, 1, None, None]) ** 2
    return ((images * squared).sum(dim=(1, 2)) / images.sum(dim=(1, 2))).sqrt()


@pytest.mark.parametrize("name", list(TRANSFORMS))
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.float64])
def test_every_transform_keeps_shape_dtype_and_range(name, dtype):
    images = _random_images(dtype=dtype)
    changed = apply(name, images, STRENGTHS[name][-1], seed=1)
    assert changed.shape == images.shape and changed.dtype == dtype and changed.device == images.device
    if dtype != torch.uint8:
        assert changed.min() >= 0 and changed.max() <= 1
    assert not torch.equal(changed, images)  # the strongest setting changes something


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_identity_strength_leaves_images_unchanged(name):
    images = _random_images()
    assert torch.equal(apply(name, images, IDENTITY_STRENGTH[name], seed=3), images)
    floats = _random_images(dtype=torch.float32)
    torch.testing.assert_close(apply(name, floats, IDENTITY_STRENGTH[name], seed=3), floats, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", ["shift", "rotate", "noise", "background", "elastic"])
def test_same_seed_same_images_other_seed_other_images(name):
    images = _random_images()
    strength = STRENGTHS[name][3]
    first, again, other = (apply(name, images, strength, seed=seed) for seed in (5, 5, 6))
    assert torch.equal(first, again)
    if name != "background":  # a background lift has no randomness to vary
        assert not torch.equal(first, other)


def test_registry_tables_cover_the_same_names():
    assert set(STRENGTHS) == set(IDENTITY_STRENGTH) == set(TRANSFORMS)
    for name, values in STRENGTHS.items():
        assert IDENTITY_STRENGTH[name] in values, name
    for lang in LANGUAGES:  # every transform has a name and an axis label in each language
        with speaking(lang):
            assert all(transform_name(name) and strength_label(name) for name in TRANSFORMS)


def test_fixed_shift_moves_the_centre_of_mass_by_exactly_that():
    blobs = _blobs()
    moved = shift(blobs, (3, -2))
    torch.testing.assert_close(_centre_of_mass(moved) - _centre_of_mass(blobs), torch.tensor([[3.0, -2.0]] * 4, dtype=torch.float64),
                               atol=0.02, rtol=0)
    half = shift(blobs, (0.5, 0))
    assert _centre_of_mass(half)[0, 0] - _centre_of_mass(blobs)[0, 0] == pytest.approx(0.5, abs=0.02)


@pytest.mark.parametrize("pixels", [1, 2.5, 4])
def test_random_shift_moves_every_image_by_the_magnitude_in_different_directions(pixels):
    blobs = _blobs(count=20)
    moves = _centre_of_mass(shift(blobs, pixels, seed=0)) - _centre_of_mass(blobs)
    torch.testing.assert_close(moves.norm(dim=1), torch.full((20,), float(pixels), dtype=torch.float64), atol=0.03, rtol=0)
    angles = torch.atan2(moves[:, 1], moves[:, 0])
    assert angles.max() - angles.min() > math.pi  # directions spread around the circle


def test_rotate_90_matches_rot90():
    images = _random_images(dtype=torch.float32)
    torch.testing.assert_close(rotate(images, 90, random_sign=False), torch.rot90(images, 1, dims=(1, 2)), atol=1e-5, rtol=0)
    torch.testing.assert_close(rotate(images, -90, random_sign=False), torch.rot90(images, -1, dims=(1, 2)), atol=1e-5, rtol=0)
    assert torch.equal(rotate(_random_images(), 180, random_sign=False), torch.rot90(_random_images(), 2, dims=(1, 2)))


def test_rotate_with_random_sign_turns_each_image_one_way_or_the_other():
    images = _random_images(count=30)
    turned = rotate(images, 90, seed=2)
    left = (turned == torch.rot90(images, 1, dims=(1, 2))).all(dim=(1, 2))
    right = (turned == torch.rot90(images, -1, dims=(1, 2))).all(dim=(1, 2))
    assert (left ^ right).all() and left.any() and right.any()


def test_rotation_keeps_a_centred_blob_in_place():
    blobs = _blobs(centre=(20.5, 13.5))  # right of centre: a quarter turn counter-clockwise puts it above
    torch.testing.assert_close(_centre_of_mass(rotate(blobs, 90, random_sign=False))[0], torch.tensor([13.5, 6.5], dtype=torch.float64),
                               atol=0.02, rtol=0)


@pytest.mark.parametrize("factor", [0.6, 1.5])
def test_scale_multiplies_the_spread_about_the_centre(factor):
    blobs = _blobs(sigma=2.5)
    zoomed = scale(blobs, factor)
    torch.testing.assert_close(_centre_of_mass(zoomed), _centre_of_mass(blobs), atol=0.02, rtol=0)
    assert (_spread(zoomed) / _spread(blobs)).tolist() == pytest.approx([factor] * 4, rel=0.03)


def test_invert_twice_is_identity_and_half_is_flat_grey():
    images = _random_images()
    assert torch.equal(invert(invert(images)), images)
    assert torch.equal(invert(images), 255 - images)
    floats = _random_images(dtype=torch.float32)
    torch.testing.assert_close(invert(invert(floats)), floats)
    torch.testing.assert_close(invert(floats, 0.5), torch.full_like(floats, 0.5))


def test_noise_statistics_and_background_lift():
    blank = torch.zeros(50, SIDE, SIDE)
    noisy = noise(blank, 0.1, background=0.5, seed=0)
    assert noisy.mean().item() == pytest.approx(0.5, abs=0.01)
    assert noisy.std().item() == pytest.approx(0.1, rel=0.05)
    images = _random_images(dtype=torch.float32)
    torch.testing.assert_close(noise(images, 0.0, background=0.2), (images + 0.2).clamp(max=1))
    assert noise(_random_images(), 0.0, background=1.0).eq(255).all()


def test_elastic_field_has_the_asked_rms_displacement():
    base = identity_grid(8, SIDE, SIDE, torch.float64, torch.device("cpu"))
    alpha = torch.tensor([0.5, 1, 2, 3, 0.5, 1, 2, 3], dtype=torch.float64)
    grid = elastic_grid(base, alpha, sigma=4.0, generator=torch.Generator().manual_seed(0))
    displacement = (grid - base) * SIDE / 2  # back to pixels
    rms = displacement.pow(2).sum(dim=-1).mean(dim=(1, 2)).sqrt()
    torch.testing.assert_close(rms, alpha)


def test_elastic_is_smooth_and_keeps_the_digit_near_its_place():
    blobs = _blobs(count=10)
    warped = elastic(blobs, 1.0, seed=0)
    assert (_centre_of_mass(warped) - _centre_of_mass(blobs)).norm(dim=1).max() < 2.5
    assert not torch.allclose(warped, blobs)


def test_a_batch_equals_its_images_done_one_by_one():
    images = _random_images(count=20, dtype=torch.float32)
    for transform in (lambda x: scale(x, 0.8), lambda x: rotate(x, 17, random_sign=False), lambda x: shift(x, (1.5, -2.25))):
        batched = transform(images)
        singles = torch.cat([transform(images[index : index + 1]) for index in range(len(images))])
        torch.testing.assert_close(batched, singles)


@pytest.mark.parametrize(("call", "message"), [
    (lambda x: apply("blur", x, 1), "unknown transform 'blur'"),
    (lambda x: shift(x, -1), r"shift pixels must lie in \[0, inf\]"),
    (lambda x: shift(x, (1,)), r"\(dx, dy\)"),
    (lambda x: shift(x, float("nan")), "finite"),
    (lambda x: rotate(x, float("inf")), "finite"),
    (lambda x: rotate(x, "10"), "rotate degrees must be a finite number, got '10'"),
    (lambda x: scale(x, 0), r"scale factor must lie in \(0, inf\], got 0"),
    (lambda x: invert(x, 1.5), "invert strength"),
    (lambda x: noise(x, -0.1), "noise std"),
    (lambda x: noise(x, 0.1, background=2), "noise background"),
    (lambda x: elastic(x, 1, sigma=0), "elastic sigma"),
    (lambda x: elastic(x, -1), "elastic alpha"),
    (lambda x: apply("shift", x[0], 1), r"\(N, H, W\)"),
    (lambda x: apply("shift", x.to(torch.int32), 1), "uint8"),
])
def test_bad_names_strengths_and_images_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call(_random_images(count=2))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_cuda_gives_the_cpu_result_on_the_gpu(name):
    images = _random_images(count=64, dtype=torch.float32)
    on_gpu = apply(name, images.cuda(), STRENGTHS[name][-2], seed=4)
    assert on_gpu.device.type == "cuda"
    torch.testing.assert_close(on_gpu.cpu(), apply(name, images, STRENGTHS[name][-2], seed=4), atol=1e-4, rtol=0)


@pytest.mark.realdata
def test_real_digits_shift_by_their_centre_of_mass():
    from digitlab.datasets import load

    images = load("mnist").test.images[:500]
    moves = _centre_of_mass(shift(images, (3, 0)).double()) - _centre_of_mass(images.double())
    # MNIST centres digits by mass in a 20x20 box, so 3 px never pushes ink out of the frame.
    torch.testing.assert_close(moves.mean(dim=0), torch.tensor([3.0, 0.0], dtype=torch.float64), atol=0.05, rtol=0)


def test_whole_pixel_shift_and_half_turn_are_exact_on_non_square_images():
    images = torch.randint(0, 256, (3, 20, 30), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    expected = torch.zeros_like(images)
    expected[:, 3:, 2:] = images[:, :-3, :-2]  # right by 2, down by 3, background fills in
    assert torch.equal(shift(images, (2, 3)), expected)
    assert torch.equal(rotate(images, 180, random_sign=False), torch.rot90(images, 2, dims=(1, 2)))
