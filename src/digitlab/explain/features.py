"""What a CNN looks at: its first-layer filters and the feature maps each convolutional block makes of a digit."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from digitlab.errors import DigitlabError
from digitlab.explain.attribution import evaluating
from digitlab.inference import as_float_images


@dataclass(frozen=True)
class FeatureMaps:
    """One block's output for one image."""

    name: str  # the module's name in the network, e.g. "features.0"
    maps: torch.Tensor  # (channels, h, w): 14x14 after the first block, 7x7 after the second


def convolutions(model: nn.Module) -> list[nn.Conv2d]:
    return [module for module in model.modules() if isinstance(module, nn.Conv2d)]


def filters(model: nn.Module) -> torch.Tensor:
    """The first convolution's kernels (out_channels, k, k): the strokes and edges the CNN looks for first."""
    layers = convolutions(model)
    if not layers:
        raise DigitlabError(f"filters need a convolutional network; {type(model).__name__} has no Conv2d layer")
    weight = layers[0].weight.detach()  # (out, in, k, k)
    return weight.sum(dim=1).clone()  # grayscale input: in == 1, so this only drops that axis


def blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The modules whose outputs are shown: each block of ``features``, else every convolution."""
    features = getattr(model, "features", None)
    if isinstance(features, nn.Sequential):
        return [(f"features.{index}", block) for index, block in enumerate(features)]
    return [(name, module) for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]


def feature_maps(model: nn.Module, image: torch.Tensor) -> list[FeatureMaps]:
    """Each block's feature maps for one (H, W) image (uint8 or floats in [0, 1]), input side first."""
    if not convolutions(model):
        raise DigitlabError(f"feature maps need a convolutional network; {type(model).__name__} has no Conv2d layer")
    captured: list[FeatureMaps] = []
    hooks = [module.register_forward_hook(lambda _m, _i, output, name=name: captured.append(FeatureMaps(name, output.detach()[0].contiguous())))
             for name, module in blocks(model)]
    try:
        with evaluating(model), torch.no_grad():
            model(as_float_images(image)[:1])
    finally:
        for hook in hooks:
            hook.remove()
    return captured
