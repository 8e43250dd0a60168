"""Settings checked before any work starts, and the defaults ``--help`` shows for the training options.

A network too large to train is refused with the memory it would need, before torch tries to allocate
it (``--hidden-sizes 100000000`` asks for hundreds of GB); a misspelt augmentation is refused before the
settings are printed.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import psutil

from digitlab.datasets import DEFAULT_DATASET
from digitlab.errors import DigitlabError
from digitlab.images import parse_augment
from digitlab.inference.checkpoint import MAX_NETWORK_BYTES, skeleton
from digitlab.models.registry import MODEL_NAMES, MODELS, OPTION_FIELDS
from digitlab.presets import preset

OPTIMIZER_COPIES = {"adam": 2, "adamw": 2, "sgd": 1, "adadelta": 2}  # tensors of state per weight each optimizer keeps
TRAINING_COPIES = 2  # the weights themselves and their gradients
BYTES_PER_GIGABYTE = 1e9


def _gigabytes(count: float) -> str:
    return f"{count / BYTES_PER_GIGABYTE:,.1f} GB"


def check_network_size(model: str, config: Any, optimizer: str) -> None:
    """Refuse a network whose training would not fit in free memory, or whose checkpoint digitlab could not load back."""
    try:
        network = skeleton(model, config)  # on the "meta" device: shapes only, no memory
    except (TypeError, ValueError) as error:
        raise DigitlabError(str(error)) from error
    weights = sum(p.numel() * p.element_size() for p in network.parameters())
    needed = weights * (TRAINING_COPIES + OPTIMIZER_COPIES.get(optimizer, 2))
    free = psutil.virtual_memory().available
    count = sum(p.numel() for p in network.parameters())
    if needed > free or weights > MAX_NETWORK_BYTES:
        limit = f"this machine has {_gigabytes(free)} free" if needed > free else \
            f"a checkpoint holds at most {_gigabytes(MAX_NETWORK_BYTES)} of weights"
        raise DigitlabError(f"this {model} has {count:,} parameters and needs {_gigabytes(needed)} to train (weights, "
                            f"gradients and {optimizer}'s state); {limit}: choose smaller --hidden-sizes or --channels")


def check_augment(text: str) -> None:
    """One line naming the unknown augmentation and the known ones."""
    try:
        parse_augment(text)
    except ValueError as error:
        raise DigitlabError(f"--augment: {error}") from None


def _show(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "none"
    return str(value) if value not in (None, "") else "none"


def preset_default(field: str) -> str:
    """What the recommended preset sets ``field`` to for each model on the default dataset: the default --help shows."""
    shown = {name: _show(getattr(preset(name, DEFAULT_DATASET).train, field)) for name in MODEL_NAMES}
    if len(set(shown.values())) == 1:
        return next(iter(shown.values()))
    return ", ".join(f"{name} {value}" for name, value in shown.items())


def model_default(option: str) -> str:
    """Each model's default for a model option (``--hidden-sizes``, ``--dropout``...), for --help; models without it are left out."""
    shown = []
    for name in MODEL_NAMES:
        defaults = {item.name: item.default for item in fields(MODELS[name][1])}
        if OPTION_FIELDS[option] in defaults:
            shown.append(f"{name} {_show(defaults[OPTION_FIELDS[option]])}")
    return ", ".join(shown)

