"""Is an attribution map faithful? Delete the pixels it ranks highest and watch the accuracy fall.

A deletion curve sets the most-attributed pixels to black (the background), a growing share at a
time, and measures the accuracy at each step. If the map names the pixels the model really uses,
accuracy collapses after a few steps; deleting pixels in a random order is the baseline it must
beat. The area under the curve (as the mean accuracy over the deleted shares, 0..1) summarises it:
lower is more faithful, and ``ratio`` = area / random area below 1 means better than chance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from digitlab.explain.attribution import BLACK, METHODS, AttributionConfig, attribute, methods_for
from digitlab.inference import as_float_images, predict_labels

MAX_FRACTION = 0.5  # delete up to half of the pixels: MNIST's ink is ~19% of them, so the curve sees it all go
STEPS = 20  # equal steps from nothing to MAX_FRACTION: 2.5% (~20 pixels of 784) each
BATCH = 250  # images attributed at once: bounds the memory of IG's and occlusion's perturbed copies

Predict = Callable[[torch.Tensor], torch.Tensor]  # (N, H, W) floats in [0, 1] -> (N,) labels


@dataclass(frozen=True)
class DeletionCurve:
    fractions: np.ndarray  # (steps + 1,) share of pixels deleted, from 0
    accuracy: np.ndarray  # (steps + 1,) accuracy after deleting that share

    @property
    def area(self) -> float:
        """Mean accuracy over the deleted shares (trapezoid rule): lower = accuracy fell sooner."""
        span = float(self.fractions[-1] - self.fractions[0])
        return float(np.trapezoid(self.accuracy, self.fractions) / span) if span > 0 else float(self.accuracy[0])


@dataclass(frozen=True)
class Faithfulness:
    """One attribution method's deletion curve on one model, against deleting pixels at random."""

    method: str
    images: int  # how many images the curves average over
    curve: DeletionCurve
    random: DeletionCurve

    @property
    def area(self) -> float:
        return self.curve.area

    @property
    def random_area(self) -> float:
        return self.random.area

    @property
    def ratio(self) -> float:
        """area / random area: below 1 when the map finds the pixels that matter better than chance."""
        return self.area / self.random_area if self.random_area > 0 else float("nan")


def fractions(steps: int = STEPS, max_fraction: float = MAX_FRACTION) -> np.ndarray:
    if steps < 1 or not 0 < max_fraction <= 1:
        raise ValueError(f"need steps >= 1 and 0 < max_fraction <= 1, got steps={steps!r}, max_fraction={max_fraction!r}")
    return np.linspace(0.0, max_fraction, steps + 1)


def attribution_order(attributions: torch.Tensor) -> torch.Tensor:
    """Pixel positions (N, H*W), most attributed first (ties in pixel order)."""
    return torch.argsort(attributions.reshape(len(attributions), -1), dim=1, descending=True, stable=True)


def random_order(count: int, pixels: int, seed: int = 0) -> torch.Tensor:
    """An independent random permutation of the ``pixels`` positions per image (N, pixels)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.argsort(torch.rand(count, pixels, generator=generator), dim=1)


def deletion_curve(predict: Predict, images: torch.Tensor, labels: torch.Tensor, order: torch.Tensor,
                   shares: np.ndarray | None = None, baseline: float = BLACK) -> DeletionCurve:
    """Accuracy of ``predict`` as the pixels are set to ``baseline`` in ``order`` (N, H*W), at each share."""
    shares = fractions() if shares is None else np.asarray(shares, dtype=np.float64)
    pixels = as_float_images(images)  # (N, H, W)
    flat = pixels.reshape(len(pixels), -1)  # (N, P)
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(flat.shape[1]).expand_as(order).contiguous())  # rank[i, p]: when pixel p goes
    labels = torch.as_tensor(labels)
    accuracy = []
    for share in shares:
        deleted = rank < round(share * flat.shape[1])  # (N, P)
        changed = torch.where(deleted, torch.as_tensor(baseline, dtype=flat.dtype), flat).reshape(pixels.shape)
        accuracy.append(float((predict(changed) == labels).double().mean()))
    return DeletionCurve(shares, np.asarray(accuracy))


def network_predict(model: nn.Module) -> Predict:
    return lambda images: predict_labels(model, images)


def attributions_in_batches(model: nn.Module, images: torch.Tensor, method: str, config: AttributionConfig | None,
                            batch: int = BATCH) -> torch.Tensor:
    """``attribute`` over ``images`` a block at a time (N, H, W); the explained class is the model's answer."""
    return torch.cat([attribute(model, images[start:start + batch], method, config=config) for start in range(0, len(images), batch)])


def faithfulness(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, method: str, *,
                 config: AttributionConfig | None = None, shares: np.ndarray | None = None, seed: int = 0) -> Faithfulness:
    """The deletion curve of ``method`` on ``model`` over (N, H, W) ``images``, and the random-order curve."""
    maps = attributions_in_batches(model, images, method, config)
    predict = network_predict(model)
    curve = deletion_curve(predict, images, labels, attribution_order(maps), shares)
    chance = deletion_curve(predict, images, labels, random_order(len(images), maps[0].numel(), seed), shares)
    return Faithfulness(method, len(images), curve, chance)


def faithfulness_by_method(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, methods: tuple[str, ...] | None = None, *,
                           config: AttributionConfig | None = None, shares: np.ndarray | None = None,
                           seed: int = 0, on_method: Callable[[str], None] | None = None) -> list[Faithfulness]:
    """:func:`faithfulness` of every method that applies to ``model`` (all of METHODS by default), most faithful first."""
    results = []
    for method in methods_for(model, methods or METHODS):
        if on_method:
            on_method(method)
        results.append(faithfulness(model, images, labels, method, config=config, shares=shares, seed=seed))
    return sorted(results, key=lambda result: result.area)
