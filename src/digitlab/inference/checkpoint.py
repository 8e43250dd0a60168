"""Reading a checkpoint for predictions: the network back from its JSON manifest and safetensors weights.

The format (written by :func:`digitlab.training.save_checkpoint`) is a folder::

    checkpoint.json                      what the run was (its spec: dataset, model, configs), its history and metrics
    weights-<epoch>-<token>.safetensors  the network's weights
    state-<epoch>-<token>.safetensors    optimizer, schedule and random-generator state (to resume)

Reading sits here, below training, so that the web app, robustness scoring and the report load a
network without importing optimisers and loops. It reads JSON and safetensors only, so it never
unpickles anything: a checkpoint from someone else cannot run code on your machine, and it is
checked before it can cost memory: the manifest against its schema (:class:`Manifest`, below),
the network its config describes built first on torch's "meta" device (shapes only, no memory) and
bounded in size, and the weight file's size, header shapes and dtypes compared with it before the
real network is built.
"""

from __future__ import annotations

import hashlib
import json
import math
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import safetensors.torch
import torch
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, field_validator

from digitlab.errors import DigitlabError, describe_errors
from digitlab.models import Network, make_config

MANIFEST = "checkpoint.json"
MAX_MANIFEST_BYTES = 16 * 1024 * 1024  # a long run's history is kilobytes; beyond this it is not ours
MAX_NETWORK_BYTES = 512 * 1024 * 1024  # the lab's largest network has ~4 MB of weights; a 2 KB config could ask for GBs
MAX_STATE_BYTES = 4 * MAX_NETWORK_BYTES  # optimizer state: Adam keeps two tensors per weight
SAFETENSORS_HEADER_ALLOWANCE = 1024 * 1024  # the JSON header before the tensors (names, shapes, offsets)
FORMAT = "digitlab-checkpoint"
FORMAT_VERSION = 1
TENSOR_FILE_NAME = r"^[A-Za-z0-9._-]+\.safetensors$"  # a bare name: a manifest cannot point outside its folder


# --- the schema of checkpoint.json: every field checked for its type (strictly: "5" is no number, 5 no class name)
# before anything is built from it; unknown extra fields are kept, missing optional ones get their defaults.

class TensorFile(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    name: StrictStr = Field(pattern=TENSOR_FILE_NAME)
    sha256: StrictStr = Field(pattern=r"^[0-9a-f]{64}$")


class Files(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")

    weights: TensorFile
    training_state: TensorFile | None = None


class Manifest(BaseModel):
    """What ``save_checkpoint`` writes (digitlab.training.checkpoint) and ``load_network`` reads: the one description."""

    model_config = ConfigDict(strict=True, extra="allow")

    format: Literal["digitlab-checkpoint"]
    format_version: Literal[1]
    # The run the network belongs to, as RunSpec.to_dict() writes it (digitlab.experiments.spec reads it back typed): its
    # model and model_config rebuild the network, its dataset names the images and classes it answers for.
    spec: dict[str, Any]
    classes: list[StrictStr] = []
    image_shape: list[StrictInt] | None = None  # (height, width) of the images it was trained on
    num_parameters: StrictInt | None = None
    metrics: dict[str, Any] = {}
    history: list[dict[str, Any]] = []
    files: Files
    training_state: Any = None
    created: StrictStr = ""
    versions: dict[str, StrictStr] = {}

    @field_validator("spec")
    @classmethod
    def spec_describes_a_network(cls, spec: dict[str, Any]) -> dict[str, Any]:
        for key, kind in (("dataset", str), ("model", str), ("model_config", dict)):
            if not isinstance(spec.get(key), kind) or not spec[key]:
                raise ValueError(f"spec.{key} must be a non-empty {kind.__name__}, got {spec.get(key)!r}")
        return spec

    @field_validator("metrics")
    @classmethod
    def accuracies_are_fractions(cls, metrics: dict[str, Any]) -> dict[str, Any]:
        for key, value in metrics.items():
            if key.endswith("accuracy") and value is not None:
                if isinstance(value, bool) or not isinstance(value, int | float) or not (math.isfinite(value) and 0 <= value <= 1):
                    raise ValueError(f"{key} must be a number in 0..1 or null, got {value!r}")
        return metrics


def parse_manifest(data: Any) -> Manifest:
    """``data`` (parsed JSON) as a Manifest; ValueError naming the first offending fields otherwise."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"not a digitlab checkpoint (format {found!r})")
    if data.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"checkpoint format {data.get('format_version')!r}; this digitlab reads format {FORMAT_VERSION}")
    try:
        return Manifest.model_validate(data)
    except ValidationError as error:
        raise ValueError(describe_errors(error.errors(), "manifest")) from None


class CheckpointError(DigitlabError):
    """A checkpoint is missing, incomplete, corrupt or from an unknown format."""


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


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_path(path: str | Path) -> Path:
    """``checkpoint.json`` of a checkpoint given as its folder, its manifest or one of its weight files."""
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST
    elif path.suffix == ".safetensors":
        path = path.parent / MANIFEST
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}: expected a folder holding {MANIFEST} (written by `digitlab train --out`)")
    return path


def read_manifest(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """The checkpoint folder and its ``checkpoint.json``, checked against the schema (defaults filled in)."""
    manifest_file = manifest_path(path)
    try:
        if manifest_file.stat().st_size > MAX_MANIFEST_BYTES:
            raise CheckpointError(f"{manifest_file} is {manifest_file.stat().st_size:,} bytes; a checkpoint manifest "
                                  f"has at most {MAX_MANIFEST_BYTES:,}")
        data = json.loads(manifest_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else error
        raise CheckpointError(f"{manifest_file} is not a readable checkpoint manifest: {reason}") from None
    try:
        manifest = parse_manifest(data)
    except ValueError as error:
        raise CheckpointError(f"{manifest_file}: {error}") from None
    return manifest_file.parent, manifest.model_dump()


def read_tensors(folder: Path, entry: dict[str, str], max_bytes: int = MAX_STATE_BYTES) -> dict[str, torch.Tensor]:
    """The tensors of one file the manifest names, checked against its SHA-256; at most ``max_bytes`` read."""
    path = folder / Path(entry["name"]).name  # a bare file name: a manifest cannot point outside its folder
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # a symlink to /dev/zero, a pipe: never read until memory runs out
            raise CheckpointError(f"checkpoint file {path} is not a regular file")
        if info.st_size > max_bytes:
            raise CheckpointError(f"checkpoint file {path} is {info.st_size:,} bytes; its network needs at most {max_bytes:,}")
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as error:
        raise CheckpointError(f"checkpoint file {path} is missing or unreadable: {error.strerror or error}") from error
    if sha256(data) != entry["sha256"]:
        raise CheckpointError(f"checkpoint file {path} is corrupt or was changed: its SHA-256 differs from {MANIFEST}'s")
    try:
        return safetensors.torch.load(data)
    except Exception as error:  # safetensors raises its own error types for damaged headers
        raise CheckpointError(f"checkpoint file {path} is not valid safetensors: {error}") from error


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


def has_checkpoint(directory: str | Path) -> bool:
    return (Path(directory) / MANIFEST).is_file()
