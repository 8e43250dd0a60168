"""Test images: MNIST digits rendered the way people draw them, PNGs crafted byte by byte, bombs."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image, ImageFilter

CANVAS = 512  # side of the "paper" the digits are rendered on
SENSOR_NOISE = 4.0  # standard deviation of the added pixel noise, in 0..255 units
THICKNESS_SCALE = 4  # strokes are thickened/thinned at 4x (112 px): cheap, and smooth after upscaling


def png_bytes(image: Image.Image | np.ndarray, format: str = "PNG") -> bytes:
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, format, **({"compress_level": 1} if format == "PNG" else {}))  # fast: tests make hundreds
    return buffer.getvalue()


def render_like_a_person(digit: np.ndarray, rng: np.random.Generator) -> tuple[bytes, bool]:
    """A 28x28 MNIST digit -> PNG bytes of it drawn large (200-400 px), off-centre, thick or thin,
    half of the time dark ink on grey-white paper, with sensor noise. Returns (png, dark_on_light)."""
    size = int(rng.integers(200, 401))
    work = Image.fromarray(digit).resize((28 * THICKNESS_SCALE,) * 2, Image.Resampling.BICUBIC)
    thickness = rng.choice(["thin", "normal", "thick", "thicker"])
    if thickness == "thin":
        work = work.filter(ImageFilter.MinFilter(3))
    elif thickness == "thick":
        work = work.filter(ImageFilter.MaxFilter(5))
    elif thickness == "thicker":
        work = work.filter(ImageFilter.MaxFilter(7))
    big = work.resize((size, size), Image.Resampling.BICUBIC)
    paper = Image.new("L", (CANVAS, CANVAS), 0)
    paper.paste(big, (int(rng.integers(0, CANVAS - size + 1)), int(rng.integers(0, CANVAS - size + 1))))
    pixels = np.asarray(paper, dtype=np.float32)
    dark_on_light = bool(rng.random() < 0.5)
    if dark_on_light:
        pixels = 235 - 0.85 * pixels  # grey-white paper, not quite black ink
    noise = rng.standard_normal(pixels.shape, dtype=np.float32) * SENSOR_NOISE
    pixels = np.clip(pixels + noise, 0, 255).astype(np.uint8)
    return png_bytes(pixels), dark_on_light


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def blank_png(width: int, height: int) -> bytes:
    """A valid all-black grayscale PNG of any size, built row by row: 20000x20000 costs ~20 kB of
    memory per row and compresses to about 1/1000 of its pixels (a decompression bomb)."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte 0, then one byte per pixel
    compressed = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale, no interlace
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", compressed) + png_chunk(b"IEND", b"")


def lying_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (data for far fewer)."""
    real = blank_png(4, 4)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    ihdr_end = 8 + 8 + 13 + 4
    return real[:8] + png_chunk(b"IHDR", header) + real[ihdr_end:]
