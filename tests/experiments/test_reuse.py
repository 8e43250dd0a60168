"""A run is computed once per store: equal resolved specs share one computation, anything else runs."""

import json

import pytest

from digitlab.errors import DigitlabError
from digitlab.evaluation.scores import decode_predictions
from digitlab.experiments import ExperimentConfig, SweepSpec, list_runs, open_storage, run_grid
from digitlab.experiments.runner import run
from digitlab.experiments.spec import resolve
from digitlab.experiments.store import REUSED_FROM
from digitlab.experiments.sweep import resolving, reusing
from tests.training.synthetic import synthetic_dataset

DATA = synthetic_dataset(n_train=240, n_test=80)
TINY_MLP = {"hidden_sizes": [16], "num_classes": 4}


def counting_evaluate(calls):
    def evaluate(spec, report):
        calls.append(spec)
        return run(spec, dataset=DATA, report=report)
    return evaluate


def reusing_on_cpu(calls, storage):
    return resolving(reusing(counting_evaluate(calls), storage), "cpu")


def mlp_sweep(name, grid, **base):
    options = {"model": "mlp", "model_config": TINY_MLP, "train_config": {"epochs": 1, "batch_size": 32}, "validation_size": 40}
    return SweepSpec(name, ExperimentConfig(**{**options, **base}), grid)


def test_a_point_whose_spec_already_ran_is_that_run_and_says_so(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path}/runs.db")
    calls = []
    [first] = run_grid(mlp_sweep("hidden", {"seed": [1]}), storage, reusing_on_cpu(calls, storage))
    # The same network asked for another way (another sweep, the setting in the grid instead of the base).
    later = mlp_sweep("depth", {"model_config.hidden_sizes": [[16], [8]]}, seed=1)
    runs = run_grid(later, storage, reusing_on_cpu(calls, storage))

    assert len(calls) == 2  # the [16] point was not trained again; [8] was
    by_hidden = {tuple(json.loads(run.params["model_config.hidden_sizes"])): run for run in runs}  # stored as JSON text
    reused, fresh = by_hidden[(16,)], by_hidden[(8,)]
    assert reused.result[REUSED_FROM] == {"run": first.id, "study": first.study}
    assert reused.spec == first.spec and reused.result["history"] == first.result["history"]
    assert reused.metrics == first.metrics and reused.value == first.value
    assert REUSED_FROM not in fresh.result and fresh.spec != first.spec


def test_a_different_seed_or_a_cut_short_run_is_not_reused(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path}/runs.db")
    calls = []
    run_grid(mlp_sweep("budget", {"seed": [1]}, train_config={"epochs": 3, "batch_size": 32, "time_budget": 1e-9}),
             storage, reusing_on_cpu(calls, storage))
    run_grid(mlp_sweep("again", {"seed": [1]}, train_config={"epochs": 3, "batch_size": 32, "time_budget": 1e-9}),
             storage, reusing_on_cpu(calls, storage))
    run_grid(mlp_sweep("seeds", {"seed": [2]}), storage, reusing_on_cpu(calls, storage))
    assert len(calls) == 3  # stopped by its time budget: not the full spec, so run again; seed 2 is another run
    assert all(REUSED_FROM not in run.result for run in list_runs(storage))


def test_a_preset_model_trains_one_model_with_another_models_preset():
    mlp_as_cnn = resolve(ExperimentConfig(model="mlp", preset_model="cnn"), "cpu")
    cnn = resolve(ExperimentConfig(model="cnn"), "cpu")
    mlp = resolve(ExperimentConfig(model="mlp"), "cpu")
    assert mlp_as_cnn.train_config == cnn.train_config != mlp.train_config
    assert mlp_as_cnn.model_config == mlp.model_config
    with pytest.raises(DigitlabError, match="preset_model"):
        resolve(ExperimentConfig(model="mlp", preset_model="transformer"))


def test_robustness_is_scored_on_the_first_n_test_images_when_limited():
    config = ExperimentConfig(model="mlp", model_config=TINY_MLP, train_config={"epochs": 1, "batch_size": 32},
                              validation_size=40, robustness="shift,invert", robustness_limit=30)
    limited = run(resolve(config, "cpu"), dataset=DATA)
    whole = run(resolve(ExperimentConfig(**{**config.to_dict(), "robustness_limit": None}), "cpu"), dataset=DATA)
    assert limited["robustness_size"] == 30 and whole["robustness_size"] == len(DATA.test)
    assert limited["metrics"]["test_size"] == whole["metrics"]["test_size"] == len(DATA.test)  # the plain score: all
    # Each limited score is a count out of 30 images (a multiple of 1/30), and the unchanged set is the
    # first 30 test images: its score is the plain predictions' accuracy on exactly those.
    for transform, scores in limited["robustness"].items():
        for strength, value in scores.items():
            assert round(value * 30) == pytest.approx(value * 30, abs=1e-6), (transform, strength)
    first = decode_predictions(limited["test_predictions"])[:30]
    assert limited["robustness"]["shift"]["0"] == pytest.approx(float((first == DATA.test.labels[:30]).float().mean()))
    with pytest.raises(DigitlabError, match="robustness_limit"):
        resolve(ExperimentConfig(model="mlp", robustness="shift", robustness_limit=0))
