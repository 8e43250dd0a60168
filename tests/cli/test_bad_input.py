"""CLI and store under bad input: non-finite settings, diverging runs, damaged stores and training states,
Ctrl-C in a sweep, points still marked running, percentages and help texts. One line each, no traceback.
"""

from __future__ import annotations

import json
import random
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digitlab.cli import sweep as sweep_cli
from digitlab.cli.main import main
from tests.cli.helpers import flat, register_synthetic_mnist

KNN_SWEEP = """name = "tiny-knn"
[base]
kind = "knn"
validation_size = 0
[grid]
"knn_config.n_neighbors" = [1, 3, 5]
"""


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    return register_synthetic_mnist(tmp_path, monkeypatch, 256, 64)


@pytest.fixture
def trained(data_dir, tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--model", "mlp", "--hidden-sizes", "16", "--epochs", "1", "--batch-size", "64", "--out", str(out)]) == 0
    return out


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return flat(err)


@pytest.mark.parametrize("setting", [["--lr", "inf"], ["--lr", "-inf"], ["--weight-decay", "inf"]])
def test_non_finite_settings_are_refused(data_dir, tmp_path, capsys, setting):
    assert main(["train", "--model", "mlp", *setting, "--out", str(tmp_path / "x")]) == 1
    assert "must be a finite number" in _one_error_line(capsys)
    assert not (tmp_path / "x" / "checkpoint.json").exists()


def test_a_sweep_file_with_an_infinite_setting_is_refused_up_front(data_dir, tmp_path, capsys):
    path = tmp_path / "inf.toml"
    path.write_text('name = "inf"\n[base]\nmodel = "mlp"\n[base.train_config]\nlr = inf\n[grid]\nseed = [0]\n')
    assert main(["sweep", str(path), "--storage", f"sqlite:///{tmp_path}/runs.db"]) == 1
    assert "must be a finite number" in _one_error_line(capsys)


def test_a_run_whose_loss_becomes_non_finite_stops_with_a_clear_message(data_dir, tmp_path, capsys):
    out = tmp_path / "diverged"
    argv = ["train", "--model", "mlp", "--hidden-sizes", "16", "--epochs", "3", "--batch-size", "32", "--optimizer", "sgd", "--schedule", "none",
            "--lr", "1e30", "--out", str(out)]
    assert main(argv) == 1
    message = _one_error_line(capsys)
    assert "training diverged" in message and "in epoch 1" in message and "smaller --lr" in message
    assert not (out / "checkpoint.json").exists()  # nothing diverged is saved as if it were a result


def test_a_diverging_sweep_point_is_stored_as_failed(data_dir, tmp_path, capsys):
    from digitlab.experiments import open_storage
    from digitlab.experiments.store import list_runs

    path = tmp_path / "diverge.toml"
    path.write_text('name = "diverge"\n[base]\nmodel = "mlp"\nvalidation_size = 0\n[base.train_config]\n'
                    'optimizer = "sgd"\nschedule = "none"\nbatch_size = 32\nepochs = 1\n[grid]\n"train_config.lr" = [1e30]\n')
    url = f"sqlite:///{tmp_path}/runs.db"
    assert main(["sweep", str(path), "--storage", url]) == 1
    assert "training diverged" in _one_error_line(capsys)
    runs = list_runs(open_storage(url), None, None)
    assert [run.state for run in runs] == ["FAIL"]


@pytest.mark.parametrize("top", ["0", "-5"])
def test_predict_top_must_be_positive(trained, tmp_path, capsys, top):
    image = tmp_path / "digit.png"
    Image.fromarray(np.pad(np.full((20, 4), 255, np.uint8), 4)).save(image)
    assert main(["predict", str(trained), str(image), "--top", top]) == 2
    assert "--top" in _one_error_line(capsys)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_predict_refuses_a_device_as_an_image(trained, capsys):
    assert main(["predict", str(trained), "/dev/zero"]) == 1
    assert "not a regular file" in _one_error_line(capsys)


def test_resume_with_a_tampered_training_state_is_one_error_line(trained, capsys):
    manifest_path = trained / "checkpoint.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["training_state"]["optimizer"]["state"] = {"__items__": [[0, {"step": {"__tensor__": "t999"}}]]}
    manifest_path.write_text(json.dumps(manifest))
    assert main(["train", "--out", str(trained), "--resume", "--epochs", "2"]) == 1
    message = _one_error_line(capsys)
    assert "training state" in message and "damaged or was edited" in message

    manifest["training_state"] = {"optimizer": "nonsense"}
    manifest_path.write_text(json.dumps(manifest))
    assert main(["train", "--out", str(trained), "--resume", "--epochs", "2"]) == 1
    assert "damaged or was edited" in _one_error_line(capsys)


def _store_with_runs(tmp_path: Path, capsys) -> str:
    path = tmp_path / "knn.toml"
    path.write_text(KNN_SWEEP)
    url = f"sqlite:///{tmp_path}/runs.db"
    assert main(["sweep", str(path), "--storage", url]) == 0
    capsys.readouterr()
    return url


def test_a_store_with_damaged_pages_is_one_error_line(data_dir, tmp_path, capsys):
    url = _store_with_runs(tmp_path, capsys)
    database = tmp_path / "runs.db"
    data = bytearray(database.read_bytes())
    rng = random.Random(1)
    page = 4096
    for start in range(page, len(data), page):  # every page after the header page: garbage where rows live
        data[start + page - 600 : start + page - 100] = bytes(rng.randrange(256) for _ in range(500))
    database.write_bytes(bytes(data))
    for argv in (["runs", "list", "--storage", url], ["report", "--storage", url, "--out", str(tmp_path / "r")]):
        assert main(argv) == 1
        message = _one_error_line(capsys)
        assert "results store" in message and "malformed" in message and "move the file away" in message


def test_runs_tables_show_percentages_only_for_accuracies(data_dir, tmp_path, capsys):
    from digitlab.cli.runs import _format

    assert _format(0.1605, "train_seconds") == "0.1605" and _format(0.9812, "test_accuracy") == "98.12%"
    assert _format(12.5, "train_seconds") == "12.50" and _format(None, "val_accuracy") == "–"
    url = _store_with_runs(tmp_path, capsys)
    assert main(["runs", "list", "--storage", url]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if "tiny-knn" in line]
    assert rows and all(line.count("%") == 1 for line in rows)  # test accuracy; no validation, seconds no percent


def test_help_texts_keep_their_brackets(capsys):
    assert main(["sweep", "--help"]) == 0
    sweep_help = flat(capsys.readouterr().out)
    assert "[base] settings and a [grid] of values" in sweep_help and "[default: sqlite:///runs/digitlab.sqlite3]" in sweep_help
    assert main(["lab", "--help"]) == 0
    assert "[default: the ones shipped with digitlab" in flat(capsys.readouterr().out)


def test_ctrl_c_in_a_sweep_says_what_is_kept_and_how_to_resume(data_dir, tmp_path, monkeypatch, capsys, caplog):
    path = tmp_path / "knn.toml"
    path.write_text(KNN_SWEEP)
    url = f"sqlite:///{tmp_path}/runs.db"
    real, calls = sweep_cli.evaluator, []

    def interrupted_on_the_second(**settings):
        evaluate = real(**settings)

        def evaluate_or_stop(config, report):
            calls.append(1)
            if len(calls) == 2:
                raise KeyboardInterrupt  # what a Ctrl-C during the second run raises
            return evaluate(config, report)

        return evaluate_or_stop

    monkeypatch.setattr(sweep_cli, "evaluator", interrupted_on_the_second)
    assert main(["sweep", str(path), "--storage", url]) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err and "failed" not in caplog.text
    assert "interrupted: 1 finished run kept" in flat(err) and "run the same command again to resume" in flat(err)

    monkeypatch.setattr(sweep_cli, "evaluator", real)
    assert main(["sweep", str(path), "--storage", url]) == 0
    assert "3 of 3 runs" in flat(capsys.readouterr().out)


def test_a_rerun_right_after_a_kill_says_a_point_is_still_marked_running(data_dir, tmp_path, capsys):
    import optuna
    from optuna.trial import TrialState

    from digitlab.experiments import load_sweep_file, open_storage
    from digitlab.experiments.store import open_study
    from digitlab.experiments.sweep import enqueue_missing

    path = tmp_path / "knn.toml"
    path.write_text(KNN_SWEEP)
    url = f"sqlite:///{tmp_path}/runs.db"
    spec = load_sweep_file(path)
    store = open_storage(url)
    study = open_study(store, spec.study_name)
    enqueue_missing(study, spec)
    killed = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))[0]
    store.set_trial_state_values(killed._trial_id, TrialState.RUNNING)  # a worker took it, then was killed
    with warnings.catch_warnings():  # heartbeats are marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        store.record_heartbeat(killed._trial_id)  # its heartbeat is fresh: nobody may retry it yet
    assert main(["sweep", str(path), "--storage", url]) == 0
    captured = capsys.readouterr()
    assert "2 of 3 runs" in flat(captured.out)
    assert "1 point is still marked running" in flat(captured.err) and "run the same command again" in flat(captured.err)

