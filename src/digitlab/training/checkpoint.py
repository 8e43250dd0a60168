"""Checkpoints: saving a network with its run (spec, history, metrics) and its resumable state.

The folder format and reading it live in :mod:`digitlab.inference.checkpoint` (below training,
for the web app and robustness scoring: one loader, :func:`~digitlab.inference.load_network`);
this module writes it, and reads back the optimizer state that resuming needs.

Writing is atomic as a whole: the tensor files get fresh names, and ``checkpoint.json``, written
last with a temp-file-and-rename, is the commit: it names the files (with their SHA-256) that
belong to it. An interrupted save leaves the previous checkpoint complete; stale files go after
the commit.
"""

from __future__ import annotations

import datetime
import json
import secrets
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

from digitlab import __version__
from digitlab.atomic import atomic_write_bytes, atomic_write_text
from digitlab.inference.checkpoint import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    CheckpointError,
    Manifest,
    has_checkpoint,
    read_manifest,
    read_tensors,
    sha256,
)
from digitlab.models import MODELS, Network

TENSOR_FILE_PATTERNS = ("weights-*.safetensors", "state-*.safetensors")
__all__ = ["CheckpointError", "has_checkpoint", "load_training_state", "save_checkpoint"]


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

def _write_tensors(directory: Path, prefix: str, tensors: dict[str, torch.Tensor], token: str) -> dict[str, str]:
    data = safetensors.torch.save({name: tensor.detach().cpu().contiguous() for name, tensor in tensors.items()})
    name = f"{prefix}-{token}.safetensors"
    atomic_write_bytes(directory / name, data)
    return {"name": name, "sha256": sha256(data)}


def save_checkpoint(
    directory: str | Path,
    model: Network,
    spec: dict[str, Any],
    *,
    classes: tuple[str, ...] | list[str] = (),
    image_shape: tuple[int, int] | None = None,
    history: list[dict[str, Any]] | tuple = (),
    metrics: dict[str, Any] | None = None,
    training_state: dict[str, Any] | None = None,
) -> Path:
    """Write (or replace) the checkpoint in ``directory``; returns the path of its ``checkpoint.json``.

    ``spec`` is the run ``model`` belongs to (``RunSpec.to_dict()``): its model name and config rebuild the
    network when it is loaded, so they must be ``model``'s own. ``training_state`` (optimizer, schedule, RNG)
    makes it resumable.
    """
    if getattr(model, "name", None) not in MODELS:
        raise CheckpointError(f"only networks from digitlab.models can be checkpointed, not {type(model).__name__}")
    if spec.get("model") != model.name or spec.get("model_config") != json.loads(json.dumps(model.config_dict())):
        raise CheckpointError(f"the run spec describes {spec.get('model')} {spec.get('model_config')}, not this "
                              f"{model.name} {model.config_dict()}")
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
    manifest = Manifest(  # the schema the reader checks: one description of the format, written and read
        format=FORMAT, format_version=FORMAT_VERSION, spec=spec, num_parameters=model.num_parameters(), classes=list(classes),
        image_shape=list(image_shape) if image_shape else None, metrics=metrics or {}, history=list(history), files=files,
        training_state=packed_state, created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        versions={"digitlab": __version__, "torch": str(torch.__version__)},
    )
    manifest_path = folder / MANIFEST
    atomic_write_text(manifest_path, manifest.model_dump_json(indent=2) + "\n")  # the commit point
    keep = {entry["name"] for entry in files.values()}
    for pattern in TENSOR_FILE_PATTERNS:
        for stale in folder.glob(pattern):
            if stale.name not in keep:
                stale.unlink(missing_ok=True)
    return manifest_path


# --- loading ----------------------------------------------------------------------------------

def load_training_state(path: str | Path) -> dict[str, Any]:
    """The resumable state saved with a checkpoint (optimizer, schedule, RNG, epoch); error if none."""
    folder, manifest = read_manifest(path)
    entry = manifest.get("files", {}).get("training_state")
    if entry is None or manifest.get("training_state") is None:
        raise CheckpointError(f"checkpoint {folder} holds no training state, so it cannot be resumed")
    try:
        return unpack_state(manifest["training_state"], read_tensors(folder, entry))
    except (KeyError, TypeError, ValueError, AttributeError) as error:  # a tensor reference that names nothing
        raise CheckpointError(f"the training state in {folder} is damaged or was edited ({type(error).__name__}: {error})") from None
