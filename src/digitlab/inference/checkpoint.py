"""Reading a checkpoint for predictions: the network back from its JSON manifest and safetensors weights.

The format (written by :func:`digitlab.training.save_checkpoint`) is a folder::

    checkpoint.json                      what the run was (model, configs, dataset, history, metrics)
    weights-<epoch>-<token>.safetensors  the network's weights
    state-<epoch>-<token>.safetensors    optimizer, schedule and random-generator state (to resume)

Reading sits here, below training, so that the web app, robustness scoring and the report load a
network without importing optimisers and loops. It reads JSON and safetensors only, so it never
unpickles anything: a checkpoint from someone else cannot run code on your machine.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

from digitlab.errors import DigitlabError
from digitlab.models import Network, build

MANIFEST = "checkpoint.json"
FORMAT = "digitlab-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(DigitlabError):
    """A checkpoint is missing, incomplete, corrupt or from an unknown format."""


@dataclass
class SavedNetwork:
    """A loaded network (eval mode, on the CPU) and everything its checkpoint says about its run."""

    path: Path
    model: Network
    model_name: str
    config: Any  # the model's config dataclass
    dataset: str | None
    classes: tuple[str, ...]
    metrics: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    num_parameters: int = 0
    created: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    train_settings: dict[str, Any] | None = None  # the TrainConfig as stored (plain data)


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
    """The checkpoint folder and its parsed ``checkpoint.json`` (validated format)."""
    manifest_file = manifest_path(path)
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{manifest_file} is not a readable checkpoint manifest: {error}") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{manifest_file} is not a digitlab checkpoint (format {manifest.get('format') if isinstance(manifest, dict) else None!r})")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{manifest_file} has checkpoint format {manifest.get('format_version')!r}; "
                              f"this digitlab reads format {FORMAT_VERSION}")
    return manifest_file.parent, manifest


def read_tensors(folder: Path, entry: dict[str, str]) -> dict[str, torch.Tensor]:
    """The tensors of one file the manifest names, checked against its SHA-256."""
    path = folder / Path(entry["name"]).name  # a bare file name: a manifest cannot point outside its folder
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CheckpointError(f"checkpoint file {path} is missing: {error.strerror}") from error
    if sha256(data) != entry["sha256"]:
        raise CheckpointError(f"checkpoint file {path} is corrupt or was changed: its SHA-256 differs from {MANIFEST}'s")
    try:
        return safetensors.torch.load(data)
    except Exception as error:  # safetensors raises its own error types for damaged headers
        raise CheckpointError(f"checkpoint file {path} is not valid safetensors: {error}") from error


def load_network(path: str | Path) -> SavedNetwork:
    """Load a checkpoint folder (or its ``checkpoint.json``): the network comes back in eval mode on the CPU."""
    folder, manifest = read_manifest(path)
    try:
        model = build(manifest["model_name"], **manifest["config"])
        model.load_state_dict(read_tensors(folder, manifest["files"]["weights"]))
        train_settings = manifest.get("train_config")
        if train_settings is not None and not isinstance(train_settings, dict):
            raise TypeError(f"train_config must be an object, got {type(train_settings).__name__}")
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"checkpoint {folder} does not match its own description: {error}") from error
    model.eval()
    return SavedNetwork(
        path=folder,
        model=model,
        model_name=manifest["model_name"],
        config=model.config,
        dataset=manifest.get("dataset"),
        classes=tuple(manifest.get("classes", ())),
        metrics=manifest.get("metrics", {}),
        history=manifest.get("history", []),
        num_parameters=model.num_parameters(),
        created=manifest.get("created", ""),
        versions=manifest.get("versions", {}),
        train_settings=train_settings,
    )


def has_checkpoint(directory: str | Path) -> bool:
    return (Path(directory) / MANIFEST).is_file()
