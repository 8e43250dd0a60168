"""Pure image operations on (N, H, W) batches: sampling grids, test-set transforms, augmentation.

The low layer that training (augmented batches) and robustness (changed test sets) both use; it
knows nothing of models, runs or datasets beyond the uint8 <-> float pixel convention.

>>> from digitlab.images import apply, Augmenter, parse_augment   # doctest: +SKIP
>>> shifted = apply("shift", mnist.test.images, 3, seed=0)   # every digit 3 px off centre
>>> augment = Augmenter(kinds=parse_augment("shift,rotate,scale"), seed=0)
"""

from digitlab.images.augmentation import AUGMENT_KINDS, Augmenter, parse_augment
from digitlab.images.transforms import (
    IDENTITY_STRENGTH,
    STRENGTHS,
    TRANSFORMS,
    apply,
    elastic,
    invert,
    noise,
    rotate,
    scale,
    shift,
    strength_label,
    transform_name,
)

__all__ = [
    "AUGMENT_KINDS",
    "IDENTITY_STRENGTH",
    "STRENGTHS",
    "TRANSFORMS",
    "Augmenter",
    "apply",
    "strength_label",
    "transform_name",
    "elastic",
    "invert",
    "noise",
    "parse_augment",
    "rotate",
    "scale",
    "shift",
]
