"""Build any network by name: ``build("mlp", hidden_sizes=[512, 512])``.

The registry is what lets a checkpoint, a sweep or the CLI say "mlp with these settings" as plain
data (a name and a dict) and get the same network back. ``build(name, image_shape=..., num_classes=...)``
sizes a network for a dataset: every config names its input and output sizes with the same fields
(``input_size`` for flat inputs, ``image_size`` for square images, ``num_classes``), so a new model
gets this for free.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from digitlab.models.base import Network
from digitlab.models.cnn import CNN, CNNConfig
from digitlab.models.complex import ComplexConfig, ComplexNetwork
from digitlab.models.mlp import MLP, MLPConfig
from digitlab.models.simple import SimpleConfig, SimpleNetwork

MODELS: dict[str, tuple[type[Network], type]] = {
    SimpleNetwork.name: (SimpleNetwork, SimpleConfig),
    ComplexNetwork.name: (ComplexNetwork, ComplexConfig),
    MLP.name: (MLP, MLPConfig),
    CNN.name: (CNN, CNNConfig),
}
MODEL_NAMES = tuple(MODELS)

def _lookup(name: str) -> tuple[type[Network], type]:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    return MODELS[name]


def make_config(name: str, **overrides: Any) -> Any:
    """The config dataclass of model ``name`` with ``overrides`` applied (unknown keys are an error)."""
    _, config_class = _lookup(name)
    known = {field.name for field in fields(config_class)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"model {name!r} has no setting {', '.join(map(repr, unknown))}; its settings are {', '.join(sorted(known))}")
    return config_class(**overrides)


def data_settings(name: str, image_shape: tuple[int, int] | None, num_classes: int | None) -> dict[str, Any]:
    """The settings of model ``name`` that size it for images of ``image_shape`` and ``num_classes`` classes."""
    _, config_class = _lookup(name)
    known = {field.name for field in fields(config_class)}
    settings: dict[str, Any] = {}
    if num_classes is not None:
        settings["num_classes"] = num_classes
    if image_shape is not None:
        height, width = image_shape
        if "input_size" in known:
            settings["input_size"] = height * width  # flattened pixels
        if "image_size" in known:
            if height != width:
                raise ValueError(f"model {name!r} takes square images, not {height}x{width}")
            settings["image_size"] = height
    return {key: value for key, value in settings.items() if key in known}


def build(name: str, *, image_shape: tuple[int, int] | None = None, num_classes: int | None = None,
          **overrides: Any) -> Network:
    """A freshly initialised network: ``build("cnn", channels=[32, 64])``, sized for a dataset when given.

    >>> build("complex", outputs="softmax").num_parameters()
    669706
    >>> build("mlp", image_shape=(20, 20), num_classes=5).config.input_size
    400
    """
    sized = data_settings(name, image_shape, num_classes)
    clashes = {key: value for key, value in overrides.items() if key in sized and sized[key] != value}
    if clashes:
        raise ValueError(f"model {name!r}: {clashes} contradict the data ({sized}); leave them out to size it from the data")
    return make_config(name, **{**overrides, **sized}).build()

