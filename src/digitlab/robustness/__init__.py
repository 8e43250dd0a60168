"""How well do models cope with changed images: transforms for test sets, augmentation for training.

>>> from digitlab.robustness import apply, STRENGTHS, Augmenter, parse_augment   # doctest: +SKIP
>>> shifted = apply("shift", mnist.test.images, 3, seed=0)   # every digit 3 px off centre
>>> augment = Augmenter(kinds=parse_augment("shift,rotate,scale"), seed=0)
"""

from digitlab.robustness.augmentation import AUGMENT_KINDS, Augmenter, parse_augment
from digitlab.robustness.transforms import (
    IDENTITY_STRENGTH,
    STRENGTH_LABELS,
    STRENGTHS,
    TRANSFORMS,
    apply,
    elastic,
    invert,
    noise,
    rotate,
    scale,
    shift,
)

__all__ = [
    "AUGMENT_KINDS",
    "IDENTITY_STRENGTH",
    "STRENGTHS",
    "STRENGTH_LABELS",
    "TRANSFORMS",
    "Augmenter",
    "apply",
    "elastic",
    "invert",
    "noise",
    "parse_augment",
    "rotate",
    "scale",
    "shift",
]
