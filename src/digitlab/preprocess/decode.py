"""Image files and arrays -> float gray in [0, 1], bounded in size, memory and time.

Phones store a photo as the sensor saw it and say in EXIF how to turn it; the decoded image is
turned accordingly (PIL.ImageOps.exif_transpose) before anything looks at it.
"""

from __future__ import annotations

import io
import stat
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from digitlab.errors import DigitlabError
from digitlab.pixels import from_unit, in_pixel_range, to_unit

MAX_SIDE = 8192  # larger images are refused: no handwriting needs them, a bomb does
MAX_PIXELS = 24_000_000  # ~ a 6000x4000 phone photo
MEGABYTE = 1024 * 1024
MAX_PHOTO_MEGABYTES = 20  # the largest upload the web app takes: a phone photo as it leaves the camera
MAX_FILE_BYTES = 50 * MEGABYTE  # an image file to read from disk; a phone photo is a few MB
MAX_DECODED_BYTES = 64 * MEGABYTE  # what PIL may hold for one decoded image: 24 MP gray or 16-bit, 16 MP colour
NARROW_MODES = {"1": 1, "L": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}  # bytes per pixel; PIL keeps others in 4
SHRINKABLE_MODES = ("L", "LA", "RGB", "RGBA", "I", "F", "I;16", "I;16B", "I;16L", "I;16N")  # PIL's BOX resize takes these
WORK_SIDE = 1024  # larger images are shrunk to this before the float work; ink crops stay precise
ALLOWED_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP")  # what browsers and phones produce
INVERT_THRESHOLD = 0.5  # transparent drawings: ink darker than mid-grey goes on white, lighter ink on black


class BadImage(DigitlabError):
    """The input cannot be decoded, is too large, or is not an image array."""


def to_working_gray(image: Image.Image | np.ndarray | bytes) -> np.ndarray:
    """Any accepted input (file bytes, a PIL image, a numpy array) -> float32 (H, W) in [0, 1]."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        image = decode_image(bytes(image))
    if isinstance(image, Image.Image):
        check_size(image.size)
        return to_gray(image)
    if isinstance(image, np.ndarray):
        return array_to_gray(image)
    raise BadImage(f"expected image bytes, a PIL image or a numpy array, got {type(image).__name__}")


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
            ImageOps.exif_transpose(image, in_place=True)  # a phone stores a portrait shot sideways, with a tag saying so
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
