"""A pen wider than the training data's, thinned to it: the stroke width as a dataset's digits have it.

A model trained on MNIST has seen strokes of 2-3 pixels in its 20-pixel box; a felt pen or a thick
marker gives 4-5 once the digit is fitted in the same box, and the thick strokes close the loops
of 6, 8 and 9 that the model looks for. The width is the classic estimate for line drawings: the
ink's mass over the length of its skeleton (scikit-image's ``skeletonize``). A digit whose pen is
wider than the dataset's usual ones (its catalog entry's upper quartile) is thinned towards their
median by a grey erosion blended in by the fraction wanted, at most a pixel a side, so that no
stroke of a thin part vanishes. Finer pens are left alone: thickening them did not help on
benchmarks/other_writers.py.
"""

from __future__ import annotations

import numpy as np
from skimage.morphology import erosion, footprint_rectangle, skeletonize

INK_LEVEL = 0.5  # the skeleton is drawn through pixels at least half as dark as the strongest ink
MAX_THINNING = 1.0  # pixels a side: a 3x3 erosion's whole effect, no stroke is thinner than two


def pen_width(level: np.ndarray) -> float:
    """The strokes' mean width in pixels: the ink's mass over its skeleton's length (0.0 without ink).

    ``level``: float (H, W), 0 = paper, 1 = the strongest ink.
    """
    length = int(skeletonize(level >= INK_LEVEL).sum())
    return float(level.sum()) / length if length else 0.0


def thin_pen(digit: np.ndarray, widths: tuple[float, float]) -> np.ndarray:
    """``digit`` (float, 0..1, fitted in its box) with a pen wider than ``widths[1]`` thinned towards ``widths[0]``.

    ``widths``: (median, upper quartile) of the dataset's stroke widths at the same scale, from its
    catalog entry; (0, 0) leaves every pen as it is.
    """
    usual, widest = widths
    width = pen_width(digit)
    if not usual or width <= widest:
        return digit
    amount = min((width - usual) / 2, MAX_THINNING)  # the width shrinks on both sides of a stroke
    thinned = digit + amount * (erosion(digit, footprint_rectangle((3, 3))) - digit)
    return thinned / max(float(thinned.max()), 1e-6)
