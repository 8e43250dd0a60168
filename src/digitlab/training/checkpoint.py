"""Checkpoints: safetensors weights plus one JSON file with config, history and metrics.

A checkpoint is a folder::

    checkpoint.json                      what the run was (model, configs, dataset, history, metrics)
    weights-<epoch>-<token>.safetensors  the network's weights
    state-<epoch>-<token>.safetensors    optimizer, schedule and random-generator state (to resume)

Writing is atomic as a whole: the tensor files get fresh names, and ``checkpoint.json``, written
last with a temp-file-and-rename, is the commit: it names the files (with their SHA-256) that
belong to it. An interrupted save leaves the previous checkpoint complete; stale files go after
the commit. Loading reads JSON and safetensors only, so it never unpickles anything: a
checkpoint from someone else cannot run code on your machine.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

from digitlab import __version__
from digitlab.atomic import atomic_write_bytes, atomic_write_text
from digitlab.errors import DigitlabError
from digitlab.models import MODELS, Network, build
from digitlab.training.config import TrainConfig

MANIFEST = "checkpoint.json"
FORMAT = "digitlab-checkpoint"
FORMAT_VERSION = 1
TENSOR_FILE_PATTERNS = ("weights-*.safetensors", "state-*.safetensors")


class CheckpointError(DigitlabError):
    """A checkpoint is missing, incomplete, corrupt or from an unknown format."""


@dataclass
class Checkpoint:
    """A loaded checkpoint: the network (eval mode, on the CPU) and everything known about its run."""

    path: Path
    model: Network
    model_name: str
    config: Any  # the model's config dataclass
    train_config: TrainConfig | None
    dataset: str | None
    classes: tuple[str, ...]
    metrics: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    num_parameters: int = 0
    created: str = ""
    versions: dict[str, str] = field(default_factory=dict)


# --- nested state (optimizer, schedulers) as JSON + named tensors --------------------------------

def pack_state(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Replace every tensor in ``value`` by a reference into ``tensors``, leaving JSON-able data."""
    if isinstance(value, torch.Tensor):
        name = f"t{len(tensors)}"
        tensors[name] = value.detach().cpu().contiguous()
        return {"__tensor__": name}
    if isinstance(value, dict):
        if all(isinstance(key, str) for key in value):
            return {key: pack_state(item, tensors) for key, item in value.items()}
        return {"__items__": [[key, pack_state(item, tensors)] for key, item in value.items()]}  # int keys
    if isinstance(value, list | tuple):
        return [pack_state(item, tensors) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in a checkpoint")


def unpack_state(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of :func:`pack_state`."""
    if isinstance(value, dict):
        if set(value) == {"__tensor__"}:
            return tensors[value["__tensor__"]]
        if set(value) == {"__items__"}:
            return {key: unpack_state(item, tensors) for key, item in value["__items__"]}
        return {key: unpack_state(item, tensors) for key, item in value.items()}
    if isinstance(value, list):
        return [unpack_state(item, tensors) for item in value]
    return value


# --- saving -----------------------------------------------------------------------------------

def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_tensors(directory: Path, prefix: str, tensors: dict[str, torch.Tensor], token: str) -> dict[str, str]:
    data = safetensors.torch.save({name: tensor.detach().cpu().contiguous() for name, tensor in tensors.items()})
    name = f"{prefix}-{token}.safetensors"
    atomic_write_bytes(directory / name, data)
    return {"name": name, "sha256": _sha256(data)}


def save_checkpoint(
    directory: str | Path,
    model: Network,
    *,
    train_config: TrainConfig | None = None,
    dataset: str | None = None,
    classes: tuple[str, ...] | list[str] = (),
    history: list[dict[str, Any]] | tuple = (),
    metrics: dict[str, Any] | None = None,
    training_state: dict[str, Any] | None = None,
) -> Path:
    """Write (or replace) the checkpoint in ``directory``; returns the path of its ``checkpoint.json``.

    ``model`` must be a registry network (``digitlab.models.build``), so that loading can rebuild
    it from its name and config. ``training_state`` (optimizer, schedule, RNG) makes it resumable.
    """
    if getattr(model, "name", None) not in MODELS:
        raise CheckpointError(f"only networks from digitlab.models can be checkpointed, not {type(model).__name__}")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    epoch = len(history)
    token = f"e{epoch:04d}-{secrets.token_hex(4)}"  # a fresh name: never overwrite the committed files
    files = {"weights": _write_tensors(folder, "weights", model.state_dict(), token)}
    packed_state = None
    if training_state is not None:
        state_tensors: dict[str, torch.Tensor] = {}
        packed_state = pack_state(training_state, state_tensors)
        files["training_state"] = _write_tensors(folder, "state", state_tensors, token)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_name": model.name,
        "config": model.config_dict(),
        "outputs": model.outputs,
        "num_parameters": model.num_parameters(),
        "dataset": dataset,
        "classes": list(classes),
        "train_config": train_config.to_dict() if train_config else None,
        "metrics": metrics or {},
        "history": list(history),
        "files": files,
        "training_state": packed_state,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "versions": {"digitlab": __version__, "torch": torch.__version__},
    }
    manifest_path = folder / MANIFEST
    atomic_write_text(manifest_path, json.dumps(manifest, indent=2) + "\n")  # the commit point
    keep = {entry["name"] for entry in files.values()}
    for pattern in TENSOR_FILE_PATTERNS:
        for stale in folder.glob(pattern):
            if stale.name not in keep:
                stale.unlink(missing_ok=True)
    return manifest_path


# --- loading ----------------------------------------------------------------------------------

def _manifest_path(path: str | Path) -> Path:
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST
    elif path.suffix == ".safetensors":
        path = path.parent / MANIFEST
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}: expected a folder holding {MANIFEST} (written by `digitlab train --out`)")
    return path


def read_manifest(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """The checkpoint folder and its parsed ``checkpoint.json`` (validated format)."""
    manifest_path = _manifest_path(path)
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{manifest_path} is not a readable checkpoint manifest: {error}") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{manifest_path} is not a digitlab checkpoint (format {manifest.get('format') if isinstance(manifest, dict) else None!r})")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{manifest_path} has checkpoint format {manifest.get('format_version')!r}; "
                              f"this digitlab reads format {FORMAT_VERSION}")
    return manifest_path.parent, manifest


def _read_tensors(folder: Path, entry: dict[str, str]) -> dict[str, torch.Tensor]:
    path = folder / Path(entry["name"]).name  # a bare file name: a manifest cannot point outside its folder
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CheckpointError(f"checkpoint file {path} is missing: {error.strerror}") from error
    if _sha256(data) != entry["sha256"]:
        raise CheckpointError(f"checkpoint file {path} is corrupt or was changed: its SHA-256 differs from {MANIFEST}'s")
    try:
        return safetensors.torch.load(data)
    except Exception as error:  # safetensors raises its own error types for damaged headers
        raise CheckpointError(f"checkpoint file {path} is not valid safetensors: {error}") from error


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Load a checkpoint folder (or its ``checkpoint.json``): the network comes back in eval mode on the CPU."""
    folder, manifest = read_manifest(path)
    try:
        model = build(manifest["model_name"], **manifest["config"])
        model.load_state_dict(_read_tensors(folder, manifest["files"]["weights"]))
        train_config = TrainConfig.from_dict(manifest["train_config"]) if manifest.get("train_config") else None
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"checkpoint {folder} does not match its own description: {error}") from error
    model.eval()
    return Checkpoint(
        path=folder,
        model=model,
        model_name=manifest["model_name"],
        config=model.config,
        train_config=train_config,
        dataset=manifest.get("dataset"),
        classes=tuple(manifest.get("classes", ())),
        metrics=manifest.get("metrics", {}),
        history=manifest.get("history", []),
        num_parameters=model.num_parameters(),
        created=manifest.get("created", ""),
        versions=manifest.get("versions", {}),
    )


def load_training_state(path: str | Path) -> dict[str, Any]:
    """The resumable state saved with a checkpoint (optimizer, schedule, RNG, epoch); error if none."""
    folder, manifest = read_manifest(path)
    entry = manifest.get("files", {}).get("training_state")
    if entry is None or manifest.get("training_state") is None:
        raise CheckpointError(f"checkpoint {folder} holds no training state, so it cannot be resumed")
    return unpack_state(manifest["training_state"], _read_tensors(folder, entry))


def has_checkpoint(directory: str | Path) -> bool:
    return (Path(directory) / MANIFEST).is_file()
