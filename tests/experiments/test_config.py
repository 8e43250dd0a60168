import pytest

from digitlab.errors import DigitlabError
from digitlab.experiments import ExperimentConfig, SweepSpec, load_sweep_file


def test_with_params_sets_dotted_and_top_level_settings():
    config = ExperimentConfig(model="mlp").with_params({"train_config.batch_size": 32, "model_config.hidden_sizes": [64, 64], "seed": 3})
    assert config.train_config == {"batch_size": 32}
    assert config.model_config == {"hidden_sizes": [64, 64]}
    assert config.seed == 3


def test_with_params_does_not_mutate_the_original():
    base = ExperimentConfig(train_config={"epochs": 1})
    base.with_params({"train_config.epochs": 5})
    assert base.train_config == {"epochs": 1}


@pytest.mark.parametrize("params", [{"nope": 1}, {"seed.x": 1}, {"kind": "tree"}])
def test_bad_settings_are_named(params):
    with pytest.raises(DigitlabError, match="nope|seed|kind"):
        ExperimentConfig().with_params(params)


def test_round_trip_and_digest_stability():
    config = ExperimentConfig(model="cnn", train_config={"epochs": 2})
    again = ExperimentConfig.from_dict(config.to_dict())
    assert again == config and again.digest() == config.digest()
    assert config.with_params({"seed": 1}).digest() != config.digest()


def test_sweep_points_and_study_name_depend_on_grid_and_base():
    sweep = SweepSpec("s", ExperimentConfig(), {"train_config.epochs": [1, 2], "train_config.batch_size": [32, 64, 128]})
    points = sweep.points()
    assert len(points) == 6 and points[0] == {"train_config.epochs": 1, "train_config.batch_size": 32}
    other = SweepSpec("s", ExperimentConfig(dataset="fashion-mnist"), sweep.grid)
    assert sweep.study_name != other.study_name and sweep.study_name.startswith("s@mnist#")


def test_sweep_rejects_empty_and_misspelt_settings():
    with pytest.raises(DigitlabError, match="no values"):
        SweepSpec("s", ExperimentConfig(), {"seed": []})
    with pytest.raises(DigitlabError, match="epochz"):
        SweepSpec("s", ExperimentConfig(), {"epochz": [1]})


def test_load_sweep_file(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(
        'name = "simple-grid"\ndescription = "epochs x batch"\n'
        '[base]\nmodel = "simple"\ntrain_limit = 100\n[base.train_config]\nlr = 0.01\n'
        '[grid]\n"train_config.epochs" = [1, 2]\n"model_config.hidden_sizes" = [[8], [16, 16]]\n'
    )
    sweep = load_sweep_file(path, dataset="fashion-mnist")
    assert sweep.name == "simple-grid" and sweep.base.dataset == "fashion-mnist"
    assert sweep.base.train_config == {"lr": 0.01}
    assert len(sweep.points()) == 4


def test_load_sweep_file_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("name = ")
    with pytest.raises(DigitlabError, match="cannot read sweep file"):
        load_sweep_file(bad)
    with pytest.raises(DigitlabError, match="cannot read sweep file"):
        load_sweep_file(tmp_path / "missing.toml")
