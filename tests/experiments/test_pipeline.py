"""One run pipeline: `digitlab train` and a lab sweep run the same spec the same way, seeded before anything is built."""

import json

import pytest
import torch

from digitlab.cli.main import main
from digitlab.errors import DigitlabError
from digitlab.experiments import ExperimentConfig, SweepSpec, open_storage, run_grid
from digitlab.experiments.runner import evaluator, run
from digitlab.experiments.spec import RunSpec, resolve, sized
from digitlab.experiments.sweep import resolving
from digitlab.inference import load_network
from digitlab.models import make_config
from digitlab.presets import recommended
from tests.cli.helpers import register_synthetic_mnist
from tests.training.synthetic import synthetic_dataset

TIMINGS = ("seconds", "elapsed", "samples_per_second", "eval_seconds")  # wall-clock: the only numbers that may differ


def without_timings(history: list[dict]) -> list[dict]:
    return [{key: value for key, value in epoch.items() if key not in TIMINGS} for epoch in history]


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    return register_synthetic_mnist(tmp_path, monkeypatch, 300, 64)


def test_train_command_and_a_lab_sweep_give_the_identical_history(data_dir, tmp_path):
    out = tmp_path / "cli"
    assert main(["train", "--model", "mlp", "--hidden-sizes", "24", "--epochs", "3", "--batch-size", "32", "--validation-size", "60",
                 "--seed", "3", "--device", "cpu", "--out", str(out)]) == 0
    base = ExperimentConfig(model="mlp", model_config={"hidden_sizes": [24]}, train_config={"epochs": 3, "batch_size": 32},
                            validation_size=60, seed=3)
    storage = open_storage(f"sqlite:///{tmp_path}/runs.db")
    evaluate = resolving(evaluator(data_dir=data_dir, cache_dir=tmp_path / "cache"), "cpu")
    [stored] = run_grid(SweepSpec("same", base, {"seed": [3]}), storage, evaluate)

    assert stored.spec.to_dict() == load_network(out).spec  # one resolved spec, however it was asked for
    saved = load_network(out).history
    assert len(saved) == 3 and without_timings(saved) == without_timings(stored.result["history"])
    assert saved[-1]["test_accuracy"] == stored.metrics["test_accuracy"]


def test_a_sweep_point_scores_the_same_alone_and_after_another_sweep(tmp_path):
    data = synthetic_dataset(n_train=240, n_test=80)
    point = SweepSpec("point", ExperimentConfig(model="mlp", model_config={"hidden_sizes": [16], "num_classes": 4},
                                                train_config={"epochs": 2, "batch_size": 32}, validation_size=40), {"seed": [1]})
    other = SweepSpec("other", ExperimentConfig(model="cnn", model_config={"channels": [4], "num_classes": 4},
                                                train_config={"epochs": 1, "batch_size": 64}, validation_size=40), {"seed": [7]})

    def evaluate(config, report):
        return run(resolve(config, "cpu"), dataset=data, report=report)

    [alone] = run_grid(point, open_storage(f"sqlite:///{tmp_path}/alone.db"), evaluate)
    together = open_storage(f"sqlite:///{tmp_path}/together.db")
    run_grid(other, together, evaluate)  # draws from every random generator first
    after = next(r for r in list(run_grid(point, together, evaluate)) if r.study == point.study_name)
    assert after.metrics["test_accuracy"] == alone.metrics["test_accuracy"]
    assert without_timings(after.result["history"]) == without_timings(alone.result["history"])


def test_one_spec_run_three_times_in_one_process_gives_one_result():
    data = synthetic_dataset(n_train=200, n_test=60)
    spec = resolve(ExperimentConfig(model="mlp", model_config={"hidden_sizes": [16], "num_classes": 4}, validation_size=0,
                                    train_config={"epochs": 1, "batch_size": 32}), "cpu")
    results = [run(spec, dataset=data) for _ in range(3)]
    assert len({result["test_predictions"] for result in results}) == 1


def test_the_spec_holds_every_setting_resolved_and_survives_json():
    spec = resolve(ExperimentConfig(dataset="fashion-mnist", model="cnn", train_config={"lr": 0.002}, seed=4), "cpu")
    assert spec.train_config == recommended("cnn", "fashion-mnist", lr=0.002, seed=4)  # the dataset's preset applied
    assert spec.train_config.epochs == recommended("cnn", "fashion-mnist").epochs != recommended("cnn").epochs
    assert spec.model_config.channels == (16, 32) and spec.model_config.num_classes == 10  # the default CNN (16-32 channels)
    assert RunSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    notebook = resolve(ExperimentConfig(model="simple", preset="notebook"), "cpu")
    assert notebook.model_config.outputs == "sigmoid" and notebook.train_config.notebook_faithful
    untrained = resolve(ExperimentConfig(model="simple", preset="notebook", train_config={"epochs": 0}), "cpu")
    assert untrained.train_config.epochs == 0 and not untrained.trains


def test_a_catalog_entry_changes_the_model_of_its_setup_only():
    fashion = resolve(ExperimentConfig(dataset="fashion-mnist", model="cnn"), "cpu")
    assert fashion.model_config.test_time_mirror and fashion.train_config.augment == "shift,mirror"  # trained as it predicts
    assert not resolve(ExperimentConfig(dataset="mnist", model="cnn"), "cpu").model_config.test_time_mirror
    augmented = resolve(ExperimentConfig(dataset="fashion-mnist", model="cnn", preset="augmented"), "cpu")
    assert not augmented.model_config.test_time_mirror  # the entry names "cnn", not "cnn-augmented"
    own = resolve(ExperimentConfig(dataset="fashion-mnist", model="cnn", model_config={"test_time_mirror": False}), "cpu")
    assert not own.model_config.test_time_mirror  # a config's own setting wins
    other = resolve(ExperimentConfig(dataset="fashion-mnist", model="cnn", train_config={"augment": "shift"}), "cpu")
    assert not other.model_config.test_time_mirror and other.model_config.test_time_shift == 1  # no mirrored batches
    asked = ExperimentConfig(dataset="fashion-mnist", model="cnn", train_config={"augment": ""}, model_config={"test_time_mirror": True})
    assert resolve(asked, "cpu").model_config.test_time_mirror  # asked for in so many words: as asked
    assert not hasattr(resolve(ExperimentConfig(dataset="fashion-mnist", model="mlp"), "cpu").model_config, "test_time_mirror")


def test_bad_settings_fail_when_resolving():
    with pytest.raises(DigitlabError, match="model 'mlp' has no setting 'widht'; its settings are .*hidden_sizes"):
        resolve(ExperimentConfig(model="mlp", model_config={"widht": 3}))
    with pytest.raises(DigitlabError, match="training has no setting 'epoks'; its settings are .*epochs"):
        resolve(ExperimentConfig(model="mlp", train_config={"epoks": 3}))
    with pytest.raises(DigitlabError, match="unknown run spec settings"):
        RunSpec.from_dict({"dataset": "mnist", "colour": "red"})


@pytest.mark.parametrize("name", ["simple", "complex", "mlp", "cnn"])
def test_networks_take_classes_and_image_size_from_the_data(name):
    model = make_config(name, **sized(make_config(name), (20, 20), 5)).build()
    assert model(torch.zeros(3, 20, 20)).shape == (3, 5)
    assert model.config.num_classes == 5


def test_the_notebook_sizes_stay_for_mnist_shaped_data():
    assert make_config("simple", **sized(make_config("simple"), (28, 28), 10)).build().num_parameters() == 7850
    assert make_config("complex", **sized(make_config("complex"), (28, 28), 10)).build().num_parameters() == 669706


def test_a_cnn_takes_square_images_only():
    with pytest.raises(ValueError, match="square images"):
        sized(make_config("cnn"), (20, 28), 10)


def test_unusual_but_correct_settings_resolve_and_hostile_names_are_refused():
    # the same augmentations in another order, and a setting given at its preset's own value: both are fine
    spec = resolve(ExperimentConfig(model="cnn", train_config={"augment": "thickness,shift", "epochs": 6}), "cpu")
    assert spec.train_config.augment == "shift,thickness" and spec.train_config.epochs == 6
    # names no config has (a dunder, a shell fragment, a non-string key) are refused by name, not passed on
    for hostile in ({"__class__": 1}, {"epochs; rm -rf /": 1}, {3: 1}):
        with pytest.raises(DigitlabError, match="training has no setting"):
            resolve(ExperimentConfig(model="mlp", train_config=hostile), "cpu")
    with pytest.raises(DigitlabError, match="model 'cnn' has no setting '__dict__'"):
        resolve(ExperimentConfig(model="cnn", model_config={"__dict__": {}}), "cpu")
