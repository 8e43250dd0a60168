"""One network, one image: everything digitlab can show about how it decided, as plain data.

``explain_network(model, image)`` gives the class scores, an attribution map per method (the fast
ones by default: saliency and, for a CNN, Grad-CAM) and what the architecture itself can show:
the SimpleNetwork's weight images, an MLP's most active first-layer units, a CNN's filters and
feature maps. ``methods=METHODS`` adds integrated gradients and occlusion (slower, see docs/explain.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from digitlab.explain.attribution import FAST_METHODS, AttributionConfig, attribute, methods_for
from digitlab.explain.features import FeatureMaps, convolutions, feature_maps, filters
from digitlab.explain.scores import ClassScores, class_scores
from digitlab.explain.units import ActiveUnits, WeightImages, active_units, is_single_layer, weight_images
from digitlab.inference import as_float_images
from digitlab.knn.threads import one_thread


@dataclass(frozen=True)
class NetworkExplanation:
    """How one network answered one image."""

    image: torch.Tensor  # (H, W) float32 in [0, 1]: what the network saw
    scores: ClassScores
    target: int  # the class the attributions explain (default: the network's answer)
    attributions: dict[str, torch.Tensor] = field(default_factory=dict)  # method -> (H, W) map, higher = more evidence
    weight_images: WeightImages | None = None  # single-layer networks
    units: ActiveUnits | None = None  # fully connected networks with hidden layers
    filters: torch.Tensor | None = None  # CNNs: (channels, k, k) first-layer kernels
    feature_maps: list[FeatureMaps] = field(default_factory=list)  # CNNs: each block's (channels, h, w)


def explain_network(model: nn.Module, image: torch.Tensor, *, classes: tuple[str, ...] | None = None,
                    methods: tuple[str, ...] = FAST_METHODS, target: int | None = None,
                    config: AttributionConfig | None = None) -> NetworkExplanation:
    """Explain ``model``'s answer for one (H, W) image (uint8 or floats in [0, 1]).

    Methods that do not apply (Grad-CAM without convolutions) are skipped.

    >>> from digitlab.models import build
    >>> found = explain_network(build("simple"), torch.zeros(28, 28, dtype=torch.uint8))
    >>> sorted(found.attributions), found.weight_images.weights.shape
    (['saliency'], torch.Size([10, 28, 28]))
    """
    with one_thread():  # one image: waking a second thread costs more than the work on a busy CPU (knn/threads.py)
        return _explain(model, as_float_images(image), classes, methods, target, config)


def _explain(model: nn.Module, pixels: torch.Tensor, classes: tuple[str, ...] | None, methods: tuple[str, ...],
             target: int | None, config: AttributionConfig | None) -> NetworkExplanation:
    shape = tuple(pixels.shape[1:])
    scores = class_scores(model, pixels, classes)
    target = scores.predicted if target is None else target
    maps = {method: attribute(model, pixels, method, target, config)[0] for method in methods_for(model, methods)}
    single = is_single_layer(model)
    cnn = bool(convolutions(model))
    return NetworkExplanation(
        image=pixels[0],
        scores=scores,
        target=target,
        attributions=maps,
        weight_images=weight_images(model, shape, pixels) if single else None,
        units=active_units(model, pixels, shape) if not single and not cnn else None,
        filters=filters(model) if cnn else None,
        feature_maps=feature_maps(model, pixels) if cnn else [],
    )
