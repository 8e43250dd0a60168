"""What a run is: a resolved, serialisable spec, made from an experiment config in one place.

An :class:`~digitlab.experiments.config.ExperimentConfig` says what a person asked for ("the
recommended preset, 5 epochs, hidden 512-512"). A :class:`RunSpec` says what runs: the model's full
config, every training setting, the k-NN pipeline, the limits, the seed and the device. The presets
(:mod:`digitlab.presets`) are applied by :func:`resolve` and nowhere else; ``digitlab train``, the sweeps,
the lab, ``tune``, the benchmarks and the notebook all run specs made here. The store keeps each run's spec, so a preset changed later cannot rewrite
what an old run says it did.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from digitlab.datasets.catalog import get_spec
from digitlab.errors import DigitlabError
from digitlab.experiments.config import ExperimentConfig
from digitlab.knn.pipeline import KNNPipelineConfig
from digitlab.models.registry import MODELS, data_settings, make_config
from digitlab.presets import preset
from digitlab.training.config import TrainConfig
from digitlab.training.device import pick_device

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


def model_settings(config: ExperimentConfig, training: TrainConfig) -> dict[str, Any]:
    """The model settings a config asks for: inputs and outputs sized for the dataset's images and classes
    (its catalog entry), then the preset's (the notebook's output layer, Fashion-MNIST's test-time views), then
    the config's own."""
    dataset = get_spec(config.dataset)
    sized = data_settings(config.model, dataset.image_shape, dataset.num_classes) if config.model in MODELS else {}
    return {**sized, **preset_model_settings(config, training), **config.model_config}


def preset_model_settings(config: ExperimentConfig, training: TrainConfig) -> dict[str, Any]:
    """The model settings of the network's own preset, for the training this run resolved to."""
    try:
        changes = dict(preset(config.model, config.dataset, config.preset).model_config)
    except ValueError:  # trained with another model's preset that this model has no entry for
        return {}
    if changes.get("test_time_mirror") and not trains_on_mirror_images(training):
        # Mirror views help only a network that saw mirrored images in training (Fashion-MNIST validation: 90.8%
        # against 92.6% from the image alone): a run that replaces the preset's augmentation answers unmirrored.
        changes["test_time_mirror"] = False
    return changes


def trains_on_mirror_images(training: TrainConfig) -> bool:
    """Whether a resolved training mirrors images at random (the 'mirror' augmentation)."""
    return "mirror" in training.augment.split(",")


def training_of(config: ExperimentConfig) -> TrainConfig:
    """Every training setting as used: the preset for this model and dataset, the config's overrides, its seed."""
    trained = preset(config.preset_model or config.model, config.dataset, config.preset).train_config
    return replace(trained, **{**config.train_config, "seed": config.seed})


def resolve(config: ExperimentConfig, device: str | None = None) -> RunSpec:
    """The spec that runs ``config`` on ``device`` (None/"auto": the best available); bad settings fail here."""
    if config.train_limit is not None and config.validation_size >= config.train_limit:
        raise DigitlabError(f"validation_size {config.validation_size} leaves no training images out of train_limit "
                            f"{config.train_limit}; lower validation_size (0 for none) or raise train_limit")
    try:
        training = training_of(config) if config.kind == "network" else None
        model_config = make_config(config.model, **model_settings(config, training)) if training is not None else None
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
