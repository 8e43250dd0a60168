"""One change at a time: every comparison the report declares differs, in the runs' stored specs, in exactly its setting."""

from __future__ import annotations

import pytest

from digitlab.experiments import open_storage
from digitlab.experiments.store import load_sweeps
from digitlab.report import parts
from digitlab.report.compare import COMPARISONS, PLAIN, differences, differences_text, pair


@pytest.fixture(scope="module")
def sweeps(lab_url):
    return load_sweeps(open_storage(lab_url), "mnist")


def roles_of(anchor: str) -> dict[str, str]:
    return next(part.roles for part in parts.PARTS if part.anchor == anchor)


@pytest.mark.parametrize("declared", COMPARISONS, ids=lambda declared: declared.key)
def test_each_declared_comparison_differs_in_exactly_its_setting(declared, sweeps):
    roles = roles_of(declared.part)
    found = pair(declared, sweeps.get(roles[declared.first]), sweeps.get(roles[declared.second]))
    assert found is not None, f"{declared.key}: the lab's sweeps lack one of its two runs"
    first, second = found
    assert first.spec is not None and second.spec is not None  # read from the stored specs, not from presets
    assert list(differences(first, second)) == [declared.about], differences_text(differences(first, second))


def test_differences_lists_every_setting_that_differs(sweeps):
    logits = sweeps["simple-logits"].find({"train_config.epochs": 10, "train_config.batch_size": 512})
    course = sweeps["simple-notebook"].find({"train_config.epochs": 10, "train_config.batch_size": 128})
    found = differences(course, logits)
    assert found == {"model_config.outputs": ("sigmoid", "logits"), "train_config.batch_size": (128, 512)}
    assert differences_text(found) == "outputs: sigmoid → logits; batch size: 128 → 512"
    assert differences(course, course) == {}


def test_a_different_model_is_one_difference_not_a_config_each(sweeps):
    mlp, cnn = (sweeps["robustness"].find({"model": model, "train_config.augment": PLAIN}) for model in ("mlp", "cnn"))
    assert set(differences(mlp, cnn)) == {"model"}
    tuned = sweeps["mlp-best"].runs[0]  # the tuned MLP trains with its own preset: more than the model differs
    assert {"model", "train_config.epochs"} <= set(differences(tuned, cnn))
