"""The checkpoint format: one writer (:func:`save_checkpoint`) and one reader (:class:`Manifest`), side by side.

A checkpoint is a folder::

    checkpoint.json                      what the run was (its spec: dataset, model, configs), its history and metrics
    weights-<epoch>-<token>.safetensors  the network's weights
    state-<epoch>-<token>.safetensors    optimizer, schedule and random-generator state (to resume)

It sits here, below training, so that the web app, robustness scoring and the report read it without
importing optimisers and loops (the network comes back through :func:`digitlab.inference.saved.load_network`,
the one loader). It is JSON and safetensors only, so reading never unpickles anything: a checkpoint from
someone else cannot run code on your machine; the manifest is checked against its schema and every
tensor file against its SHA-256 and a size bound before it costs memory.

Writing is atomic as a whole: the tensor files get fresh names, and ``checkpoint.json``, written last
with a temp-file-and-rename, is the commit: it names the files (with their SHA-256) that belong to it.
An interrupted save leaves the previous checkpoint complete; stale files go after the commit.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import secrets
import stat
from pathlib import Path
from typing import Any, Literal

import safetensors.torch
import torch
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, field_validator

from digitlab import __version__
from digitlab.atomic import atomic_write_bytes, atomic_write_text
from digitlab.errors import DigitlabError, describe_errors
from digitlab.models import MODELS, Network

MANIFEST = "checkpoint.json"
MAX_MANIFEST_BYTES = 16 * 1024 * 1024  # a long run's history is kilobytes; beyond this it is not ours
MAX_NETWORK_BYTES = 512 * 1024 * 1024  # the lab's largest network has ~4 MB of weights; a 2 KB config could ask for GBs
MAX_STATE_BYTES = 4 * MAX_NETWORK_BYTES  # optimizer state: Adam keeps two tensors per weight
SAFETENSORS_HEADER_ALLOWANCE = 1024 * 1024  # the JSON header before the tensors (names, shapes, offsets)
FORMAT = "digitlab-checkpoint"
FORMAT_VERSION = 1
TENSOR_FILE_NAME = r"^[A-Za-z0-9._-]+\.safetensors$"  # a bare name: a manifest cannot point outside its folder
TENSOR_FILE_PATTERNS = ("weights-*.safetensors", "state-*.safetensors")


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
    """What :func:`save_checkpoint` writes and :func:`read_manifest` reads: the one description."""

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


def has_checkpoint(directory: str | Path) -> bool:
    return (Path(directory) / MANIFEST).is_file()


# --- writing: the training state (optimizer, schedulers) as JSON + named tensors, then the files and the manifest

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
