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


def network(name: str, config: Any) -> Network:
    """A freshly initialised network of model ``name`` from its config dataclass (a resolved run's)."""
    network_class, config_class = _lookup(name)
    if not isinstance(config, config_class):
        raise ValueError(f"model {name!r} takes a {config_class.__name__}, not a {type(config).__name__}")
    return network_class(config)


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
    return network(name, make_config(name, **{**overrides, **sized}))


# Command-line options -> the config field each sets; an option applies to a model whose config has the field.
OPTION_FIELDS = {"--hidden-sizes": "hidden_sizes", "--activation": "activation", "--dropout": "dropout", "--channels": "channels",
                 "--kernel-size": "kernel_size", "--padding": "padding", "--test-time-mirror": "test_time_mirror",
                 "--test-time-shift": "test_time_shift"}


def command_line_settings(name: str, given: dict[str, Any]) -> dict[str, Any]:
    """Model settings from ``digitlab train`` / ``summary`` options ({field: value}; None: not given), checked against
    the fields model ``name`` has: an option for a field it lacks is an error naming the options it takes."""
    _, config_class = _lookup(name)
    known = {field.name for field in fields(config_class)}
    settings = {field: value for field, value in given.items() if value is not None}
    if kernel_size := settings.get("kernel_size"):  # one size for every block, or one per block
        settings["kernel_size"] = kernel_size[0] if len(kernel_size) == 1 else kernel_size
    wrong = [option for option, field in OPTION_FIELDS.items() if field in settings and field not in known]
    if wrong:
        allowed = sorted(option for option, field in OPTION_FIELDS.items() if field in known)
        raise ValueError(f"{', '.join(wrong)} does not apply to --model {name} (it takes {', '.join(allowed) or 'no such options'})")
    return settings
