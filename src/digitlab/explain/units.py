"""What fully connected networks look at: the SimpleNetwork's ten weight images, the MLP's most active units.

The SimpleNetwork's score for class c is ``w_c . x + b_c``: its weight row ``w_c`` reshaped to 28x28
is a picture of what that output neuron responds to (bright: ink here counts for c; dark: against).
A deeper network's first layer has such a picture per hidden unit; for one digit the units that
fire hardest show which of those templates it matched.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from digitlab.errors import DigitlabError
from digitlab.explain.attribution import evaluating
from digitlab.inference import as_float_images
from digitlab.models.mlp import ACTIVATIONS

TOP_UNITS = 8  # units shown per digit: enough to see a pattern, few enough for a panel
ACTIVATION_TYPES = tuple(ACTIVATIONS.values())  # the modules that end a hidden layer


@dataclass(frozen=True)
class WeightImages:
    """One 28x28 picture per output class of a single-layer network."""

    weights: torch.Tensor  # (classes, H, W): fc1's weight rows as images
    bias: torch.Tensor  # (classes,)
    contributions: torch.Tensor | None = None  # (classes, H, W): weight x pixel for one image; summed + bias = that class's score


@dataclass(frozen=True)
class ActiveUnits:
    """The first hidden layer's most active units for one image."""

    units: torch.Tensor  # (count,) int64 unit numbers, most active first
    activations: torch.Tensor  # (count,) their activations (after the layer's activation function)
    weights: torch.Tensor  # (count, H, W) their incoming weights as images
    layer_size: int  # units in the layer


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    return [module for module in model.modules() if isinstance(module, nn.Linear)]


def is_single_layer(model: nn.Module) -> bool:
    """True for a network whose only layer maps pixels straight to classes (the SimpleNetwork)."""
    layers = linear_layers(model)
    return len(layers) == 1 and not any(isinstance(module, nn.Conv2d) for module in model.modules())


def weight_images(model: nn.Module, image_shape: tuple[int, int], image: torch.Tensor | None = None) -> WeightImages:
    """The output neurons' weights (classes, H, W) of a single-layer network, with one image's contributions."""
    if not is_single_layer(model):
        raise DigitlabError(f"weight images need a single-layer network such as the SimpleNetwork; {type(model).__name__} has "
                            f"{len(linear_layers(model))} linear layers (use active_units for deeper ones)")
    layer = linear_layers(model)[0]
    weights = layer.weight.detach().reshape(-1, *image_shape)  # (classes, 784) -> (classes, H, W)
    contributions = None if image is None else weights * as_float_images(image)[0]  # (classes, H, W)
    return WeightImages(weights.clone(), layer.bias.detach().clone(), contributions)


def first_hidden_activations(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The first hidden layer's activations (N, units): the output of the first activation module called."""
    captured: list[torch.Tensor] = []

    def keep_first(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        if not captured:
            captured.append(output.detach())

    hooks = [module.register_forward_hook(keep_first) for module in model.modules() if isinstance(module, ACTIVATION_TYPES)]
    try:
        with evaluating(model), torch.no_grad():
            model(images)
    finally:
        for hook in hooks:
            hook.remove()
    if not captured:
        raise DigitlabError(f"{type(model).__name__} has no hidden layer with an activation function to show")
    return captured[0].reshape(len(images), -1)


def active_units(model: nn.Module, image: torch.Tensor, image_shape: tuple[int, int], count: int = TOP_UNITS) -> ActiveUnits:
    """The ``count`` first-layer units that fire hardest for one (H, W) image, and their weight images."""
    layers = linear_layers(model)
    if len(layers) < 2 or any(isinstance(module, nn.Conv2d) for module in model.modules()):
        raise DigitlabError(f"active units need a fully connected network with a hidden layer; {type(model).__name__} is not one")
    activations = first_hidden_activations(model, as_float_images(image))[0]  # (units,)
    top = torch.topk(activations, min(count, len(activations)))
    weights = layers[0].weight.detach()[top.indices].reshape(-1, *image_shape)  # (count, H, W)
    return ActiveUnits(top.indices, top.values, weights.clone(), len(activations))
