"""``digitlab train | evaluate | predict | summary`` run as a user would, on generated IDX files."""

import json

import numpy as np
import pytest
from PIL import Image

from digitlab.cli.main import main
from digitlab.inference import load_network
from tests.cli.helpers import flat, register_synthetic_mnist
from tests.training.synthetic import CLASSES, synthetic_arrays


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    return register_synthetic_mnist(tmp_path, monkeypatch, 256, 64)


@pytest.fixture
def trained_run(tmp_path, data_dir, capsys):
    out = tmp_path / "run"
    assert main(["train", "--model", "mlp", "--hidden-sizes", "32", "16", "--epochs", "3", "--batch-size", "32", "--lr", "0.003",
                 "--out", str(out)]) == 0
    return out, capsys.readouterr()


def test_train_writes_a_checkpoint_and_reports(trained_run):
    out, captured = trained_run
    saved = load_network(out)
    assert saved.model_name == "mlp" and saved.model.config.hidden_sizes == (32, 16)  # "--hidden-sizes 32 16" as the issue writes it
    training = saved.spec["train_config"]
    assert training["epochs"] == 3 and training["batch_size"] == 32 and training["lr"] == 0.003
    assert len(saved.history) == 3 and saved.classes == CLASSES
    assert f"test accuracy {saved.metrics['test_accuracy'] * 100:.2f}%" in captured.out
    assert f"digitlab evaluate {out}" in captured.out
    assert "epoch 3/3" in captured.err  # the progress bars go to stderr
    spec = saved.spec  # the checkpoint holds the resolved spec: every setting, not only the ones given
    assert spec["model_config"]["hidden_sizes"] == [32, 16] and spec["model_config"]["activation"] == "relu"
    assert spec["device"] == "cpu"


def test_train_records_its_run_in_the_store(trained_run, own_store):
    from digitlab.experiments import open_storage
    from digitlab.experiments.store import list_runs

    out, captured = trained_run
    [stored] = list_runs(open_storage(own_store), "train@mnist")
    assert stored.spec.to_dict() == load_network(out).spec and stored.result["checkpoint"] == str(out)
    assert stored.metrics["test_accuracy"] == load_network(out).metrics["test_accuracy"]
    assert f"run {stored.id} in the store: digitlab runs show {stored.id}" in captured.out


def test_existing_checkpoint_needs_force_or_resume(trained_run, capsys):
    out, _ = trained_run
    assert main(["train", "--model", "mlp", "--out", str(out)]) == 1
    assert "already holds a checkpoint" in flat(capsys.readouterr().err)
    assert main(["train", "--out", str(out), "--resume"]) == 0  # all epochs done: resuming just reports
    assert "Resuming the run" in flat(capsys.readouterr().err)
    assert main(["train", "--out", str(out.parent / "empty"), "--resume"]) == 1
    assert "nothing to resume" in flat(capsys.readouterr().err)


def test_evaluate_prints_both_accuracies_and_writes_figures(trained_run, capsys):
    out, _ = trained_run
    assert main(["evaluate", str(out), "--out", str(out / "figs")]) == 0
    printed = flat(capsys.readouterr().out)
    assert "macro accuracy" in printed and "MulticlassAccuracy" in printed and "micro" in printed
    written = {path.name for path in (out / "figs").iterdir()}
    assert {"confusion.png", "correct.png", "incorrect.png", "mistakes.png", "curves.png", "evaluation.json"} <= written
    assert all((out / "figs" / name).read_bytes()[:4] == b"\x89PNG" for name in written if name.endswith(".png"))
    metrics = json.loads((out / "figs" / "evaluation.json").read_text())
    assert f"{metrics['accuracy'] * 100:.2f}%" in printed and metrics["test_images"] == 64


def test_predict_classifies_image_files(trained_run, tmp_path, capsys):
    out, _ = trained_run
    arrays = synthetic_arrays(n_train=4, n_test=4, seed=0)
    paths = []
    for index, image in enumerate(arrays["t10k-images-idx3-ubyte"][:2]):
        path = tmp_path / f"image{index}.png"
        Image.fromarray(np.ascontiguousarray(image)).save(path)
        paths.append(str(path))
    assert main(["predict", str(out), *paths, "--top", "2"]) == 0
    printed = flat(capsys.readouterr().out)
    assert all(path.split("/")[-1] in printed for path in paths) and "top 2" in printed
    assert main(["predict", str(out), str(tmp_path / "missing.png")]) == 1
    assert "cannot read image" in flat(capsys.readouterr().err)


def test_summary_prints_the_notebooks_table(capsys):
    assert main(["summary", "complex", "--notebook-faithful"]) == 0
    printed = flat(capsys.readouterr().out)
    assert "Total params: 669,706" in printed and "Softmax: 1-5" in printed
    assert main(["summary", "cnn", "--channels", "8,16", "--batch-size", "2"]) == 0
    assert "[2, 10]" in flat(capsys.readouterr().out)
    assert main(["summary", "mlp", "--hidden-sizes", "none"]) == 0  # no hidden layer: the 1-layer network's 7,850
    assert "Total params: 7,850" in flat(capsys.readouterr().out)
    assert main(["summary", "complex", "--hidden-sizes", "64"]) == 1  # the notebook's network has two hidden layers
    assert "hidden_sizes names 2 widths" in flat(capsys.readouterr().err)


def test_bad_options_are_one_clear_line(data_dir, tmp_path, capsys):
    assert main(["train", "--model", "simple", "--hidden-sizes", "32", "--out", str(tmp_path / "x")]) == 1
    assert "--hidden-sizes does not apply to --model simple" in flat(capsys.readouterr().err)
    assert main(["train", "--model", "mlp", "--notebook-faithful", "--out", str(tmp_path / "x")]) == 1
    assert "reproduces the course's simple and complex" in flat(capsys.readouterr().err)
    assert main(["train", "--model", "mlp", "--schedule", "warmup", "--out", str(tmp_path / "x")]) == 1
    assert "schedule must be one of" in flat(capsys.readouterr().err)
    assert main(["evaluate", str(tmp_path / "nothing")]) == 1
    assert "no checkpoint at" in flat(capsys.readouterr().err)


def test_notebook_faithful_cnn_and_limit(data_dir, tmp_path):
    out = tmp_path / "nb"
    assert main(["train", "-m", "complex", "--notebook-faithful", "--hidden-sizes", "16,16", "--epochs", "1", "--limit", "100",
                 "--out", str(out)]) == 0
    saved = load_network(out)
    training = saved.spec["train_config"]
    assert saved.model.outputs == "softmax" and training["notebook_faithful"] and training["schedule"] == "notebook-linear"
    assert saved.history[0]["samples"] == 100
    assert main(["train", "-m", "cnn", "--channels", "4", "8", "--epochs", "1", "--validation-size", "50", "--out", str(tmp_path / "cnn")]) == 0
    assert "val_accuracy" in load_network(tmp_path / "cnn").history[0]


def test_ctrl_c_says_how_to_resume_and_resume_finishes(data_dir, tmp_path, monkeypatch, capsys):
    import os
    import signal

    from digitlab.experiments import runner  # the CLI trains through the run pipeline

    real_train = runner.train

    def train_with_ctrl_c(*args, on_batch, **kwargs):
        def press(info):
            on_batch(info)
            if info["epoch"] == 2 and info["batch"] == 2:
                os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C sends

        return real_train(*args, on_batch=press, **kwargs)

    out = tmp_path / "run"
    monkeypatch.setattr(runner, "train", train_with_ctrl_c)
    assert main(["train", "--hidden-sizes", "16", "--epochs", "3", "--batch-size", "64", "--out", str(out)]) == 130
    printed = flat(capsys.readouterr().err)
    assert "Stopped by Ctrl-C during epoch 2" in printed and "checkpoint of epoch 1" in printed
    assert f"Resume with: digitlab train --out {out} --resume" in printed
    assert len(load_network(out).history) == 1
    monkeypatch.setattr(runner, "train", real_train)
    assert main(["train", "--out", str(out), "--resume"]) == 0
    assert [h["epoch"] for h in load_network(out).history] == [1, 2, 3]


def test_augment_option_trains_on_changed_batches_and_is_saved(data_dir, tmp_path, capsys):
    out = tmp_path / "aug"
    assert main(["train", "-m", "mlp", "--hidden-sizes", "16", "--epochs", "1", "--augment", "Rotate,shift", "--out", str(out)]) == 0
    saved = load_network(out)
    assert saved.spec["train_config"]["augment"] == "shift,rotate" and saved.spec["train_config"]["augment_max_degrees"] > 0
    assert main(["train", "-m", "mlp", "--augment", "shift,blur", "--out", str(tmp_path / "bad")]) == 1
    assert "unknown augmentation 'blur'" in flat(capsys.readouterr().err)
    assert not (tmp_path / "bad").exists()  # nothing written for a bad setting


def test_augmented_preset_and_cnn_kernel_options(data_dir, tmp_path, capsys):
    from digitlab.presets import preset

    out = tmp_path / "cnn-aug"
    assert main(["train", "-m", "cnn", "--augmented", "--channels", "4,8", "--epochs", "1", "--limit", "64", "--out", str(out)]) == 0
    spec = load_network(out).spec
    augmented = preset("cnn", name="augmented").train_config
    assert spec["train_config"]["augment"] == augmented.augment != ""  # the preset's augmentation, epochs overridden
    assert spec["model_config"]["channels"] == [4, 8]  # a given option wins over the preset's wider CNN
    assert main(["summary", "cnn", "--kernel-size", "3", "--padding", "same", "--batch-size", "1"]) == 0
    assert "[1, 32, 7, 7]" in flat(capsys.readouterr().out)  # 'same' padding keeps 28 -> 14 -> 7
    assert main(["train", "-m", "simple", "--augmented", "--out", str(tmp_path / "x")]) == 1
    assert "the augmented preset trains cnn and mlp" in flat(capsys.readouterr().err)
    assert main(["train", "-m", "complex", "--augmented", "--notebook-faithful", "--out", str(tmp_path / "x")]) == 1
    assert "choose one" in flat(capsys.readouterr().err)
    assert main(["summary", "cnn", "--kernel-size", "4", "--batch-size", "1"]) == 1
    assert "kernel_size must be odd" in flat(capsys.readouterr().err)


def test_test_time_mirror_option_is_saved_and_refused_where_it_does_not_apply(data_dir, tmp_path, capsys):
    out = tmp_path / "mirror"
    assert main(["train", "-m", "cnn", "--channels", "4,8", "--test-time-mirror", "--epochs", "1", "--limit", "64", "--out", str(out)]) == 0
    err = flat(capsys.readouterr().err)
    assert "answers from 2 views of each image" in err and "trains without them" in err  # mirror views, no mirrored batches
    saved = load_network(out)
    assert saved.model.config.test_time_mirror and saved.model.eval().views == 2  # rebuilt as trained, answering from both views
    assert main(["train", "-m", "cnn", "--channels", "4,8", "--test-time-mirror", "--augment", "mirror", "--epochs", "1", "--limit", "64",
                 "--out", str(tmp_path / "both")]) == 0
    assert "trains without them" not in flat(capsys.readouterr().err)
    assert main(["train", "-m", "mlp", "--test-time-mirror", "--out", str(tmp_path / "x")]) == 1
    assert "--test-time-mirror does not apply to --model mlp" in flat(capsys.readouterr().err)
