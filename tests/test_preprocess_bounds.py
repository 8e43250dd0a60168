"""Decoding is bounded: pixels and bytes per pixel are checked before decoding, big images shrink first."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import digitlab
from digitlab.preprocess import MAX_DECODED_BYTES, BadImage, preprocess_image

MEASURE_TIMEOUT_S = 120
MAX_GROWTH_MB = 120  # the 16-bit scan decodes to 48 MB; converting it at full size took 320 MB more

# Peak memory of preparing the 16-bit 8192x2929 PNG, in a fresh process (ru_maxrss: POSIX).
MEASURE = """
import io, resource
import numpy as np
from PIL import Image
pixels = np.zeros((2929, 8192), dtype=np.uint16); pixels[1000:2000, 3000:3500] = 60000
buffer = io.BytesIO(); Image.fromarray(pixels).save(buffer, "PNG"); data = buffer.getvalue(); del pixels, buffer
from digitlab.preprocess import preprocess_image
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = preprocess_image(data)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024, int(result.image.sum() > 0))
"""


def _png(array: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.skipif(os.name != "posix", reason="ru_maxrss is POSIX")
def test_a_small_16_bit_png_of_a_huge_scan_is_shrunk_before_it_is_converted():
    env = {**os.environ, "PYTHONPATH": str(Path(digitlab.__file__).parents[1])}
    done = subprocess.run([sys.executable, "-c", MEASURE], env=env, capture_output=True, text=True, timeout=MEASURE_TIMEOUT_S, check=True)
    growth_mb, has_ink = done.stdout.split()
    assert float(growth_mb) < MAX_GROWTH_MB and has_ink == "1"


def test_decoded_bytes_are_bounded_by_mode_not_only_by_pixels():
    side = int((MAX_DECODED_BYTES / 4) ** 0.5) + 16  # fits as gray (1 byte/pixel), not as RGBA (4)
    gray = np.zeros((side, side), dtype=np.uint8)
    gray[side // 4 : 3 * side // 4, side // 2 - 200 : side // 2 + 200] = 255
    assert preprocess_image(_png(gray)).image.max() > 0
    rgba = np.zeros((side, side, 4), dtype=np.uint8)
    with pytest.raises(BadImage, match="decode to .* bytes"):
        preprocess_image(_png(rgba))


@pytest.mark.parametrize("mode", ["I;16", "P", "1", "RGBA", "LA", "RGB"])
def test_a_large_image_in_any_mode_gives_the_digit_its_gray_copy_gives(mode):
    """Shrinking in the image's own mode, before converting, changes nothing the models see."""
    gray = np.zeros((2100, 1500), dtype=np.uint8)  # above the 1024 working side
    gray[300:1800, 660:840] = 255  # a "1", white on black

    def png(image: Image.Image) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        return buffer.getvalue()

    converted = Image.fromarray(gray.astype(np.uint16) * 257) if mode == "I;16" else Image.fromarray(gray).convert(mode)
    reference = preprocess_image(png(Image.fromarray(gray))).image.astype(int)
    assert np.abs(preprocess_image(png(converted)).image.astype(int) - reference).max() <= 2
