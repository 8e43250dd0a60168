import numpy as np
import pytest
import torch

from digitlab.pixels import PIXEL_MAX, from_unit, in_pixel_range, random_shift, shift, to_float, to_uint8, to_unit


def test_to_float_matches_totensor_scaling():
    images = torch.arange(256, dtype=torch.uint8).reshape(1, 16, 16)
    scaled = to_float(images)
    assert scaled.dtype == torch.float32
    assert scaled.min() == 0 and scaled.max() == 1
    torch.testing.assert_close(scaled[0, 0, 1], torch.tensor(1 / 255))


def test_to_float_refuses_floats():
    with pytest.raises(TypeError, match="uint8"):
        to_float(torch.zeros(1, 2, 2))


@pytest.mark.parametrize("kind", ["torch", "numpy"])
def test_unit_and_uint8_round_trip_every_level_and_clip(kind):
    levels = torch.arange(256, dtype=torch.uint8)
    values = to_float(levels) if kind == "torch" else to_unit(levels.numpy())
    back = from_unit(values)
    assert back.dtype == (torch.uint8 if kind == "torch" else np.uint8)
    assert back.tolist() == list(range(256))
    outside = torch.tensor([-3.0, 0.4, 0.6, 300.0])
    outside = outside if kind == "torch" else outside.numpy()
    assert to_uint8(outside).tolist() == [0, 0, 1, PIXEL_MAX]


def test_in_pixel_range():
    assert in_pixel_range(0, 255) and not in_pixel_range(-1, 3) and not in_pixel_range(0, 256)


@pytest.mark.parametrize("kind", ["torch", "numpy"])
def test_shift_moves_zeros_in_and_keeps_dtype(kind):
    image = np.arange(1, 10, dtype=np.uint8).reshape(1, 3, 3)
    image = torch.from_numpy(image) if kind == "torch" else image
    assert shift(image, 1, 0)[0].tolist() == [[0, 0, 0], [1, 2, 3], [4, 5, 6]]
    assert shift(image, 0, -1)[0].tolist() == [[2, 3, 0], [5, 6, 0], [8, 9, 0]]
    assert shift(image, -1, 2)[0].tolist() == [[0, 0, 4], [0, 0, 7], [0, 0, 0]]
    assert shift(image, 5, 0).sum() == 0  # moved out entirely
    assert shift(image, 0, 0).dtype == image.dtype


def test_random_shift_is_a_whole_pixel_shift_per_image():
    images = torch.randint(1, 256, (50, 6, 6), dtype=torch.uint8)
    moved = random_shift(images, 2, torch.Generator().manual_seed(0))
    for original, result in zip(images, moved, strict=True):  # each result is one of the 25 fixed shifts of its image
        assert any(torch.equal(shift(original, dy, dx), result) for dy in range(-2, 3) for dx in range(-2, 3))
    assert random_shift(images, 0, torch.Generator()) is images
