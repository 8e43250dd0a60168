"""A user's image -> the 28x28 the models expect, prepared the way MNIST was.

MNIST digits were fitted in a 20x20 box keeping their aspect ratio (anti-aliased), then placed in
28x28 so that their centre of mass sits at the centre; white ink on black. A photo or a canvas
drawing is none of that, which is why most demos fail on real handwriting. The steps here:

    decode (size-capped) -> grayscale -> detect and undo dark-ink-on-light-paper -> remove the
    background level -> crop to the ink -> fit in the box (anti-aliased) -> centre by centre of
    mass in 28x28 -> uint8 0..255, white ink on black

Fashion-MNIST was made the same way but fitted in the whole 28x28 field (``fit_size=28``). Each
dataset's catalog entry says its box and image shape; :func:`prepare_for` and :func:`place_ink_for`
read them. Used by ``digitlab predict`` and the web app; never prints.
"""

from __future__ import annotations

import io
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from digitlab.datasets.catalog import get_spec
from digitlab.errors import DigitlabError
from digitlab.pixels import from_unit, in_pixel_range, to_unit

CANVAS_SIZE = 28  # the default images' side (MNIST's); a dataset's catalog entry gives its own
DIGIT_BOX = 20  # MNIST fitted the ink in 20x20, leaving a 4-pixel margin
MAX_SIDE = 8192  # larger images are refused: no handwriting needs them, a bomb does
MAX_PIXELS = 24_000_000  # ~ a 6000x4000 phone photo
MAX_FILE_BYTES = 50 * 1024 * 1024  # an image file to read from disk; a phone photo is a few MB
MAX_DECODED_BYTES = 64 * 1024 * 1024  # what PIL may hold for one decoded image: 24 MP gray or 16-bit, 16 MP colour
NARROW_MODES = {"1": 1, "L": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}  # bytes per pixel; PIL keeps others in 4
SHRINKABLE_MODES = ("L", "LA", "RGB", "RGBA", "I", "F", "I;16", "I;16B", "I;16L", "I;16N")  # PIL's BOX resize takes these
WORK_SIDE = 1024  # larger images are shrunk to this before the float work; ink crops stay precise
ALLOWED_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP")  # what browsers and phones produce
INVERT_THRESHOLD = 0.5  # a border brighter than mid-gray means paper, i.e. dark ink on light
MIN_CONTRAST = 0.12  # ink must stand out from the background by 12% of full scale
INK_THRESHOLD = 0.25  # a pixel is ink when it reaches 25% of the strongest ink
NOISE_FLOOR = 0.1  # weaker pixels are paper texture or JPEG noise and become black
MIN_INK_FRACTION = 0.0005  # fewer ink pixels than 0.05% of the image: a speck, not a drawing
MIN_INK_EXTENT = 0.1  # ink spanning under 10% of the image's longer side: a dot or a speck, not a digit


class BadImage(DigitlabError):
    """The input cannot be decoded, is too large, or is not an image array."""


class EmptyDrawing(DigitlabError):
    """The image holds no (or almost no) ink, so any prediction would be a guess."""


@dataclass(frozen=True)
class PreprocessResult:
    """What the models receive, and what was done to get there."""

    image: np.ndarray  # (28, 28) uint8, white ink on black, like the training data
    inverted: bool  # True when the input was dark ink on light paper and got negated
    ink_fraction: float  # share of the input's pixels that are ink (0..1)


def read_image_file(path: str | Path) -> bytes:
    """The bytes of an image file, refusing devices, pipes and files over ``MAX_FILE_BYTES``."""
    path = Path(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # /dev/zero or a pipe would be read until memory runs out
            raise BadImage(f"cannot read image {path}: not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise BadImage(f"image file {path} is {info.st_size:,} bytes; at most {MAX_FILE_BYTES:,}")
        with path.open("rb") as handle:
            return handle.read(MAX_FILE_BYTES)  # a file that grew meanwhile is cut, and then fails to decode
    except OSError as error:
        raise BadImage(f"cannot read image {path}: {error.strerror or error}") from error


def decode_image(data: bytes) -> Image.Image:
    """Bytes of an image file -> a loaded PIL image, refusing bombs, huge and broken files."""
    if not data:
        raise BadImage("the upload is empty: expected a PNG or JPEG file")
    with warnings.catch_warnings():
        # PIL warns (and past twice its limit raises) on decompression bombs; both become BadImage.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
            check_size(image.size)  # the header is read; pixels are not decoded yet
            if image.format == "JPEG":
                image.draft("L", (WORK_SIDE, WORK_SIDE))  # decode big photos shrunk and gray: much faster
            check_decoded_bytes(image)  # after draft: the size and mode that will really be decoded
            image.load()
        except BadImage:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise BadImage(f"image is too large (a decompression bomb?): {error}") from None
        except Image.UnidentifiedImageError:
            raise BadImage(f"not an image digitlab can read: expected one of {', '.join(ALLOWED_FORMATS)}") from None
        except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as error:
            raise BadImage(f"the image file is broken or truncated: {error}") from None
    return image


def check_size(size: tuple[int, int]) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise BadImage(f"image has no pixels ({width}x{height})")
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        raise BadImage(f"image is too large: {width}x{height} pixels; at most {MAX_SIDE} per side and {MAX_PIXELS:,} in all")


def check_decoded_bytes(image: Image.Image) -> None:
    """Refuse an image whose decoded pixels would not fit ``MAX_DECODED_BYTES`` (small files can be huge)."""
    width, height = image.size
    needed = width * height * NARROW_MODES.get(image.mode, 4)
    if needed > MAX_DECODED_BYTES:
        raise BadImage(f"image is too large: {width}x{height} pixels of mode {image.mode} decode to {needed:,} bytes; "
                       f"at most {MAX_DECODED_BYTES:,}")


def shrink(image: Image.Image) -> Image.Image:
    """Shrink to ``WORK_SIDE`` in the image's own mode, before any conversion multiplies its bytes."""
    if max(image.size) <= WORK_SIDE:
        return image
    if image.mode not in SHRINKABLE_MODES:  # palette, 1-bit, CMYK...: to a mode BOX resizing takes
        image = image.convert("RGBA" if image.mode == "P" or "transparency" in image.info else "RGB")
    scale = WORK_SIDE / max(image.size)
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.BOX)


def to_gray(image: Image.Image) -> np.ndarray:
    """PIL image of any mode -> float32 (H, W) in [0, 1]; transparency is flattened sensibly.

    Big images are shrunk first, in their own mode, so a phone photo or a 16-bit scan costs a few
    megabytes of float work, not hundreds. A drawing on a transparent background has its ink in the
    opaque pixels, whatever their colour, so the background is made the opposite of the ink (dark
    ink -> white paper, light ink -> black).
    """
    image = shrink(image)
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):  # 16-bit or float scans: scale by their own maximum
        values = np.clip(np.asarray(image.convert("F"), dtype=np.float32), 0.0, None)
        peak = max(float(values.max()), 1e-6)
        image = Image.fromarray(from_unit(values / peak))
    if image.mode == "P":  # palette images keep their transparency only through RGBA
        image = image.convert("RGBA")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La")
    image = image.convert("LA" if has_alpha else "L")  # luminance (ITU-R 601 weights) [and alpha]
    pixels = to_unit(np.asarray(image))  # (H, W) or (H, W, 2)
    if not has_alpha:
        return pixels
    luminance, alpha = pixels[..., 0], pixels[..., 1]
    if alpha.min() >= 1.0:
        return luminance
    ink_brightness = float((luminance * alpha).sum() / max(alpha.sum(), 1e-6))
    background = 1.0 if ink_brightness < INVERT_THRESHOLD else 0.0
    return luminance * alpha + background * (1.0 - alpha)


def array_to_gray(array: np.ndarray) -> np.ndarray:
    """A numpy image (H, W) or (H, W, channels); uint8 0..255 or float 0..1 (or 0..255)."""
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise BadImage(f"expected numeric pixels, got dtype {array.dtype}")
    is_float = np.issubdtype(array.dtype, np.floating)  # before averaging channels makes everything float
    if array.ndim == 3 and array.shape[2] in (1, 3, 4):
        array = array[..., :3].mean(axis=2) if array.shape[2] >= 3 else array[..., 0]  # colour -> gray, alpha dropped
    if array.ndim != 2:
        raise BadImage(f"expected an image array of shape (H, W) or (H, W, channels), got {array.shape}")
    check_size((array.shape[1], array.shape[0]))
    values = array.astype(np.float32)
    if not np.isfinite(values).all():
        raise BadImage("the image array contains NaN or infinite values")
    if not in_pixel_range(values.min(), values.max()):
        raise BadImage(f"pixel values must lie in 0..255 (or 0..1), got {values.min():g}..{values.max():g}")
    is_unit_range = is_float and values.max() <= 1.0
    return values if is_unit_range else to_unit(values)


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


def to_working_gray(image: Image.Image | np.ndarray | bytes) -> np.ndarray:
    """Any accepted input -> float32 (H, W) in [0, 1]."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        image = decode_image(bytes(image))
    if isinstance(image, Image.Image):
        check_size(image.size)
        return to_gray(image)
    if isinstance(image, np.ndarray):
        return array_to_gray(image)
    raise BadImage(f"expected image bytes, a PIL image or a numpy array, got {type(image).__name__}")


def extract_ink(image: Image.Image | np.ndarray | bytes) -> Ink:
    """Decode, make white-on-black, remove the background level and crop to the ink."""
    gray = to_working_gray(image)
    paper = float(np.median(border(gray)))
    inverted = paper > INVERT_THRESHOLD
    if inverted:
        gray = 1.0 - gray
    background = 1.0 - paper if inverted else paper  # the border's median after the negation
    contrast = float(gray.max()) - background
    if contrast < MIN_CONTRAST:
        raise EmptyDrawing("the image is empty: no ink stands out from the background; draw a digit first")
    level = np.clip((gray - background) / contrast, 0.0, 1.0)  # 0 = paper, 1 = strongest ink
    level[level < NOISE_FLOOR] = 0.0
    ink = level >= INK_THRESHOLD
    ink_fraction = float(ink.mean())
    top, bottom, left, right = ink_bounding_box(ink)
    extent = max(bottom - top, right - left) / max(gray.shape)
    if ink_fraction < MIN_INK_FRACTION or extent < MIN_INK_EXTENT:
        raise EmptyDrawing(
            f"the drawing is nearly empty (ink covers {ink_fraction:.2%} of the image and spans {extent:.0%} of its side); "
            "draw a larger digit (or crop the photo closer to it)"
        )
    return Ink(level=level[top:bottom, left:right], inverted=inverted, ink_fraction=ink_fraction)


def _check_fit(fit_size: int, shape: tuple[int, int]) -> None:
    if not 1 <= fit_size <= min(shape):
        raise ValueError(f"fit_size must lie in 1..{min(shape)} for {shape[0]}x{shape[1]} images, got {fit_size}")


def place_ink(ink: Ink, fit_size: int = DIGIT_BOX, shape: tuple[int, int] = (CANVAS_SIZE, CANVAS_SIZE)) -> np.ndarray:
    """Fit the cropped ink in a ``fit_size`` box and centre it by mass in ``shape``: (28, 28) uint8 by default."""
    _check_fit(fit_size, shape)
    digit = fit_in_box(ink.level, fit_size)  # (h, w), max(h, w) == fit_size
    digit = digit / max(float(digit.max()), 1e-6)  # thin strokes fade when shrunk; MNIST ink peaks at 255
    field = centre_by_mass(digit, shape)  # (rows, columns)
    return from_unit(field)


def place_ink_for(ink: Ink, dataset: str) -> np.ndarray:
    """The ink placed as ``dataset``'s images are (its catalog entry's box and image shape)."""
    spec = get_spec(dataset)
    return place_ink(ink, spec.fit_size, spec.image_shape)


def prepare_for(image: Image.Image | np.ndarray | bytes, dataset: str) -> PreprocessResult:
    """:func:`preprocess_image` with ``dataset``'s box and image shape (from its catalog entry)."""
    spec = get_spec(dataset)
    return preprocess_image(image, spec.fit_size, spec.image_shape)


def preprocess_image(image: Image.Image | np.ndarray | bytes, fit_size: int = DIGIT_BOX,
                     shape: tuple[int, int] = (CANVAS_SIZE, CANVAS_SIZE)) -> PreprocessResult:
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
    return PreprocessResult(image=place_ink(ink, fit_size, shape), inverted=ink.inverted, ink_fraction=ink.ink_fraction)
