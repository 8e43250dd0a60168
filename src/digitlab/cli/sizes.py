"""Settings checked before any work starts, and the defaults ``--help`` shows for the training options.

A misspelt augmentation is refused before the settings are printed (a network too large to train is refused by
the run pipeline, :func:`digitlab.experiments.runner.check_network_size`, for every command).
"""

from __future__ import annotations

from dataclasses import fields

from digitlab.datasets import DEFAULT_DATASET
from digitlab.errors import DigitlabError
from digitlab.images import parse_augment
from digitlab.models.registry import MODEL_NAMES, MODELS, OPTION_FIELDS
from digitlab.presets import preset


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
    shown = {name: _show(getattr(preset(name, DEFAULT_DATASET).train_config, field)) for name in MODEL_NAMES}
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

