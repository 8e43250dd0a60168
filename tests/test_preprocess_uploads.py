"""A user's upload (dark ink on paper, anywhere on a larger sheet, as PNG or JPEG) must reach the
models as the same 28x28 image as the digit drawn MNIST-style: white on black, centred."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitlab.preprocess import CANVAS_SIZE, preprocess_image

SIDE = 112  # the digit's drawing, 4x MNIST's 28
MEAN_TOLERANCE = 4.0  # mean |difference| in 0..255 units: resampling from another size and JPEG grain
CENTRE_TOLERANCE = 0.5  # pixels between the two centres of mass


def four(side: int = SIDE) -> np.ndarray:
    """A "4" in three strokes, white on black, (side, side) uint8."""
    canvas = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(canvas)
    unit = side / 28
    width = round(2.5 * unit)
    draw.line([(16 * unit, 5 * unit), (7 * unit, 17 * unit), (21 * unit, 17 * unit)], fill=255, width=width, joint="curve")
    draw.line([(17 * unit, 9 * unit), (17 * unit, 24 * unit)], fill=255, width=width)
    return np.asarray(canvas)


def centre_of_mass(image: np.ndarray) -> np.ndarray:
    rows, cols = np.indices(image.shape)
    return np.array([(rows * image).sum(), (cols * image).sum()]) / image.sum()


def upload(digit: np.ndarray, sheet: tuple[int, int], place: tuple[int, int], scale: float, paper: int, ink: int,
           file_format: str) -> bytes:
    """``digit`` (white on black) as dark ``ink`` on ``paper`` gray, scaled and placed on a (height, width) sheet."""
    side = round(digit.shape[0] * scale)
    big = np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC)) / 255.0
    level = np.zeros(sheet)
    level[place[0] : place[0] + side, place[1] : place[1] + side] = big
    pixels = np.round(paper + (ink - paper) * level).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, file_format, **({"quality": 90} if file_format == "JPEG" else {}))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("sheet", "place", "scale", "paper", "ink", "file_format"),
    [
        ((640, 480), (420, 30), 1.5, 255, 0, "PNG"),  # bottom-left, larger, black on white
        ((480, 640), (20, 500), 1.0, 235, 40, "JPEG"),  # top-right corner, gray paper, a photo
        ((900, 900), (300, 350), 3.0, 210, 70, "JPEG"),  # big, low contrast
    ],
)
def test_an_off_centre_dark_on_light_upload_gives_the_centred_mnist_image(sheet, place, scale, paper, ink, file_format):
    digit = four()
    reference = preprocess_image(digit)  # white on black, centred: the MNIST-style drawing
    assert not reference.inverted
    result = preprocess_image(upload(digit, sheet, place, scale, paper, ink, file_format))
    assert result.inverted
    assert result.image.shape == (CANVAS_SIZE, CANVAS_SIZE)
    difference = np.abs(result.image.astype(float) - reference.image.astype(float))
    assert difference.mean() < MEAN_TOLERANCE, f"mean |difference| {difference.mean():.1f}"
    assert np.abs(centre_of_mass(result.image.astype(float)) - centre_of_mass(reference.image.astype(float))).max() < CENTRE_TOLERANCE
    assert result.image.max() == 255  # the strongest ink is full white, as in MNIST


def test_the_tolerance_separates_digits():
    """The test above has teeth: another digit (a "1" where the "4" was) is far outside the tolerance."""
    one = np.zeros((SIDE, SIDE), dtype=np.uint8)
    one[16:96, 50:62] = 255
    difference = np.abs(preprocess_image(one).image.astype(float) - preprocess_image(four()).image.astype(float))
    assert difference.mean() > 3 * MEAN_TOLERANCE
