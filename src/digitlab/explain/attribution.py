"""Attribution maps with captum: which pixels pushed a network towards a class.

Four methods, all from captum rather than written here:

- ``saliency``: |d score / d pixel|, one backward pass (the fast path);
- ``integrated_gradients``: the gradient averaged along the path from a black image to the input,
  times the input (``ig_steps`` forward/backward passes; ``fast_ig_steps`` for the web);
- ``occlusion``: how much the score drops when a small square is blacked out (one forward pass
  per square position; model-agnostic);
- ``grad_cam``: the last convolutional block's feature maps weighted by their gradients (CNNs only),
  upsampled to the image.

Every method returns (N, H, W) float32 maps: higher means "more evidence for the target class".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from captum.attr import IntegratedGradients, LayerAttribution, LayerGradCam, Occlusion, Saliency
from torch import nn

from digitlab.errors import DigitlabError
from digitlab.inference import as_float_images

METHODS = ("saliency", "integrated_gradients", "occlusion", "grad_cam")
FAST_METHODS = ("saliency", "grad_cam")  # a drawing explained in a few milliseconds per network
BLACK = 0.0  # the baseline of IG and occlusion: no ink, MNIST's background


@dataclass(frozen=True)
class AttributionConfig:
    ig_steps: int = 32  # points on the path from black to the image (captum's default is 50; 32 is within 1% here)
    occlusion_window: int = 4  # side of the blacked-out square in pixels (a stroke is ~2-3 pixels wide)
    occlusion_stride: int = 2  # pixels between square positions: 13 x 13 positions on a 28-pixel side
    batch_size: int = 256  # perturbed images per forward pass (IG steps, occlusion positions)

    def __post_init__(self) -> None:
        for name in ("ig_steps", "occlusion_window", "occlusion_stride", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)!r}")


FAST_IG = AttributionConfig(ig_steps=8)  # the web's integrated gradients: 8 steps, a few ms per drawing


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` in eval mode (no dropout, BatchNorm's running statistics), restored afterwards."""
    training = [module for module in model.modules() if module.training]
    for module in training:
        module.eval()
    try:
        yield model
    finally:
        for module in training:
            module.train()


def grad_cam_layer(model: nn.Module) -> nn.Module:
    """The layer Grad-CAM looks at: the network's last convolutional block (the output of ``features``)."""
    features = getattr(model, "features", None)
    if isinstance(features, nn.Sequential) and any(isinstance(m, nn.Conv2d) for m in features.modules()):
        return features[-1]
    convolutions = [module for module in model.modules() if isinstance(module, nn.Conv2d)]
    if not convolutions:
        raise DigitlabError(f"grad_cam needs a convolutional network; {type(model).__name__} has no Conv2d layer "
                            f"(use one of {', '.join(m for m in METHODS if m != 'grad_cam')})")
    return convolutions[-1]


def has_convolutions(model: nn.Module) -> bool:
    return any(isinstance(module, nn.Conv2d) for module in model.modules())


def predicted_classes(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(images).argmax(dim=1)  # (N,)


def attribute(model: nn.Module, images: torch.Tensor, method: str = "saliency", targets: torch.Tensor | int | None = None,
              config: AttributionConfig | None = None) -> torch.Tensor:
    """Attribution maps (N, H, W) of ``method`` for ``images`` (N, H, W) or (H, W), uint8 or floats in [0, 1].

    ``targets``: the class explained per image (an int for all); default the model's own answer.

    >>> from digitlab.models import build
    >>> attribute(build("mlp", hidden_sizes=[16]), torch.zeros(2, 28, 28, dtype=torch.uint8)).shape
    torch.Size([2, 28, 28])
    """
    if method not in METHODS:
        raise DigitlabError(f"unknown attribution method {method!r}; choose one of {', '.join(METHODS)}")
    config = config or AttributionConfig()
    inputs = as_float_images(images)  # (N, H, W) float32 in [0, 1]
    with evaluating(model):
        if targets is None:
            targets = predicted_classes(model, inputs)
        elif isinstance(targets, int):
            targets = torch.full((len(inputs),), targets, dtype=torch.long)
        return _attribute(model, inputs, method, targets, config).detach().to(torch.float32)


def _attribute(model: nn.Module, inputs: torch.Tensor, method: str, targets: torch.Tensor, config: AttributionConfig) -> torch.Tensor:
    inputs = inputs.clone().requires_grad_(method != "occlusion")  # the gradient methods differentiate w.r.t. the pixels
    if method == "saliency":
        return Saliency(model).attribute(inputs, target=targets, abs=True)
    if method == "integrated_gradients":
        # internal_batch_size counts path points x images: keep one block of perturbed images bounded
        return IntegratedGradients(model).attribute(inputs, baselines=BLACK, target=targets, n_steps=config.ig_steps,
                                                    internal_batch_size=max(config.batch_size, len(inputs)))
    if method == "occlusion":
        window, stride = config.occlusion_window, config.occlusion_stride
        return Occlusion(model).attribute(inputs, sliding_window_shapes=(window, window), strides=(stride, stride),
                                          baselines=BLACK, target=targets, perturbations_per_eval=max(1, config.batch_size // len(inputs)))
    layer = grad_cam_layer(model)
    cam = LayerGradCam(model, layer).attribute(inputs, target=targets, relu_attributions=True)  # (N, 1, h, w)
    maps = LayerAttribution.interpolate(cam, tuple(inputs.shape[1:]), interpolate_mode="bilinear")[:, 0]  # (N, H, W)
    if getattr(model, "views", 1) > 1:  # the block saw every test-time view: V*N maps (CNN test_time_mirror / _shift)
        # Each view's gradient carries its weight in the answer, so the sum of the views' maps, each moved back onto
        # the image, is the weighted mean of their Grad-CAMs.
        maps = model.views_to_image(maps).sum(dim=0)  # (V, N, H, W) -> (N, H, W)
    return maps


def methods_for(model: nn.Module, methods: tuple[str, ...] = METHODS) -> tuple[str, ...]:
    """The methods of ``methods`` that apply to ``model`` (Grad-CAM only with convolutions)."""
    return tuple(method for method in methods if method != "grad_cam" or has_convolutions(model))
