import dataclasses
import json

import pytest
import torch

from digitlab.images import AUGMENT_KINDS, Augmenter, parse_augment, rotate

SIDE = 28


def _batch(count: int = 20, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(count, SIDE, SIDE, generator=generator)


def _centre_of_mass(images: torch.Tensor) -> torch.Tensor:
    positions = torch.arange(images.shape[-1], dtype=images.dtype)
    mass = images.sum(dim=(1, 2))
    return torch.stack([(images.sum(dim=1) * positions).sum(1) / mass, (images.sum(dim=2) * positions).sum(1) / mass], dim=1)


def test_parse_augment_accepts_lists_and_refuses_unknown_names():
    assert parse_augment("shift,rotate") == ("shift", "rotate")
    assert parse_augment(" Scale , shift,scale ") == ("shift", "scale")  # AUGMENT_KINDS' order: one text per setting
    assert parse_augment("") == parse_augment("none") == ()
    assert parse_augment(",".join(AUGMENT_KINDS)) == AUGMENT_KINDS
    with pytest.raises(ValueError, match="unknown augmentation 'rotation' in 'shift,rotation'; choose from shift, rotate"):
        parse_augment("shift,rotation")
    with pytest.raises(ValueError, match="unknown augmentation ''"):
        parse_augment("shift,,rotate")


@pytest.mark.parametrize("kinds", [(kind,) for kind in AUGMENT_KINDS] + [AUGMENT_KINDS])
@pytest.mark.parametrize("shape", [(20, SIDE, SIDE), (20, 1, SIDE, SIDE), (20, SIDE * SIDE)])
def test_every_kind_keeps_shape_dtype_and_range_and_changes_the_batch(kinds, shape):
    batch = _batch().reshape(shape)
    augmented = Augmenter(kinds=kinds, seed=0)(batch)
    assert augmented.shape == batch.shape and augmented.dtype == batch.dtype
    assert augmented.min() >= 0 and augmented.max() <= 1
    assert not torch.equal(augmented, batch)


def test_uint8_batches_stay_uint8():
    batch = (_batch() * 255).to(torch.uint8)
    augmented = Augmenter(kinds=("shift", "rotate", "noise"), seed=0)(batch)
    assert augmented.dtype == torch.uint8 and augmented.shape == batch.shape


def test_seeded_augmenters_repeat_and_successive_batches_differ():
    batch = _batch()
    first, second = Augmenter(seed=7), Augmenter(seed=7)
    one, two = first(batch), first(batch)
    assert torch.equal(one, second(batch)) and torch.equal(two, second(batch))
    assert not torch.equal(one, two)  # a fresh draw per call, as training needs
    assert not torch.equal(one, Augmenter(seed=8)(batch))
    generator = torch.Generator().manual_seed(1)
    from_generator = Augmenter(seed=7)(batch, torch.Generator().manual_seed(1))
    assert torch.equal(from_generator, Augmenter(seed=99)(batch, generator))  # the given generator wins


def test_no_kinds_or_zero_ranges_change_nothing():
    batch = _batch()
    assert torch.equal(Augmenter(kinds=())(batch), batch)
    still = Augmenter(kinds=("shift", "rotate", "scale", "elastic", "noise", "invert", "thickness"), max_shift=0, max_degrees=0,
                      scale_range=(1, 1), elastic_alpha=0, noise_std=0, invert_probability=0, max_thickness=0)
    torch.testing.assert_close(still(batch), batch, atol=1e-5, rtol=0)


def test_shifts_stay_within_max_shift_per_axis_and_use_the_range():
    positions = torch.arange(SIDE, dtype=torch.float64)
    spot = torch.exp(-((positions[None, :] - 13.5) ** 2 + (positions[:, None] - 13.5) ** 2) / 8)
    blobs = spot.expand(200, SIDE, SIDE).clone()
    moves = _centre_of_mass(Augmenter(kinds=("shift",), max_shift=3, seed=0)(blobs)) - 13.5
    assert moves.abs().max() <= 3 + 0.02
    assert moves.abs().max() > 2.5 and moves.mean(dim=0).abs().max() < 0.5  # spread over the range, centred


def test_a_shift_alone_moves_whole_pixels_as_pixels_random_shift_does_and_with_a_turn_moves_within_the_grid():
    from digitlab.pixels import random_shift

    batch = _batch()
    whole = Augmenter(kinds=("shift",), max_shift=1, seed=0)(batch)
    assert torch.equal(whole, random_shift(batch, 1, torch.Generator().manual_seed(0)))  # the CNN preset's random stream
    positions = torch.arange(SIDE, dtype=torch.float64)
    blobs = torch.exp(-((positions[None, :] - 13.5) ** 2 + (positions[:, None] - 13.5) ** 2) / 8).expand(50, SIDE, SIDE).clone()
    moves = _centre_of_mass(Augmenter(kinds=("shift", "scale"), max_shift=1, scale_range=(1, 1), seed=0)(blobs)) - 13.5
    assert (moves - moves.round()).abs().max() > 0.1  # sub-pixel: the shift joins the resampling


def test_rotations_turn_each_image_by_an_angle_within_the_range():
    # A blob right of centre: its angle about the centre after augmenting is the angle drawn for it.
    positions = torch.arange(SIDE, dtype=torch.float64)
    spot = torch.exp(-((positions[None, :] - 20.5) ** 2 + (positions[:, None] - 13.5) ** 2) / 4)
    blobs = spot.expand(100, SIDE, SIDE).clone()
    augmented = Augmenter(kinds=("rotate",), max_degrees=30, seed=3)(blobs)
    offset = _centre_of_mass(augmented) - 13.5
    angles = torch.rad2deg(torch.atan2(-offset[:, 1], offset[:, 0]))  # y points down: minus for counter-clockwise
    assert angles.abs().max() <= 30.5 and angles.min() < -20 and angles.max() > 20
    torch.testing.assert_close(offset.norm(dim=1), torch.full((100,), 7.0, dtype=torch.float64), atol=0.05, rtol=0)
    for index in range(3):  # and the picture is exactly rotate() at that angle
        expected = rotate(blobs[index : index + 1], float(angles[index]), random_sign=False)
        torch.testing.assert_close(augmented[index : index + 1], expected, atol=2e-3, rtol=0)


def test_mirror_flips_left_to_right_some_images_or_all():
    batch = _batch()
    torch.testing.assert_close(Augmenter(kinds=("mirror",), mirror_probability=1)(batch), batch.flip(-1))
    torch.testing.assert_close(Augmenter(kinds=("mirror",), mirror_probability=0)(batch), batch)
    some = Augmenter(kinds=("mirror",), seed=0)(batch)
    mirrored = torch.isclose(some, batch.flip(-1)).all(dim=(1, 2))
    kept = torch.isclose(some, batch).all(dim=(1, 2))
    assert (mirrored | kept).all() and mirrored.any() and kept.any()


def test_invert_probability_one_inverts_everything_and_channels_move_together():
    batch = _batch()
    torch.testing.assert_close(Augmenter(kinds=("invert",), invert_probability=1)(batch), 1 - batch)
    flips = Augmenter(kinds=("invert",), invert_probability=0.5, seed=0)(batch)
    inverted = torch.isclose(flips, 1 - batch).all(dim=(1, 2))
    assert inverted.any() and not inverted.all()
    two_channels = batch[:, None].expand(20, 2, SIDE, SIDE)
    augmented = Augmenter(kinds=AUGMENT_KINDS, seed=0)(two_channels)
    torch.testing.assert_close(augmented[:, 0], augmented[:, 1])


def test_thickness_moves_each_stroke_between_scipys_erosion_and_dilation():
    from scipy import ndimage

    bars = torch.zeros(40, SIDE, SIDE)
    bars[:, 6:22, 12:15] = 1.0  # a 3-pixel "1"
    bars[:, 6:9, 8:15] = 0.6  # and a fainter flag
    changed = Augmenter(kinds=("thickness",), max_thickness=1.0, seed=0)(bars)
    for original, pen in zip(bars.numpy(), changed.numpy(), strict=True):
        thinnest = ndimage.grey_erosion(original, size=3, mode="nearest")
        thickest = ndimage.grey_dilation(original, size=3, mode="nearest")
        assert (pen >= thinnest - 1e-6).all() and (pen <= thickest + 1e-6).all()
    mass = changed.sum(dim=(1, 2)) / bars[0].sum()
    assert (mass > 1.2).any() and (mass < 0.8).any()  # wider and finer pens both occur
    assert mass.max() <= 2.5 and mass.min() >= 0  # at most one pixel a side: 3 -> 5 pixels wide


def test_config_is_plain_data_and_accepts_text_kinds():
    augmenter = Augmenter(kinds="shift, elastic", max_shift=3, seed=5)
    assert augmenter.kinds == ("shift", "elastic")
    stored = json.loads(json.dumps(dataclasses.asdict(augmenter)))
    assert stored["kinds"] == ["shift", "elastic"] and stored["max_shift"] == 3 and stored["seed"] == 5
    restored = Augmenter(**{**stored, "kinds": tuple(stored["kinds"]), "scale_range": tuple(stored["scale_range"])})
    assert torch.equal(restored(_batch()), Augmenter(kinds="shift, elastic", max_shift=3, seed=5)(_batch()))


@pytest.mark.parametrize(("settings", "message"), [
    ({"kinds": ("shift", "blur")}, "unknown augmentation 'blur'"),
    ({"max_shift": -1}, "max_shift"),
    ({"max_degrees": 200}, "max_degrees"),
    ({"scale_range": (1.2, 0.8)}, "scale_range"),
    ({"scale_range": (0, 1)}, "scale_range"),
    ({"elastic_sigma": 0}, "elastic_sigma"),
    ({"noise_std": -0.5}, "noise_std"),
    ({"invert_probability": 2}, "invert_probability"),
    ({"max_thickness": 1.5}, "max_thickness"),
    ({"max_shift": float("nan")}, "finite"),
])
def test_bad_settings_are_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        Augmenter(**settings)


def test_bad_batches_are_refused():
    with pytest.raises(ValueError, match="square number of pixels, got 780"):
        Augmenter()(torch.rand(4, 780))
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        Augmenter()(torch.rand(4))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_augmenting_on_the_gpu_matches_the_cpu():
    batch = _batch(count=64)
    on_gpu = Augmenter(kinds=AUGMENT_KINDS, seed=0)(batch.cuda())
    assert on_gpu.device.type == "cuda"
    torch.testing.assert_close(on_gpu.cpu(), Augmenter(kinds=AUGMENT_KINDS, seed=0)(batch), atol=1e-4, rtol=0)
    cuda_generator = torch.Generator(device="cuda").manual_seed(0)
    assert Augmenter(kinds=AUGMENT_KINDS)(batch.cuda(), cuda_generator).device.type == "cuda"
