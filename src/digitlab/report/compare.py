"""One change at a time: which settings two stored runs differ in, and the comparisons the report draws.

Every comparison the report draws (sigmoid against logits, MLP against CNN, with and without
augmentation) is declared here as data: which part, which two of its roles (sweeps), which runs of
them (by settings), and the one setting it is about. :func:`differences` reads the two runs' stored
specs (``experiments/spec.py``), so the page says which settings differ as the runs ran them, and a
test checks from stored runs that each declared comparison differs in exactly the setting it names.

>>> differences(sigmoid_run, logits_run)                     # doctest: +SKIP
{'model_config.outputs': ('sigmoid', 'logits')}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from digitlab.experiments.store import Run, SweepRuns
from digitlab.i18n import current
from digitlab.report.i18n import t
from digitlab.report.inputs import Inputs
from digitlab.report.links import setting_label, setting_value, spec_data

# Spec fields that say nothing about how a run trained or was scored: left out of the differences.
IGNORED = frozenset({"version", "train_config.seed"})  # the spec's own format; the seed is also a top-level field
MODEL_CONFIG = "model_config"  # compared field by field only between runs of the same model


def spec_fields(run: Run) -> dict[str, Any]:
    """The run's settings as flat dotted fields ('train_config.lr': 0.01), from its stored spec."""
    flat: dict[str, Any] = {}
    for key, value in spec_data(run).items():
        if isinstance(value, dict):
            flat.update({f"{key}.{name}": item for name, item in value.items()})
        else:
            flat[key] = value
    return {key: value for key, value in flat.items() if key not in IGNORED}


def differences(first: Run, second: Run) -> dict[str, tuple[Any, Any]]:
    """The settings two runs differ in: {dotted field: (first's value, second's value)}, in spec order.

    Two different models have different configs by construction, so between them the model is one
    difference and their model configs are not listed field by field.
    """
    a, b = spec_fields(first), spec_fields(second)
    same_model = a.get("model") == b.get("model")
    found = {}
    for key in dict.fromkeys([*a, *b]):
        if key.startswith(MODEL_CONFIG + ".") and not same_model:
            continue
        if a.get(key) != b.get(key):
            found[key] = (a.get(key), b.get(key))
    return found


def differences_text(found: dict[str, tuple[Any, Any]]) -> str:
    """'outputs: sigmoid → logits; batch size: 128 → 512'; 'nothing' when the runs are alike."""
    text = "; ".join(f"{setting_label(key)}: {setting_value(a)} → {setting_value(b)}" for key, (a, b) in found.items())
    return text or current()("value.nothing")


@dataclass(frozen=True)
class Comparison:
    """Two runs the report sets side by side, and the one setting they should differ in."""

    key: str  # names the comparison (and its sentence in the message catalog)
    part: str  # the anchor of the part that draws it (report/parts.py)
    first: str  # role of the first run's sweep in that part
    second: str  # role of the second run's sweep
    about: str  # the dotted spec field the comparison is about: the only one allowed to differ
    first_settings: dict[str, Any] = field(default_factory=dict)  # config settings picking the first run ({}: any)
    second_settings: dict[str, Any] = field(default_factory=dict)


COURSE = {"train_config.epochs": 10, "train_config.batch_size": 512}  # the course's own epochs and batch size
AUGMENTATION = "shift,rotate,scale,invert"  # what sweep 12 augments with
PLAIN = ""  # sweep 12 without augmentation: none at all
COMPARISONS = (
    Comparison("simple-outputs", "simple", "notebook", "logits", "model_config.outputs", COURSE, COURSE),
    Comparison("complex-outputs", "complex", "notebook", "logits", "model_config.outputs", COURSE, COURSE),
    Comparison("plain-mlp-cnn", "robustness", "augmented", "augmented", "model",
               {"model": "mlp", "train_config.augment": PLAIN}, {"model": "cnn", "train_config.augment": PLAIN}),
    Comparison("augmented-mlp-cnn", "robustness", "augmented", "augmented", "model",
               {"model": "mlp", "train_config.augment": AUGMENTATION}, {"model": "cnn", "train_config.augment": AUGMENTATION}),
    Comparison("mlp-augment", "robustness", "augmented", "augmented", "train_config.augment",
               {"model": "mlp", "train_config.augment": PLAIN}, {"model": "mlp", "train_config.augment": AUGMENTATION}),
    Comparison("cnn-augment", "robustness", "augmented", "augmented", "train_config.augment",
               {"model": "cnn", "train_config.augment": PLAIN}, {"model": "cnn", "train_config.augment": AUGMENTATION}),
)


def comparison(key: str) -> Comparison:
    return next(item for item in COMPARISONS if item.key == key)


def pick(sweep: SweepRuns | None, settings: dict[str, Any]) -> Run | None:
    """The sweep's run with these config settings (dotted), or None."""
    if sweep is None:
        return None
    return sweep.find(settings)


def pair(declared: Comparison, first: SweepRuns | None, second: SweepRuns | None) -> tuple[Run, Run] | None:
    """The two runs a comparison sets side by side, from the sweeps playing its roles; None when one is missing."""
    a, b = pick(first, declared.first_settings), pick(second, declared.second_settings)
    return None if a is None or b is None else (a, b)


def declared_pair(inputs: Inputs, key: str) -> tuple[Run, Run] | None:
    """The two runs of the declared comparison ``key``, from the sweeps playing its roles in ``inputs``' part."""
    declared = comparison(key)
    return pair(declared, inputs.sweep(declared.first), inputs.sweep(declared.second))


def differs_sentence(first: Run, second: Run) -> Markup:
    """What the page prints beside a comparison: every setting the two runs differ in, read from their specs."""
    found = differences(first, second)
    key = "compare.one" if len(found) == 1 else "compare.none" if not found else "compare.more"
    return t(key, fields=differences_text(found), first=first.id, second=second.id)
