"""The presets table: one entry per model x dataset x name, read by every run."""

from dataclasses import replace

import pytest

from digitlab import presets
from digitlab.experiments import ExperimentConfig
from digitlab.experiments.spec import resolve
from digitlab.models import MLPConfig, SimpleConfig
from digitlab.presets import ANY_DATASET, NAMES, PRESETS, Preset, model_changes, preset, recommended
from digitlab.training import TrainConfig


def test_a_datasets_own_entry_wins_and_overrides_win_over_both():
    assert recommended("cnn", "fashion-mnist").epochs > recommended("cnn").epochs  # harder data, longer training
    assert recommended("cnn", "mnist") == recommended("cnn")  # no entry of its own: the one for every dataset
    assert recommended("cnn", "fashion-mnist", epochs=2).epochs == 2
    assert recommended("unknown-model") == TrainConfig()
    assert model_changes(preset("cnn", "fashion-mnist").model_config) == {"test_time_mirror": True, "test_time_shift": 1}
    assert preset("simple", name="notebook").model_config == SimpleConfig(outputs="sigmoid")


def test_every_key_names_a_preset_and_every_run_resolves_from_the_table(monkeypatch):
    assert {name for _, _, name in PRESETS} == set(NAMES)
    changed = Preset(recommended("mlp", epochs=3, label_smoothing=0.2), MLPConfig(dropout=0.1))
    monkeypatch.setitem(PRESETS, ("mlp", "mnist", "recommended"), changed)
    spec = resolve(ExperimentConfig(model="mlp", train_config={"lr": 0.01}), "cpu")
    assert spec.train_config == replace(changed.train_config, lr=0.01, seed=0)
    assert spec.model_config.dropout == 0.1


def test_the_help_table_names_every_preset_and_its_label_smoothing():
    lines = presets.table()
    assert len(lines) == len(PRESETS)
    assert any(line.startswith("cnn augmented:") and "label smoothing 0.1" in line and "channels 32,64" in line for line in lines)
    assert all("label smoothing" in line for line in lines)
    with pytest.raises(ValueError, match="the augmented preset trains cnn and mlp, not 'simple'"):
        preset("simple", ANY_DATASET, "augmented")


def test_a_preset_without_a_model_config_trains_the_models_defaults(monkeypatch):
    monkeypatch.setitem(PRESETS, ("mlp", "mnist", "recommended"), Preset(recommended("mlp", epochs=3)))
    assert resolve(ExperimentConfig(model="mlp"), "cpu").model_config == MLPConfig()  # MNIST's sizes are the defaults
    assert "mlp recommended on mnist: 3 epochs" in "\n".join(presets.table())
