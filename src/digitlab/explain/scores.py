"""Class scores of a network for one image: what it answers, and how sure it is."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from digitlab.inference import as_float_images, predict_proba


@dataclass(frozen=True)
class ClassScores:
    """A model's probabilities for one image, with the class names they belong to."""

    probabilities: np.ndarray  # (classes,) float64, sums to 1
    classes: tuple[str, ...]  # index = label

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.probabilities))

    def top(self, count: int = 3) -> list[tuple[str, float]]:
        """The ``count`` most probable classes as (name, probability), most probable first."""
        order = np.argsort(-self.probabilities, kind="stable")[:count]
        return [(self.classes[index], float(self.probabilities[index])) for index in order]


def class_names(classes: tuple[str, ...] | list[str] | None, count: int) -> tuple[str, ...]:
    """The given class names, or the numbers 0..count-1 when there are none."""
    return tuple(classes) if classes else tuple(str(label) for label in range(count))


def class_scores(model: nn.Module, image: torch.Tensor, classes: tuple[str, ...] | None = None) -> ClassScores:
    """Probabilities of ``model`` for one (H, W) image (uint8 pixels or floats in [0, 1])."""
    probabilities = predict_proba(model, as_float_images(image))[0].double().numpy()  # (classes,)
    return ClassScores(probabilities, class_names(classes, len(probabilities)))
