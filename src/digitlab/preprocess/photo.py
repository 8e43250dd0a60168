"""Finding the digit in a photo of paper: even out the light, threshold locally, drop the paper's lines.

A phone photo of a digit is not a scan: light falls off across the sheet, a hand or a phone casts
a shadow over part of it, the paper may be ruled or squared, and there may be other marks. A global
"darker than the paper" rule turns a shadow into ink. The steps, on an image of dark ink on light
paper shrunk to ``analysis_side``:

1. the paper's brightness everywhere (background estimation): a grey closing with a window wider
   than any pen stroke removes the ink and keeps the light, shadow edges included; the image
   divided by it is flat paper (1.0) with ink darker wherever it lies. Where a shadow is narrower
   than the window the light is overestimated (the shadow would become ink), so once a first pass
   has found the digit, the pen's width is measured (a low quantile of its run lengths) and a second
   closing uses a window of a few pen widths; blots of ink wider than that window are dark basins
   inside the sheet, filled by grey-scale reconstruction (a shadow reaches the sheet's border);
2. ink candidates by Sauvola's local threshold (scikit-image), which follows the local contrast
   where a global threshold cannot;
3. paper lines: a straight, thin line of candidates across most of the image (a Hough transform
   limited to near-horizontal and near-vertical angles) is erased; a thick one is a stroke;
4. the digit: the connected ink component with the most ink, plus the pieces close to it (a "5"
   may have its bar apart). What else is left is reported as a doubt, with the ink touching the
   edge and too little ink: the caller says what to do about them (digitlab.i18n.advice).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from skimage.filters import gaussian, threshold_sauvola
from skimage.measure import label
from skimage.morphology import closing, dilation, disk, footprint_rectangle, reconstruction
from skimage.transform import hough_line, hough_line_peaks

SEVERAL_BLOBS = "several_blobs"
TOUCHES_EDGE = "touches_edge"
LITTLE_INK = "little_ink"


@dataclass(frozen=True)
class PhotoConfig:
    """How digits are found in photos; the defaults hold for phone photos and for the page's canvas."""

    analysis_side: int = 256  # longer side the analysis runs at: a digit of a third of the photo is 85 px, 4x the 20 px box
    smooth_sigma: float = 1.0  # Gaussian blur (pixels) before the thresholds: sensor grain and JPEG blocks
    background_window: float = 0.35  # first closing window, share of the longer side: wider than a thick marker stroke
    stroke_windows: float = 3.0  # the second closing window, in pen widths (stroke_width): clears a stroke and its junctions
    pen_quantile: float = 0.25  # the pen's width is the lower quartile of the ink's run lengths (stroke_width)
    min_window: float = 0.08  # the second window's least share of the longer side
    sauvola_window: float = 0.15  # Sauvola's window, share of the longer side: spans a stroke and the paper beside it
    sauvola_k: float = 0.2  # Sauvola's k (his paper's value): how far below the local mean ink must lie
    min_darkness: float = 0.12  # ink is at least 12% darker than its paper (the flat image), whatever Sauvola says
    sure_darkness: float = 0.5  # and a pixel at most half as light as its paper is ink, whatever Sauvola says
    weak_share: float = 0.5  # hysteresis: fainter ink joins when connected and this share as dark as the sure ink's median
    line_tilt_degrees: float = 12.0  # paper lines are searched within this of horizontal and vertical (a turned photo)
    line_coverage: float = 0.6  # a paper line is ink along at least 60% of its length across the image
    line_reach: float = 0.05  # ... and its ink comes within 5% of the image's edges at both ends
    line_max_width: float = 0.015  # a paper line is at most 1.5% of the longer side thick; thicker is a pen stroke
    speck_share: float = 0.0002  # components smaller than this share of the pixels are dust
    part_share: float = 0.03  # a component with 3% of the main one's ink, close to it, is part of the digit
    part_reach: float = 0.25  # "close": within a quarter of the main component's size of its box
    stray_share: float = 0.2  # another component with 20% of the main one's ink: several marks, which is the digit?
    little_extent: float = 0.2  # a digit spanning under 20% of the photo's longer side is small: crop closer
    edge_margin: int = 1  # ink this close (pixels) to the border touches the edge


DEFAULT = PhotoConfig()


@dataclass(frozen=True)
class FoundDigit:
    """The digit's ink (0 = paper, 1 = strongest ink) at the image's size, and what made the search doubt."""

    level: np.ndarray  # (H, W) float32; zero outside the digit's components
    doubts: tuple[str, ...]  # SEVERAL_BLOBS, TOUCHES_EDGE, LITTLE_INK
    ink_fraction: float  # share of the image's pixels in the digit's components


def odd(size: float) -> int:
    """A window size for the filters: odd and at least 3."""
    return max(3, int(size) // 2 * 2 + 1)


def to_analysis_size(paper: np.ndarray, side: int) -> np.ndarray:
    """Shrink (area average, which also averages grain away) so the longer side is at most ``side``."""
    if max(paper.shape) <= side:
        return paper
    scale = side / max(paper.shape)
    size = (max(1, round(paper.shape[1] * scale)), max(1, round(paper.shape[0] * scale)))
    return np.asarray(Image.fromarray(paper.astype(np.float32), mode="F").resize(size, Image.Resampling.BOX))


def analysis_images(gray: np.ndarray, config: PhotoConfig = DEFAULT) -> tuple[np.ndarray, np.ndarray]:
    """(small, smooth): ``gray`` shrunk to ``config.analysis_side``, and that blurred against grain and JPEG blocks."""
    small = to_analysis_size(gray, config.analysis_side)
    return small, gaussian(small, sigma=config.smooth_sigma, preserve_range=True)


def flatten(paper: np.ndarray, smooth: np.ndarray, light: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(darkness, smooth flat): ink's darkness relative to its own paper's light, and the smoothed image over the light."""
    darkness = np.clip(1.0 - paper / light, 0.0, 1.0).astype(np.float32)
    return darkness, np.clip(smooth / light, 0.0, 1.0)


def ink_candidates(darkness: np.ndarray, flat: np.ndarray, config: PhotoConfig) -> np.ndarray:
    """Pixels below Sauvola's local threshold and clearly darker than their paper, or darker than half their paper.

    Inside a blot wider than Sauvola's window the local mean is the ink itself; the flattened image
    has no shadows left, so half the paper's light is ink whatever the neighbourhood.
    """
    window = odd(config.sauvola_window * max(flat.shape))
    local = (flat < threshold_sauvola(flat, window_size=window, k=config.sauvola_k)) & (1.0 - flat >= config.min_darkness)
    sure = local | (1.0 - flat >= config.sure_darkness)
    if not sure.any():
        return sure
    low = max(config.min_darkness, config.weak_share * float(np.median(1.0 - flat[sure])))
    weak = label(1.0 - flat >= low, connectivity=2)
    return np.isin(weak, np.unique(weak[sure])) & (weak > 0)


def line_angles(config: PhotoConfig) -> tuple[np.ndarray, np.ndarray]:
    """Hough angles (radians) of near-horizontal lines (normal near 90 degrees) and near-vertical ones (near 0)."""
    tilt = np.arange(-config.line_tilt_degrees, config.line_tilt_degrees + 0.5, 1.0)
    return np.deg2rad(90.0 - np.abs(tilt)) * np.sign(tilt + 1e-9), np.deg2rad(tilt)


def erase_lines(ink: np.ndarray, config: PhotoConfig) -> tuple[np.ndarray, int]:
    """``ink`` without the paper's thin straight lines, and the thickest line erased (pixels; 0 when none)."""
    height, width = ink.shape
    max_width = max(2, round(config.line_max_width * max(ink.shape)))
    rows, columns = np.mgrid[0:height, 0:width]
    cleaned, widest = ink.copy(), 0
    for angles, along, span in zip(line_angles(config), (columns, rows), (width, height), strict=True):
        votes, thetas, distances = hough_line(ink, theta=angles)
        for _, theta, rho in zip(*hough_line_peaks(votes, thetas, distances, threshold=config.line_coverage * span,
                                                   min_distance=2, min_angle=1), strict=True):
            offset = np.rint(columns * np.cos(theta) + rows * np.sin(theta) - rho).astype(np.int64)
            band = line_band(ink, offset, config.line_coverage, max_width)
            if band is None:
                continue
            on_line = (offset >= band[0]) & (offset <= band[1])
            reach = along[on_line & ink]
            if reach.min() <= config.line_reach * span and reach.max() >= (1 - config.line_reach) * span - 1:
                cleaned &= ~on_line  # printed lines run from edge to edge; a thin "1" does not
                widest = max(widest, band[1] - band[0] + 1)
    return cleaned, widest


def line_band(ink: np.ndarray, offset: np.ndarray, coverage: float, max_width: int) -> tuple[int, int] | None:
    """The offsets around a Hough line where ink covers most of its length; None when it is a thick stroke."""
    near = np.abs(offset) <= max_width + 1
    shifted = offset[near] + max_width + 1
    share = np.bincount(shifted, weights=ink[near], minlength=2 * max_width + 3) / np.maximum(
        np.bincount(shifted, minlength=2 * max_width + 3), 1)
    covered = share >= coverage / 2  # the line's edges: anti-aliased, half as often ink
    centre = max_width + 1
    if not covered[centre]:
        return None
    low, high = centre, centre
    while low > 0 and covered[low - 1]:
        low -= 1
    while high < len(covered) - 1 and covered[high + 1]:
        high += 1
    if high - low + 1 > max_width:
        return None
    return low - centre, high - centre


def pick_digit(ink: np.ndarray, darkness: np.ndarray, config: PhotoConfig) -> tuple[np.ndarray, tuple[str, ...]]:
    """The digit's pixels: the component with the most ink and the pieces close to it; and the doubts."""
    labels = label(ink, connectivity=2)
    mass = np.bincount(labels.ravel(), weights=darkness.ravel())
    area = np.bincount(labels.ravel())
    mass[0] = 0.0
    mass[area < config.speck_share * ink.size] = 0.0
    if mass.max(initial=0.0) <= 0.0:
        return np.zeros_like(ink), ()
    edge = border_labels(labels)
    main = main_component(mass, edge, config)
    digit, strays = labels == main, 0
    top, bottom, left, right = box(digit)
    reach = config.part_reach * max(bottom - top, right - left)
    for index in np.flatnonzero(mass > config.part_share * mass[main]):
        if index == main or index in edge:
            continue  # a shadow's piece reaching the border is no part of the digit, nor another digit
        other_top, other_bottom, other_left, other_right = box(labels == index)
        near = (other_top < bottom + reach and other_bottom > top - reach
                and other_left < right + reach and other_right > left - reach)
        if near:
            digit |= labels == index
        elif mass[index] >= config.stray_share * mass[main]:
            strays += 1
    return digit, doubts_about(digit, strays, config)


def border_labels(labels: np.ndarray) -> np.ndarray:
    """The labels of the components that reach the image's border."""
    return np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))


def main_component(mass: np.ndarray, edge: np.ndarray, config: PhotoConfig) -> int:
    """The label with the most ink (``mass`` by label), preferring marks inside the photo to those of ``edge``.

    A shadow or the sheet's edge comes in from beyond the photo; a digit lies on the sheet. A mark
    reaching the border wins only when nothing inside has ``stray_share`` of its ink (a digit
    photographed too closely, cut by the border).
    """
    inside = mass.copy()
    inside[edge] = 0.0
    if inside.max() >= config.stray_share * mass.max():
        return int(inside.argmax())
    return int(mass.argmax())


def box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the True pixels, bottom/right exclusive."""
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(columns[0]), int(columns[-1]) + 1


def doubts_about(digit: np.ndarray, strays: int, config: PhotoConfig) -> tuple[str, ...]:
    top, bottom, left, right = box(digit)
    height, width = digit.shape
    margin = config.edge_margin
    doubts = [SEVERAL_BLOBS] if strays else []
    if top < margin or left < margin or bottom > height - margin or right > width - margin:
        doubts.append(TOUCHES_EDGE)
    if max(bottom - top, right - left) < config.little_extent * max(height, width):
        doubts.append(LITTLE_INK)
    return tuple(doubts)


def run_lengths(ink: np.ndarray) -> np.ndarray:
    """The lengths of the runs of ink along each row that lie inside the image (a run from its border is cut)."""
    steps = np.diff(np.pad(ink, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    starts, ends = np.nonzero(steps == 1)[1], np.nonzero(steps == -1)[1]
    inside = (starts > 0) & (ends < ink.shape[1])
    return (ends - starts)[inside]


def stroke_width(ink: np.ndarray, config: PhotoConfig) -> float:
    """The pen's width (pixels): a low quantile of the lengths of the ink's runs along rows and columns.

    The run-length estimate of document analysis: each row or column crossing a stroke gives a run
    about as long as the pen is wide, many times over; a stray part of a shadow that became ink gives
    long runs, and may give most of them when it is the largest mark, so a low quantile follows the pen;
    a shadow reaching the photo's border gives runs from the border, which are left out.
    """
    runs = np.concatenate([run_lengths(ink), run_lengths(ink.T)])
    return float(np.quantile(runs, config.pen_quantile)) if runs.size else 0.0


def light_by_closing(smooth: np.ndarray, window: int) -> np.ndarray:
    """The paper's light: a grey closing removes every dark mark narrower than ``window``.

    Beyond the border the image continues as its edge ("nearest"): light falling off towards an edge,
    or a shadow reaching it, stays monotone there, which a closing keeps; mirrored, it would be a
    valley that the closing fills with light.
    """
    return np.maximum(closing(smooth, footprint_rectangle((window, window)), mode="nearest"), 1e-3)


def fill_islands(light: np.ndarray) -> np.ndarray:
    """``light`` with its dark islands filled to their rims' level: grey-scale hole filling by reconstruction.

    A window of a few pen widths follows a shadow's edge, but takes a blot of ink wider than itself
    for paper. A shadow is cast from beyond the sheet and reaches its border; a blot lies inside it,
    a dark basin that reconstruction by erosion from the border fills (Soille's hole filling).
    """
    seed = light.copy()
    seed[1:-1, 1:-1] = light.max()
    return reconstruction(seed, light, method="erosion")


def search(paper: np.ndarray, smooth: np.ndarray, light: np.ndarray,
           config: PhotoConfig) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], np.ndarray]:
    """One pass with a light estimate: (darkness, the digit's pixels, doubts, every ink pixel found)."""
    darkness, flat = flatten(paper, smooth, light)
    candidates = ink_candidates(darkness, flat, config)
    ink, widest = erase_lines(candidates, config)
    if widest:  # strokes that crossed a line are whole again; the lines themselves had nothing beside them
        ink = closing(ink, disk(widest)) & candidates
    digit, doubts = pick_digit(ink, darkness, config)
    return darkness, digit, doubts, ink


def find_digit(paper: np.ndarray, config: PhotoConfig = DEFAULT) -> FoundDigit:
    """``paper``: float (H, W) in [0, 1], dark ink on light paper. Its digit's ink, at the same size.

    The background window must be wider than the strokes, and the narrower it is, the closer it
    follows a shadow's edge: a first pass with a wide window finds the ink and the pen's width, a
    second one takes the light from a window of a few pen widths (:func:`fill_islands` keeps blots
    of ink wider than it) and finds the digit again. The pen is measured on the digit the first pass
    found when it lies inside the photo: the rest of the ink holds the remnants of paper lines and
    grainy specks, whose short runs would give a thick pen a third of its width; a digit reaching the
    border may be a shadow's strip, and then every mark inside the photo is measured.
    """
    small, smooth = analysis_images(paper, config)
    side = max(small.shape)
    wide = odd(config.background_window * side)
    light = light_by_closing(smooth, wide)
    darkness, digit, doubts, ink = search(small, smooth, light, config)
    pen = stroke_width(ink if TOUCHES_EDGE in doubts else digit, config)
    narrow = odd(max(config.stroke_windows * pen, config.min_window * side))
    if digit.any() and narrow < wide:
        light = fill_islands(light_by_closing(smooth, narrow))
        darkness, digit, doubts, _ = search(small, smooth, light, config)
    ink_fraction = float(digit.mean())
    digit = dilation(digit, disk(1))  # the strokes' soft edges too
    if small.shape != paper.shape:  # the ink at full size: fine strokes of a small digit keep their shape
        darkness = np.clip(1.0 - paper / resized(light, paper.shape), 0.0, 1.0)
        digit = resized(digit.astype(np.float32), paper.shape) > 0
    level = np.where(digit, darkness, 0.0).astype(np.float32)
    return FoundDigit(level=level, doubts=doubts, ink_fraction=ink_fraction)


def resized(values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A float map at analysis size brought to ``shape`` (rows, columns), bilinear."""
    image = Image.fromarray(values.astype(np.float32), mode="F")
    return np.asarray(image.resize((shape[1], shape[0]), Image.Resampling.BILINEAR))
