"""What an experiment is and what it runs: the config a person asks for, sweeps of it, and the resolved spec.

An :class:`ExperimentConfig` says what a person asked for ("the recommended preset, 5 epochs, hidden
512-512"); it names its parts by registry (model name, optimizer name...) and carries their options as
plain dicts, so it serialises to JSON and TOML unchanged. A :class:`SweepSpec` is a grid over its
settings (a TOML file in ``lab/sweeps``). A :class:`RunSpec` says what runs: the model's full config,
every training setting, the k-NN pipeline, the limits, the seed and the device. The presets
(:mod:`digitlab.presets`) are applied by :func:`resolve` and nowhere else; ``digitlab train``, the sweeps,
the lab, ``tune``, the benchmarks and the notebook all run specs made here. The store keeps each run's
spec, so a preset changed later cannot rewrite what an old run says it did.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from digitlab.datasets.catalog import DEFAULT_DATASET, get_spec
from digitlab.errors import DigitlabError
from digitlab.knn.pipeline import KNNPipelineConfig
from digitlab.models.registry import MODELS, check_settings, make_config
from digitlab.presets import NAMES as PRESET_NAMES
from digitlab.presets import TrainConfig, preset
from digitlab.training.device import pick_device

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

    def configs(self) -> list[ExperimentConfig]:
        """Every grid point's config, in :meth:`points` order."""
        return [self.base.with_params(point) for point in self.points()]

    def specs(self, device: str | None = None) -> dict[str, RunSpec]:
        """Every grid point's resolved spec, by its config's digest; a misspelt setting fails here, before anything runs."""
        return {config.digest(): resolve(config, device) for config in self.configs()}

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


SPEC_VERSION = 1  # bump when a field changes meaning; stored with every run
UNTRAINED_EPOCHS = 0  # train_config.epochs = 0: the notebook's "evaluatie (prelude)", a network that only guesses


def plain(value: Any) -> Any:
    """JSON's view of ``value`` (tuples become lists), so a spec equals itself after a round trip."""
    return json.loads(json.dumps(value))


@dataclass(frozen=True)
class RunSpec:
    """Everything that decides a run's numbers, resolved: no preset is consulted after this.

    The same object is a checkpoint's ``spec`` and the store's record of a run: :meth:`to_dict` writes
    it, :meth:`from_dict` reads it back with its typed sub-configs.
    """

    dataset: str  # catalog name, e.g. "mnist"
    kind: str  # "network" (digitlab.training) or "knn" (digitlab.knn)
    model: str  # model registry name; "" for k-NN
    model_config: Any  # the model's config dataclass (digitlab.models), every field resolved; None for k-NN
    train_config: TrainConfig | None  # every training setting as used (epochs 0: untrained); None for k-NN
    knn_config: KNNPipelineConfig | None  # the k-NN pipeline's settings; None for networks
    train_limit: int | None  # first N training images (None: all)
    test_limit: int | None  # first N test images (None: all)
    validation_size: int  # training images held out and scored every epoch (0: none)
    seed: int  # seeds everything random: weights, shuffles, augmentation, the validation split
    device: str  # "cpu", "cuda", "cuda:1" or "mps", as resolved on the machine that ran it
    robustness: str = ""  # changed test sets also scored, comma separated ("" = none)
    robustness_limit: int | None = None  # the changed sets are made of the first N test images (None: all)
    version: int = SPEC_VERSION  # which meaning of these fields the spec was written with

    @property
    def trains(self) -> bool:
        """False for a network that is only evaluated untrained (epochs 0) and for k-NN."""
        return self.train_config is not None and self.train_config.epochs != UNTRAINED_EPOCHS

    def training(self) -> TrainConfig:
        """The TrainConfig this run trains with."""
        if self.train_config is None or not self.trains:
            raise DigitlabError(f"this {self.kind} run does not train")
        return self.train_config

    def to_dict(self) -> dict[str, Any]:
        """The spec as JSON data (a section a run kind has no use for is ``{}``)."""
        return plain({**asdict(self), **{name: asdict(section) if section is not None else {}
                                         for name, section in self.sections().items()}})

    def sections(self) -> dict[str, Any]:
        return {"model_config": self.model_config, "train_config": self.train_config, "knn_config": self.knn_config}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSpec:
        """A spec from :meth:`to_dict`'s data (a checkpoint's, the store's); a bad setting is a DigitlabError naming it."""
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DigitlabError(f"unknown run spec settings {unknown}; known: {sorted(known)}")
        values = plain(data)
        try:
            model = values.get("model") or ""
            return cls(**{**values, "model_config": make_config(model, **values["model_config"]) if model else None,
                          "train_config": TrainConfig.from_dict(values["train_config"]) if values.get("train_config") else None,
                          "knn_config": KNNPipelineConfig.from_dict(values["knn_config"]) if values.get("knn_config") else None})
        except (KeyError, TypeError, ValueError) as error:
            raise DigitlabError(f"run spec with bad settings: {error}") from error


def model_config_of(config: ExperimentConfig, training: TrainConfig) -> Any:
    """The network's config: its own preset's (the notebook's output layer, Fashion-MNIST's test-time views; a model
    without an entry of that name has its config's defaults), sized for the dataset's images and classes (its catalog
    entry), then the config's own settings."""
    try:
        ready = preset(config.model, config.dataset, config.preset).model_config
    except ValueError:  # trained with another model's preset that this model has no entry for
        ready = None
    ready = ready if ready is not None else make_config(config.model)
    if getattr(ready, "test_time_mirror", False) and not trains_on_mirror_images(training):
        # Mirror views help only a network that saw mirrored images in training (Fashion-MNIST validation: 90.8%
        # against 92.6% from the image alone): a run that replaces the preset's augmentation answers unmirrored.
        ready = replace(ready, test_time_mirror=False)
    check_settings(config.model, config.model_config)
    dataset = get_spec(config.dataset)
    return replace(ready, **{**sized(ready, dataset.image_shape, dataset.num_classes), **config.model_config})


def sized(model_config: Any, image_shape: tuple[int, int], num_classes: int) -> dict[str, Any]:
    """The settings that size a model config for images of ``image_shape`` and ``num_classes`` classes: every config
    names them with the same fields (``input_size`` for flat inputs, ``image_size`` for square images, ``num_classes``)."""
    height, width = image_shape
    known = {item.name for item in fields(model_config)}
    if "image_size" in known and height != width:
        raise ValueError(f"{type(model_config).__name__} takes square images, not {height}x{width}")
    settings = {"input_size": height * width, "image_size": height, "num_classes": num_classes}  # input_size: flattened pixels
    return {key: value for key, value in settings.items() if key in known}


def trains_on_mirror_images(training: TrainConfig) -> bool:
    """Whether a resolved training mirrors images at random (the 'mirror' augmentation)."""
    return "mirror" in training.augment.split(",")


def training_of(config: ExperimentConfig) -> TrainConfig:
    """Every training setting as used: the preset for this model and dataset, the config's overrides, its seed."""
    trained = preset(config.preset_model or config.model, config.dataset, config.preset).train_config
    return TrainConfig.from_dict({**trained.to_dict(), **config.train_config, "seed": config.seed})


def resolve(config: ExperimentConfig, device: str | None = None) -> RunSpec:
    """The spec that runs ``config`` on ``device`` (None/"auto": the best available); bad settings fail here."""
    if config.train_limit is not None and config.validation_size >= config.train_limit:
        raise DigitlabError(f"validation_size {config.validation_size} leaves no training images out of train_limit "
                            f"{config.train_limit}; lower validation_size (0 for none) or raise train_limit")
    try:
        training = training_of(config) if config.kind == "network" else None
        model_config = model_config_of(config, training) if training is not None else None
        knn = KNNPipelineConfig.from_dict(config.knn_config) if config.kind == "knn" else None
        if config.robustness:
            from digitlab.robustness.evaluate import parse_transforms

            parse_transforms(config.robustness)
        if config.preset_model and config.preset_model not in MODELS:
            raise ValueError(f"preset_model must name a model ({', '.join(MODELS)}) or be empty, got {config.preset_model!r}")
        limit = config.robustness_limit
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ValueError(f"robustness_limit must be a positive number of test images or absent, got {limit!r}")
    except (TypeError, ValueError) as error:  # the config dataclasses name the bad setting
        raise DigitlabError(f"bad experiment settings {config.to_dict()}: {error}") from error
    return RunSpec(dataset=config.dataset, kind=config.kind, model=config.model if training is not None else "",
                   model_config=model_config, train_config=training, knn_config=knn, train_limit=config.train_limit,
                   test_limit=config.test_limit, validation_size=config.validation_size, seed=config.seed,
                   device=str(pick_device(device)), robustness=config.robustness,
                   robustness_limit=config.robustness_limit if config.robustness else None)


def as_config(spec: RunSpec) -> ExperimentConfig:
    """An experiment config that resolves to exactly ``spec`` (every setting given): what the store records for it."""
    data = spec.to_dict()
    data["train_config"].pop("seed", None)  # the run's seed is the config's own field
    shared = {field.name for field in fields(ExperimentConfig)} & set(data)
    return ExperimentConfig(**{**{name: data[name] for name in shared}, "model": spec.model or ExperimentConfig.model})


def spec_on_device(data: dict[str, Any], device: str | None = None) -> RunSpec:
    """A stored spec (a checkpoint's, to resume it); ``device`` (when given) replaces the one it ran on."""
    spec = RunSpec.from_dict(data)
    return spec if device is None else replace(spec, device=str(pick_device(device)))
