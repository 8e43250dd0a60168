"""Build any network by name: ``build("mlp", hidden_sizes=[512, 512])``.

The registry is what lets a checkpoint, a sweep or the CLI say "mlp with these settings" as plain
data (a name and a dict) and get the same network back: the loader rebuilds a checkpoint's network from
its spec here. A run's network is sized for its dataset when the run is resolved (``experiments/spec.py``).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from digitlab.errors import refuse_unknown_settings
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


def check_settings(name: str, settings: Any) -> None:
    """Refuse a setting model ``name``'s config does not have, naming the ones it has."""
    refuse_unknown_settings(f"model {name!r}", settings, (field.name for field in fields(_lookup(name)[1])))


def make_config(name: str, **overrides: Any) -> Any:
    """The config dataclass of model ``name`` with ``overrides`` applied (unknown keys are an error)."""
    check_settings(name, overrides)
    return _lookup(name)[1](**overrides)


def build(name: str, **overrides: Any) -> Network:
    """A freshly initialised network: ``build("cnn", channels=[32, 64])``.

    >>> build("complex", outputs="softmax").num_parameters()
    669706
    """
    return make_config(name, **overrides).build()
