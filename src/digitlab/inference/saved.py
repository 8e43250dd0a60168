"""A saved network back from its checkpoint, checked before it can cost memory: the one loader.

The web app, the report, robustness scoring, explanations and resuming a run all load here. The
manifest and the tensor files are read by :mod:`digitlab.inference.checkpoint` (the format); this
module builds the network its spec describes on torch's "meta" device first (shapes only, no
memory), bounds its size, compares the weight file's shapes and dtypes with it, and only then
builds the real network and checks that it answers finite numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from digitlab.inference.checkpoint import MAX_NETWORK_BYTES, SAFETENSORS_HEADER_ALLOWANCE, CheckpointError, read_manifest, read_tensors
from digitlab.models import Network, make_config


@dataclass
class SavedNetwork:
    """A loaded network (eval mode, on the CPU) and everything its checkpoint says about its run."""

    path: Path
    model: Network
    spec: dict[str, Any]  # the run that trained it (RunSpec.to_dict()): `digitlab train --resume` runs it again
    classes: tuple[str, ...]
    metrics: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    num_parameters: int = 0
    created: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    image_shape: tuple[int, int] | None = None  # (height, width) of the images it was trained on

    @property
    def model_name(self) -> str:
        return self.spec["model"]

    @property
    def dataset(self) -> str:
        return self.spec["dataset"]

    @property
    def num_classes(self) -> int:
        return self.model.config.num_classes




def skeleton(config: Any) -> Network:
    """The network of a model's config dataclass, on the "meta" device: every shape, no memory."""
    with torch.device("meta"):
        return config.build()


def check_weights(folder: Path, expected: dict[str, torch.Tensor], weights: dict[str, torch.Tensor]) -> None:
    """Every tensor the config's network has, with its shape and dtype; nothing more."""
    missing, extra = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
    if missing or extra:
        raise CheckpointError(f"checkpoint {folder}: its weights do not fit its config (missing {missing[:3]}, unexpected {extra[:3]})")
    for name, tensor in expected.items():
        if weights[name].shape != tensor.shape or weights[name].dtype != tensor.dtype:
            raise CheckpointError(f"checkpoint {folder}: weight {name} is {tuple(weights[name].shape)} {weights[name].dtype}, "
                                  f"its config needs {tuple(tensor.shape)} {tensor.dtype}")


def check_finite(folder: Path, weights: dict[str, torch.Tensor]) -> None:
    """No NaN or infinite weight: such a network answers every image with garbage, and says nothing."""
    for name, tensor in weights.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            bad = int((~torch.isfinite(tensor)).sum())
            raise CheckpointError(f"checkpoint {folder}: weight {name} holds {bad:,} values that are NaN or infinite; "
                                  "its training diverged: train it again (a lower --lr often helps)")


@torch.no_grad()
def check_probe(folder: Path, model: Network, image_shape: tuple[int, int] | None) -> None:
    """Finite outputs on a blank and a full image: finite weights can still overflow (float32 ends at 3.4e38)."""
    if image_shape is None:
        return
    probe = torch.stack([torch.zeros(image_shape), torch.ones(image_shape)])
    try:
        outputs = model(probe)
    except RuntimeError as error:
        raise CheckpointError(f"checkpoint {folder}: its network fails on a {image_shape[0]}x{image_shape[1]} "
                              f"image: {error}") from error
    if not bool(torch.isfinite(outputs).all()):
        raise CheckpointError(f"checkpoint {folder}: its network answers NaN or infinity on a blank or a full image; "
                              "its weights are too large to compute with: train it again (a lower --lr often helps)")


def load_network(path: str | Path) -> SavedNetwork:
    """Load a checkpoint folder (or its ``checkpoint.json``): the network comes back in eval mode on the CPU."""
    folder, manifest = read_manifest(path)
    spec = manifest["spec"]
    try:
        config = make_config(spec["model"], **spec["model_config"])
        shapes = skeleton(config)
    except (TypeError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"checkpoint {folder} does not match its own description: {error}") from error
    expected = shapes.state_dict()
    needed = sum(tensor.numel() * tensor.element_size() for tensor in expected.values())
    if needed > MAX_NETWORK_BYTES:
        raise CheckpointError(f"checkpoint {folder}: its config describes a network of {needed:,} bytes; "
                              f"digitlab loads at most {MAX_NETWORK_BYTES:,}")
    weights = read_tensors(folder, manifest["files"]["weights"], max_bytes=needed + SAFETENSORS_HEADER_ALLOWANCE)
    check_weights(folder, expected, weights)
    check_finite(folder, weights)
    try:
        model = config.build()
        model.load_state_dict(weights)
    except (TypeError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"checkpoint {folder} does not match its own description: {error}") from error
    model.eval()
    image_shape = stored_image_shape(manifest, model)
    check_probe(folder, model, image_shape)
    return SavedNetwork(path=folder, model=model, spec=spec, classes=tuple(manifest["classes"]), metrics=manifest["metrics"],
                        history=manifest["history"], num_parameters=model.num_parameters(), created=manifest["created"],
                        versions=manifest["versions"], image_shape=image_shape)


def stored_image_shape(manifest: dict[str, Any], model: Network) -> tuple[int, int] | None:
    """The image shape the manifest records, else the one the network's input size implies."""
    shape = manifest.get("image_shape")
    if isinstance(shape, list) and len(shape) == 2 and all(isinstance(side, int) and side > 0 for side in shape):
        return (shape[0], shape[1])
    config = model.config
    if hasattr(config, "image_size"):
        return (config.image_size, config.image_size)
    side = math.isqrt(getattr(config, "input_size", 0))
    return (side, side) if side and side * side == config.input_size else None  # flat inputs: square images
