"""A digit photographed as students do: on ruled or squared paper, under a shadow, turned, in pencil.

Each condition renders one digit's ink map (any size, 0 = paper, 1 = ink) as the file a phone would
upload: a 480x640 sheet (3:4) with the digit at 60-140% of 160 px at a random place, seeded per
digit. The conditions change one thing each; ``phone`` and ``worst`` combine several. Used by
benchmarks/other_writers.py and by the tests of digitlab.preprocess (tests/test_photos.py).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

DIGIT_SIDE = 160  # pixels of the upsampled digit: a photo of a digit on a phone is a few hundred pixels
SHEET = (480, 640)  # (width, height): a 3:4 photo
SIZE_RANGE = (0.6, 1.4)  # the digit's size on the sheet, relative to DIGIT_SIDE
INK_LEVEL = 0.45  # the soft threshold's middle: 16-level counts above ~7/16 are a stroke
INK_SOFTNESS = 0.08  # its width: edges stay anti-aliased like a photo
PAPER = (0.85, 0.97)  # lit paper's brightness
PEN = (0.05, 0.2)  # a ballpoint or a felt pen
PENCIL = (0.45, 0.6)  # graphite: grey, and grainy
RULE_SPACING = (0.5, 0.8)  # ruled lines (8 mm) against a digit of 10-15 mm: times the digit's height
SQUARE_SPACING = (0.35, 0.5)  # squared paper (5 mm)
LINE_TONE = (0.55, 0.75)  # printed lines: lighter than ink
LINE_WIDTH = (1.0, 2.0)  # pixels
SHADOW = (0.35, 0.55)  # a shadowed area's light, as a share of the lit paper's
SHADOW_EDGE = (2.0, 12.0)  # the shadow edge's softness (pixels)
FALLOFF = (0.35, 0.55)  # the far side's light when it falls off across the sheet
TURN_DEGREES = 10.0
NOISE = 0.06  # sensor grain (standard deviation)
JPEG_QUALITY = (40, 70)  # a messaging app's recompression
EXIF_TURNS = {3: 180, 6: 270, 8: 90}  # EXIF orientation -> the anticlockwise turn that makes the stored pixels upright

CONDITIONS = {  # name -> the changes it makes
    "clean": (),
    "ruled": ("ruled",),
    "squared": ("squared",),
    "shadow": ("shadow",),
    "falloff": ("falloff",),
    "turned": ("turned",),
    "pencil": ("pencil",),
    "noise": ("noise",),
    "jpeg": ("jpeg",),
    "exif": ("exif",),
    "phone": ("ruled", "falloff", "turned", "noise", "jpeg", "exif"),
    "worst": ("squared", "shadow", "falloff", "turned", "pencil", "noise", "jpeg", "exif"),
}


def pen_stroke(digit: np.ndarray) -> np.ndarray:
    """A small (h, w) ink map in [0, 1] -> (DIGIT_SIDE, DIGIT_SIDE) ink with sharp, anti-aliased edges."""
    big = np.asarray(Image.fromarray(digit.astype(np.float32), mode="F").resize((DIGIT_SIDE, DIGIT_SIDE), Image.Resampling.BICUBIC))
    return 1.0 / (1.0 + np.exp(-(big - INK_LEVEL) / INK_SOFTNESS))  # logistic soft threshold


def place(ink: np.ndarray, rng: np.random.Generator, turn: float) -> tuple[np.ndarray, tuple[int, int, int]]:
    """The ink on the sheet at a random place and size: (H, W) coverage, and (top, left, side) of the digit."""
    width, height = SHEET
    side = round(DIGIT_SIDE * rng.uniform(*SIZE_RANGE))
    digit = Image.fromarray(ink.astype(np.float32), mode="F").resize((side, side), Image.Resampling.BILINEAR)
    if turn:
        digit = digit.rotate(turn, resample=Image.Resampling.BILINEAR)
    top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
    field = np.zeros((height, width), dtype=np.float32)
    field[top : top + side, left : left + side] = np.clip(np.asarray(digit), 0, 1)
    return field, (top, left, side)


def lines(shape: tuple[int, int], spacing: float, rng: np.random.Generator, turn: float, vertical: bool) -> np.ndarray:
    """Coverage (0..1) of evenly spaced thin lines, turned with the sheet."""
    rows, columns = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    angle = np.deg2rad(turn)
    across = rows * np.cos(angle) - columns * np.sin(angle)
    if vertical:
        across = columns * np.cos(angle) + rows * np.sin(angle)
    phase = rng.uniform(0, spacing)
    distance = np.abs((across - phase + spacing / 2) % spacing - spacing / 2)
    width = rng.uniform(*LINE_WIDTH)
    return np.clip(width / 2 + 0.5 - distance, 0, 1)


def light(shape: tuple[int, int], changes: tuple[str, ...], rng: np.random.Generator, digit: tuple[int, int, int]) -> np.ndarray:
    """The light falling on the sheet: even, falling off across it, and/or a shadow over part of the digit."""
    rows, columns = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    result = np.full(shape, rng.uniform(*PAPER), dtype=np.float32)
    if "falloff" in changes:
        angle = rng.uniform(0, 2 * np.pi)
        along = columns * np.cos(angle) + rows * np.sin(angle)
        along = (along - along.min()) / (along.max() - along.min())
        result *= 1 - (1 - rng.uniform(*FALLOFF)) * along
    if "shadow" in changes:
        top, left, side = digit
        centre_row, centre_col = top + side * rng.uniform(0.3, 0.7), left + side * rng.uniform(0.3, 0.7)
        angle = rng.uniform(0, 2 * np.pi)
        signed = (columns - centre_col) * np.cos(angle) + (rows - centre_row) * np.sin(angle)
        shade = 1.0 / (1.0 + np.exp(-signed / rng.uniform(*SHADOW_EDGE)))  # 1 in the shadow
        result *= 1 - (1 - rng.uniform(*SHADOW)) * shade
    return result


def render(digit: np.ndarray, condition: str, seed: int) -> bytes:
    """One digit (h, w) ink in [0, 1] photographed in ``condition``: the bytes of the file a phone would upload."""
    changes = CONDITIONS[condition]
    rng = np.random.default_rng(seed)
    turn = float(rng.uniform(-TURN_DEGREES, TURN_DEGREES)) if "turned" in changes else 0.0
    field, where = place(pen_stroke(digit), rng, turn)
    paper_marks = np.zeros_like(field)
    for kind, spacing_range in (("ruled", RULE_SPACING), ("squared", SQUARE_SPACING)):
        if kind in changes:
            spacing = where[2] * rng.uniform(*spacing_range)
            paper_marks = lines(field.shape, spacing, rng, turn, vertical=False)
            if kind == "squared":
                paper_marks = np.maximum(paper_marks, lines(field.shape, spacing, rng, turn, vertical=True))
    line_tone = rng.uniform(*LINE_TONE)
    reflectance = 1 - (1 - line_tone) * paper_marks  # the paper with its printed lines
    tone = rng.uniform(*(PENCIL if "pencil" in changes else PEN))
    if "pencil" in changes:  # graphite leaves grain: the stroke's darkness varies from place to place
        field = field * np.clip(rng.normal(1.0, 0.25, field.shape), 0.3, 1.0)
    reflectance = reflectance * (1 - field) + tone * field
    photo = reflectance * light(field.shape, changes, rng, where)
    if "noise" in changes:
        photo = photo + rng.normal(0, NOISE, photo.shape)
    return encode(photo, changes, rng)


def encode(photo: np.ndarray, changes: tuple[str, ...], rng: np.random.Generator) -> bytes:
    image = Image.fromarray(np.round(np.clip(photo, 0, 1) * 255).astype(np.uint8))
    exif = Image.Exif()
    if "exif" in changes:  # the pixels stored as the sensor saw them, the tag saying how to turn them upright
        orientation = int(rng.choice(list(EXIF_TURNS)))
        image = image.rotate(-EXIF_TURNS[orientation], expand=True)
        exif[0x0112] = orientation
    buffer = io.BytesIO()
    if "jpeg" in changes or "exif" in changes:
        image.save(buffer, "JPEG", quality=int(rng.integers(*JPEG_QUALITY)) if "jpeg" in changes else 92, exif=exif)
    else:
        image.save(buffer, "PNG")
    return buffer.getvalue()
