"""How well do models cope with changed images: every model scored on the same changed test sets.

The transforms and the augmentation themselves live in :mod:`digitlab.images` (a lower layer that
training uses too); they are re-exported here for existing callers.

>>> from digitlab.robustness import apply, STRENGTHS, Augmenter, parse_augment   # doctest: +SKIP
>>> shifted = apply("shift", mnist.test.images, 3, seed=0)   # every digit 3 px off centre
>>> augment = Augmenter(kinds=parse_augment("shift,rotate,scale"), seed=0)
"""

from digitlab.images import (
    AUGMENT_KINDS,
    IDENTITY_STRENGTH,
    STRENGTHS,
    TRANSFORMS,
    Augmenter,
    apply,
    elastic,
    invert,
    noise,
    parse_augment,
    rotate,
    scale,
    shift,
)

__all__ = [
    "AUGMENT_KINDS",
    "IDENTITY_STRENGTH",
    "STRENGTHS",
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
