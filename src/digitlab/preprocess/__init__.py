"""A user's image -> the 28x28 the models expect, prepared the way MNIST was.

MNIST digits were fitted in a 20x20 box keeping their aspect ratio (anti-aliased), then placed in
28x28 so that their centre of mass sits at the centre; white ink on black. A photo or a canvas
drawing is none of that, which is why most demos fail on real handwriting. The steps here:

    decode (size-capped, EXIF-turned) -> grayscale -> detect dark-ink-on-light-paper -> find the
    digit: even out light and shadows, local threshold, drop paper lines, main ink component
    (digitlab.preprocess.photo) -> crop to it -> fit in the box (anti-aliased) -> centre by centre
    of mass in 28x28 -> uint8 0..255, white ink on black

Fashion-MNIST was made the same way but fitted in the whole 28x28 field (``fit_size=28``). Each
dataset's catalog entry says its box and image shape; :func:`prepare_for` and :func:`place_ink_for`
read them. Used by ``digitlab predict`` and the web app; never prints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from digitlab.datasets.catalog import get_spec
from digitlab.errors import DigitlabError
from digitlab.pixels import from_unit
from digitlab.preprocess.decode import (
    ALLOWED_FORMATS,
    MAX_DECODED_BYTES,
    MAX_FILE_BYTES,
    MAX_PIXELS,
    MAX_SIDE,
    WORK_SIDE,
    BadImage,
    decode_image,
    read_image_file,
    to_working_gray,
)

__all__ = [
    "ALLOWED_FORMATS", "CANVAS_SIZE", "DIGIT_BOX", "MAX_DECODED_BYTES", "MAX_FILE_BYTES", "MAX_PIXELS", "MAX_SIDE",
    "WORK_SIDE", "BadImage", "EmptyDrawing", "Ink", "PreprocessResult", "decode_image", "extract_ink",
    "place_ink", "place_ink_for", "prepare_for", "preprocess_image", "read_image_file",
]

CANVAS_SIZE = 28  # the default images' side (MNIST's); a dataset's catalog entry gives its own
DIGIT_BOX = 20  # MNIST fitted the ink in 20x20, leaving a 4-pixel margin
PAPER_PERCENTILE = 90  # the border's brightest tenth: lit paper, even when a shadow and light falling off darken the rest
PEAK_PERCENTILE = 95  # the strongest ink: a high percentile of the digit's darkness, not one grainy pixel
MIN_CONTRAST = 0.12  # ink must stand out from the background by 12% of full scale
INK_THRESHOLD = 0.25  # a pixel is ink when it reaches 25% of the strongest ink
NOISE_FLOOR = 0.1  # weaker pixels are paper texture or JPEG noise and become black
MIN_INK_FRACTION = 0.0005  # fewer ink pixels than 0.05% of the image: a speck, not a drawing
MIN_INK_EXTENT = 0.1  # ink spanning under 10% of the image's longer side: a dot or a speck, not a digit


class EmptyDrawing(DigitlabError):
    """The image holds no (or almost no) ink, so any prediction would be a guess."""


@dataclass(frozen=True)
class PreprocessResult:
    """What the models receive, and what was done to get there."""

    image: np.ndarray  # (28, 28) uint8, white ink on black, like the training data
    inverted: bool  # True when the input was dark ink on light paper and got negated
    ink_fraction: float  # share of the input's pixels that are ink (0..1)
    doubts: tuple[str, ...] = ()  # several marks, ink at the edge, little ink: digitlab.i18n.advice says what to do


def border(gray: np.ndarray) -> np.ndarray:
    """The outermost pixels: on a photo or a drawing they are paper, not ink."""
    return np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])


def ink_bounding_box(ink: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right), bottom/right exclusive, of the True pixels."""
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def fit_in_box(crop: np.ndarray, box: int) -> np.ndarray:
    """Scale so the longer side is ``box`` pixels, keeping the aspect ratio, anti-aliased."""
    height, width = crop.shape
    scale = box / max(height, width)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))  # PIL wants (W, H)
    # LANCZOS on a float image averages over the whole footprint when shrinking: anti-aliasing.
    resized = np.asarray(Image.fromarray(crop.astype(np.float32), mode="F").resize(new_size, Image.Resampling.LANCZOS))
    return np.clip(resized, 0.0, 1.0)


def centre_by_mass(digit: np.ndarray, shape: tuple[int, int] = (CANVAS_SIZE, CANVAS_SIZE)) -> np.ndarray:
    """Place ``digit`` in a field of ``shape`` (rows, columns) with its centre of mass at the centre."""
    height, width = digit.shape
    mass = digit.sum()
    row_centre = np.arange(height) @ digit.sum(axis=1) / mass  # mass-weighted mean row
    col_centre = np.arange(width) @ digit.sum(axis=0) / mass
    rows, columns = shape
    top = round(rows / 2 - row_centre)  # MNIST's mean centre of mass sits at pixel (14.0, 14.0)
    left = round(columns / 2 - col_centre)
    top = min(max(top, 0), rows - height)  # keep every ink pixel inside the field
    left = min(max(left, 0), columns - width)
    field = np.zeros(shape, dtype=np.float32)
    field[top : top + height, left : left + width] = digit
    return field


@dataclass(frozen=True)
class Ink:
    """The ink of an image, cropped, before fitting: shared by every fit size (one decode per request)."""

    level: np.ndarray  # (h, w) float32 in [0, 1]: 0 = paper, 1 = strongest ink, cropped to the ink
    inverted: bool
    ink_fraction: float
    doubts: tuple[str, ...] = ()  # why the digit found may not be the one meant (digitlab.preprocess.photo)


def is_paper(gray: np.ndarray) -> bool:
    """Whether the border is paper (dark ink on light): its lit part is nearer the image's brightest than its darkest.

    Measured against the image's own range rather than mid-grey, so that a shadow or light falling
    off across the sheet (paper at 0.4) does not make it black paper; on the image shrunk and blurred
    as the digit is searched (:func:`digitlab.preprocess.photo.analysis_images`), so that sensor grain
    does not stretch the range to pure black and white. White ink on black passes as paper only when
    it covers a tenth of the border.
    """
    from digitlab.preprocess.photo import analysis_images  # scikit-image loads in ~1 s: only when an image comes

    _, smooth = analysis_images(gray)
    lit_border = float(np.percentile(border(smooth), PAPER_PERCENTILE))
    return lit_border > (float(smooth.min()) + float(smooth.max())) / 2


def extract_ink(image: Image.Image | np.ndarray | bytes) -> Ink:
    """Decode, make dark-ink-on-light-paper, find the digit in it (:mod:`digitlab.preprocess.photo`), crop to it."""
    gray = to_working_gray(image)
    if float(gray.max() - gray.min()) < MIN_CONTRAST:
        raise EmptyDrawing("the image is empty: no ink stands out from the background; draw a digit first")
    inverted = is_paper(gray)
    paper = gray if inverted else 1.0 - gray
    from digitlab.preprocess.photo import find_digit

    found = find_digit(paper)
    inked = found.level[found.level > 0]
    peak = float(np.percentile(inked, PEAK_PERCENTILE)) if inked.size else 0.0  # grain makes single pixels darker
    if peak < MIN_CONTRAST:
        raise EmptyDrawing("the image is empty: no ink stands out from the background; draw a digit first")
    level = np.clip(found.level / peak, 0.0, 1.0)  # 0 = paper, 1 = strongest ink
    level[level < NOISE_FLOOR] = 0.0
    ink = level >= INK_THRESHOLD
    top, bottom, left, right = ink_bounding_box(ink)
    extent = max(bottom - top, right - left) / max(level.shape)
    if found.ink_fraction < MIN_INK_FRACTION or extent < MIN_INK_EXTENT:
        raise EmptyDrawing(
            f"the drawing is nearly empty (ink covers {found.ink_fraction:.2%} of the image and spans {extent:.0%} of its side); "
            "draw a larger digit (or crop the photo closer to it)"
        )
    return Ink(level=level[top:bottom, left:right], inverted=inverted, ink_fraction=found.ink_fraction, doubts=found.doubts)


def _check_fit(fit_size: int, shape: tuple[int, int]) -> None:
    if not 1 <= fit_size <= min(shape):
        raise ValueError(f"fit_size must lie in 1..{min(shape)} for {shape[0]}x{shape[1]} images, got {fit_size}")


# A pen wider than the dataset's is thinned to it. A model trained on MNIST has seen strokes of 2-3 pixels in its
# 20-pixel box; a felt pen or a marker gives 4-5 once fitted in the same box, and thick strokes close the loops of 6,
# 8 and 9 the model looks for. The width is the classic estimate for line drawings: the ink's mass over its
# skeleton's length. A pen wider than the catalog entry's upper quartile is thinned towards its median by a grey
# erosion blended in by the fraction wanted, at most a pixel a side, so no stroke of a thin part vanishes. Finer pens
# are left alone: thickening them did not help on benchmarks/other_writers.py.
PEN_INK_LEVEL = 0.5  # the skeleton is drawn through pixels at least half as dark as the strongest ink
MAX_THINNING = 1.0  # pixels a side: a 3x3 erosion's whole effect, no stroke is thinner than two


def pen_width(level: np.ndarray) -> float:
    """The strokes' mean width in pixels: the ink's mass over its skeleton's length (0.0 without ink).
    ``level``: float (H, W), 0 = paper, 1 = the strongest ink."""
    from skimage.morphology import skeletonize  # scikit-image, like the photo search: only when an image comes

    length = int(skeletonize(level >= PEN_INK_LEVEL).sum())
    return float(level.sum()) / length if length else 0.0


def thin_pen(digit: np.ndarray, widths: tuple[float, float]) -> np.ndarray:
    """``digit`` (float, 0..1, fitted in its box) with a pen wider than ``widths[1]`` thinned towards ``widths[0]``.
    ``widths``: (median, upper quartile) of the dataset's stroke widths at the same scale; (0, 0) leaves every pen."""
    from skimage.morphology import erosion, footprint_rectangle

    usual, widest = widths
    width = pen_width(digit)
    if not usual or width <= widest:
        return digit
    amount = min((width - usual) / 2, MAX_THINNING)  # the width shrinks on both sides of a stroke
    thinned = digit + amount * (erosion(digit, footprint_rectangle((3, 3))) - digit)
    return thinned / max(float(thinned.max()), 1e-6)


def place_ink(ink: Ink, fit_size: int = DIGIT_BOX, shape: tuple[int, int] = (CANVAS_SIZE, CANVAS_SIZE),
              pen_widths: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Fit the cropped ink in a ``fit_size`` box, thin a wider pen than ``pen_widths`` (:func:`thin_pen`)
    and centre it by mass in ``shape``: (28, 28) uint8 by default."""
    _check_fit(fit_size, shape)
    digit = fit_in_box(ink.level, fit_size)  # (h, w), max(h, w) == fit_size
    digit = digit / max(float(digit.max()), 1e-6)  # thin strokes fade when shrunk; MNIST ink peaks at 255
    if any(pen_widths):
        digit = thin_pen(digit, pen_widths)
    field = centre_by_mass(digit, shape)  # (rows, columns)
    return from_unit(field)


def place_ink_for(ink: Ink, dataset: str) -> np.ndarray:
    """The ink placed as ``dataset``'s images are (its catalog entry's box and image shape)."""
    spec = get_spec(dataset)
    return place_ink(ink, spec.fit_size, spec.image_shape, spec.pen_widths)


def prepare_for(image: Image.Image | np.ndarray | bytes, dataset: str) -> PreprocessResult:
    """:func:`preprocess_image` with ``dataset``'s box and image shape (from its catalog entry)."""
    spec = get_spec(dataset)
    return preprocess_image(image, spec.fit_size, spec.image_shape, spec.pen_widths)


def preprocess_image(image: Image.Image | np.ndarray | bytes, fit_size: int = DIGIT_BOX,
                     shape: tuple[int, int] = (CANVAS_SIZE, CANVAS_SIZE),
                     pen_widths: tuple[float, float] = (0.0, 0.0)) -> PreprocessResult:
    """Prepare one image of a handwritten digit (or a garment) like the training data.

    Parameters
    ----------
    image : PIL.Image.Image, numpy.ndarray or bytes
        A picture in any size: file bytes (PNG, JPEG, ...), a PIL image, or an array (H, W) or
        (H, W, channels) of uint8 0..255 or float 0..1. Dark ink on light paper is detected and inverted.
    fit_size : int
        Side of the box the ink is fitted in: 20 for MNIST, 28 for Fashion-MNIST (their catalog entries).
    shape : (int, int)
        (rows, columns) of the prepared image: the dataset's image shape.
    pen_widths : (float, float)
        (median, upper quartile) of the dataset's stroke widths: a wider pen is thinned to the median;
        (0, 0) leaves it as it is (the catalog entry's ``pen_widths``).

    Returns
    -------
    PreprocessResult
        ``image`` is ``shape`` uint8, white ink on black, centre of mass at the centre.

    Raises
    ------
    BadImage
        The bytes are not a readable image, the image is too large, or the array is malformed.
    EmptyDrawing
        There is no ink, or so little that a prediction would be a guess.

    Examples
    --------
    >>> import numpy as np
    >>> paper = np.full((300, 200), 255, dtype=np.uint8); paper[50:250, 90:110] = 0  # a dark "1"
    >>> result = preprocess_image(paper)
    >>> result.image.shape, result.inverted
    ((28, 28), True)
    """
    _check_fit(fit_size, shape)
    ink = extract_ink(image)
    return PreprocessResult(image=place_ink(ink, fit_size, shape, pen_widths), inverted=ink.inverted, ink_fraction=ink.ink_fraction,
                            doubts=ink.doubts)
