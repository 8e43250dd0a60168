"""What an experiment is: one typed config (plus a seed) that fully describes a run, and sweeps of it.

A config names its parts by registry (model name, optimizer name...) and carries their options as
plain dicts, so it serialises to JSON and TOML unchanged and the store can key runs by it.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from digitlab.datasets.catalog import DEFAULT_DATASET
from digitlab.errors import DigitlabError
from digitlab.presets import NAMES as PRESET_NAMES

KINDS = ("network", "knn")
DEFAULT_VALIDATION_SIZE = 5000  # held out of the 60k training images; tuning never sees the test set


@dataclass
class ExperimentConfig:
    """One run: which data, which classifier, how it is trained, with which seed."""

    dataset: str = DEFAULT_DATASET  # a name in the dataset catalog (digitlab.datasets.catalog)
    kind: str = "network"  # "network" (digitlab.training) or "knn" (digitlab.knn)
    model: str = "simple"  # model registry name, for networks: simple, complex, mlp, cnn
    model_config: dict[str, Any] = field(default_factory=dict)  # passed to models.build(model, **...)
    preset: str = "recommended"  # the training it starts from: "recommended" (tuned), "augmented" or "notebook" (the course's)
    train_config: dict[str, Any] = field(default_factory=dict)  # TrainConfig fields overriding the preset
    knn_config: dict[str, Any] = field(default_factory=dict)  # KNNClassifier params plus pca / deskew
    train_limit: int | None = None  # first N training images only (quick runs); None = all
    test_limit: int | None = None  # first N test images only; None = all
    validation_size: int = DEFAULT_VALIDATION_SIZE  # held-out training images scored each epoch
    seed: int = 0  # seeds weights, shuffling and the validation split
    robustness: str = ""  # also score changed test sets, comma separated: shift, rotate, scale, invert, noise, ... ("" = no)
    robustness_limit: int | None = None  # score the changed sets on the first N test images only (None = all of them)
    preset_model: str = ""  # train with this model's preset instead of the model's own ("" = its own): one training, two networks

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DigitlabError(f"experiment kind must be one of {KINDS}, got {self.kind!r}")
        if self.preset not in PRESET_NAMES:
            raise DigitlabError(f"experiment preset must be one of {PRESET_NAMES}, got {self.preset!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExperimentConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise DigitlabError(f"unknown experiment settings {sorted(unknown)}; known: {sorted(known)}")
        return cls(**copy.deepcopy(data))

    def with_params(self, params: dict[str, Any]) -> ExperimentConfig:
        """A copy with dotted ``params`` applied: ``{"train_config.batch_size": 32, "seed": 1}``."""
        data = self.to_dict()
        for path, value in params.items():
            head, _, tail = path.partition(".")
            if head not in data:
                raise DigitlabError(f"cannot set {path!r}: no experiment setting {head!r}")
            if tail:
                if not isinstance(data[head], dict):
                    raise DigitlabError(f"cannot set {path!r}: {head!r} has no sub-settings")
                data[head][tail] = value
            else:
                data[head] = value
        return ExperimentConfig.from_dict(data)

    def digest(self) -> str:
        """A short stable hash of the whole config, for naming studies."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:10]


@dataclass
class SweepSpec:
    """A grid over config fields: every combination of ``grid`` values applied to ``base``."""

    name: str  # short label, e.g. "simple-epochs-batch"
    base: ExperimentConfig  # what every run shares
    grid: dict[str, list[Any]]  # dotted setting -> values, e.g. {"train_config.epochs": [1, 5, 10]}
    description: str = ""  # one line for the report and `runs list`
    save_model: bool = False  # the lab keeps the checkpoint of its runs (what `digitlab serve` shows)

    def __post_init__(self) -> None:
        for path, values in self.grid.items():
            if not values:
                raise DigitlabError(f"sweep {self.name!r}: no values for {path!r}")
            self.base.with_params({path: values[0]})  # fails early on a misspelt setting

    def points(self) -> list[dict[str, Any]]:
        """Every grid point as a params dict, in a stable order."""
        keys = list(self.grid)
        return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(self.grid[k] for k in keys))]

    @property
    def study_name(self) -> str:
        """Unique per (name, dataset, base config, grid): change any of them and it is a new study."""
        payload = json.dumps({"base": self.base.to_dict(), "grid": self.grid}, sort_keys=True)
        return f"{self.name}@{self.base.dataset}#{hashlib.sha256(payload.encode()).hexdigest()[:8]}"


def load_sweep_file(path: str | Path, dataset: str | None = None) -> SweepSpec:
    """Read a TOML sweep: ``name``, ``description``, a ``[base]`` table and a ``[grid]`` table."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise DigitlabError(f"{path}: cannot read sweep file ({error})") from error
    if not data.get("grid"):
        raise DigitlabError(f"{path}: no [grid] table; a sweep needs at least one setting with a list of values")
    base = data.get("base", {})
    if dataset is not None:
        base = {**base, "dataset": dataset}
    try:
        return SweepSpec(
            name=data.get("name", path.stem),
            base=ExperimentConfig.from_dict(base),
            grid={key: list(values) if isinstance(values, list) else [values] for key, values in data.get("grid", {}).items()},
            description=data.get("description", ""),
            save_model=bool(data.get("save_model", False)),
        )
    except TypeError as error:
        raise DigitlabError(f"{path}: {error}") from error
