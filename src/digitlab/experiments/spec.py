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
from digitlab.models.registry import MODELS, data_settings, make_config
from digitlab.presets import preset
from digitlab.training.config import TrainConfig
from digitlab.training.device import pick_device

SPEC_VERSION = 1  # bump when a field changes meaning; stored with every run
UNTRAINED_EPOCHS = 0  # train_options.epochs = 0: the notebook's "evaluatie (prelude)", a network that only guesses


def plain(value: Any) -> Any:
    """JSON's view of ``value`` (tuples become lists), so a spec equals itself after a round trip."""
    return json.loads(json.dumps(value))


@dataclass(frozen=True)
class RunSpec:
    """Everything that decides a run's numbers, resolved: no preset is consulted after this."""

    dataset: str  # catalog name, e.g. "mnist"
    kind: str  # "network" (digitlab.training) or "knn" (digitlab.knn)
    model: str  # model registry name; "" for k-NN
    model_config: dict[str, Any]  # every field of the model's config dataclass ({} for k-NN)
    train_config: dict[str, Any]  # every TrainConfig field as used (epochs 0: untrained; {} for k-NN)
    knn_config: dict[str, Any]  # the k-NN pipeline's settings ({} for networks)
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
        return self.kind == "network" and self.train_config.get("epochs") != UNTRAINED_EPOCHS

    def training(self) -> TrainConfig:
        """The TrainConfig this run trains with."""
        if not self.trains:
            raise DigitlabError(f"this {self.kind} run does not train (epochs {self.train_config.get('epochs')})")
        return TrainConfig.from_dict(self.train_config)

    def to_dict(self) -> dict[str, Any]:
        return plain(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSpec:
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DigitlabError(f"unknown run spec settings {unknown}; known: {sorted(known)}")
        return cls(**plain(data))


def model_settings(config: ExperimentConfig, training: dict[str, Any]) -> dict[str, Any]:
    """The model settings a config asks for: inputs and outputs sized for the dataset's images and classes
    (its catalog entry), then the preset's (the notebook's output layer, Fashion-MNIST's test-time views), then
    the config's own."""
    dataset = get_spec(config.dataset)
    sized = data_settings(config.model, dataset.image_shape, dataset.num_classes) if config.model in MODELS else {}
    return {**sized, **preset_model_settings(config, training), **config.model_options}


def preset_model_settings(config: ExperimentConfig, training: dict[str, Any]) -> dict[str, Any]:
    """The model settings of the network's own preset, for the training this run resolved to."""
    try:
        changes = dict(preset(config.model, config.dataset, config.preset).model)
    except ValueError:  # trained with another model's preset that this model has no entry for
        return {}
    if changes.get("test_time_mirror") and not trains_on_mirror_images(training):
        # Mirror views help only a network that saw mirrored images in training (Fashion-MNIST validation: 90.8%
        # against 92.6% from the image alone): a run that replaces the preset's augmentation answers unmirrored.
        changes["test_time_mirror"] = False
    return changes


def trains_on_mirror_images(training: dict[str, Any]) -> bool:
    """Whether a resolved training mirrors images at random (the 'mirror' augmentation)."""
    return "mirror" in training.get("augment", "").split(",")


def train_config(config: ExperimentConfig) -> dict[str, Any]:
    """Every training setting as used: the preset for this model and dataset, the config's overrides, its seed."""
    options = {**config.train_options, "seed": config.seed}
    untrained = options.get("epochs") == UNTRAINED_EPOCHS
    if untrained:
        options.pop("epochs")  # TrainConfig needs at least one epoch; the spec records the 0 below
    trained = preset(config.preset_model or config.model, config.dataset, config.preset).train
    values = replace(trained, **options).to_dict()
    return {**values, "epochs": UNTRAINED_EPOCHS} if untrained else values


def resolve(config: ExperimentConfig, device: str | None = None) -> RunSpec:
    """The spec that runs ``config`` on ``device`` (None/"auto": the best available); bad settings fail here."""
    if config.train_limit is not None and config.validation_size >= config.train_limit:
        raise DigitlabError(f"validation_size {config.validation_size} leaves no training images out of train_limit "
                            f"{config.train_limit}; lower validation_size (0 for none) or raise train_limit")
    try:
        if config.kind == "network":
            training, knn = train_config(config), {}
            model, model_config = config.model, asdict(make_config(config.model, **model_settings(config, training)))
        else:
            model, model_config, training = "", {}, {}
            knn = knn_config(config.knn_options)
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
    return RunSpec(dataset=config.dataset, kind=config.kind, model=model, model_config=plain(model_config),
                   train_config=plain(training), knn_config=plain(knn), train_limit=config.train_limit,
                   test_limit=config.test_limit, validation_size=config.validation_size, seed=config.seed,
                   device=str(pick_device(device)), robustness=config.robustness,
                   robustness_limit=config.robustness_limit if config.robustness else None)


def as_config(spec: RunSpec) -> ExperimentConfig:
    """An experiment config that resolves to exactly ``spec`` (every setting given): what the store records for it."""
    training = {key: value for key, value in spec.train_config.items() if key != "seed"}
    return ExperimentConfig(dataset=spec.dataset, kind=spec.kind, model=spec.model or ExperimentConfig.model,
                            model_options=dict(spec.model_config), train_options=training, knn_options=dict(spec.knn_config),
                            train_limit=spec.train_limit, test_limit=spec.test_limit, validation_size=spec.validation_size,
                            seed=spec.seed, robustness=spec.robustness, robustness_limit=spec.robustness_limit)


def knn_config(options: dict[str, Any]) -> dict[str, Any]:
    """Every setting of the one k-NN pipeline (:class:`~digitlab.knn.pipeline.KNNPipelineConfig`), defaults filled in."""
    from digitlab.knn.pipeline import KNNPipelineConfig

    return KNNPipelineConfig.from_dict(options).to_dict()


def spec_on_device(data: dict[str, Any], device: str | None = None) -> RunSpec:
    """A stored spec (a checkpoint's, to resume it); ``device`` (when given) replaces the one it ran on."""
    spec = RunSpec.from_dict(data)
    return spec if device is None else RunSpec.from_dict({**spec.to_dict(), "device": str(pick_device(device))})
