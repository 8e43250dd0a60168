"""``digitlab robustness`` run as a user would: generated data for the plumbing, real MNIST for the claim."""

import csv

import pytest

from digitlab.cli.main import main
from digitlab.inference import save_checkpoint
from digitlab.models import build
from tests.cli.helpers import flat, register_synthetic_mnist
from tests.specs import run_spec
from tests.training.synthetic import CLASSES


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    return register_synthetic_mnist(tmp_path, monkeypatch, 128, 48)


def untrained(folder, dataset="mnist"):
    """A checkpoint of a small untrained MLP: enough to test the plumbing."""
    save_checkpoint(folder, model := build("mlp", hidden_sizes=[16], num_classes=len(CLASSES)), run_spec(model, dataset), classes=CLASSES)
    return folder


def read_rows(path):
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_scores_checkpoints_and_knn_and_writes_outputs(tmp_path, data_dir, capsys):
    first, second, out = untrained(tmp_path / "a"), untrained(tmp_path / "b"), tmp_path / "out"
    assert main(["robustness", str(first), str(second), "--knn", "--knn-train-limit", "64", "--transforms", "shift,invert",
                 "--test-limit", "40", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    rows = read_rows(out / "robustness.csv")
    models = ["mlp", f"mlp ({second})", "knn"]  # a second checkpoint of the same model is named by its folder
    assert [row["model"] for row in rows[:3]] == models
    assert len(rows) == 3 * (7 + 5)  # shift and invert sweeps: 7 and 5 strengths
    assert {row["transform"] for row in rows} == {"shift", "invert"}
    assert all(0 <= float(row["accuracy"]) <= 1 for row in rows)
    assert (out / "robustness.png").stat().st_size > 0 and (out / "examples.png").stat().st_size > 0
    text = flat(captured.out)
    assert "Test accuracy (%) on 40 changed mnist test images" in text and "Mean accuracy" in text
    knn_clean = next(float(row["accuracy"]) for row in rows if row["model"] == "knn")
    assert f"{knn_clean * 100:.2f}" in text


@pytest.mark.parametrize(("arguments", "code", "message"), [
    (["--transforms", "shift,blur"], 2, "unknown transform 'blur'"),
    ([], 2, "name at least one checkpoint folder, or pass --knn"),
    (["MISSING"], 1, "no checkpoint at"),
    (["FASHION"], 1, "was trained on fashion-mnist, not mnist"),
])
def test_bad_input_gets_a_clear_message(tmp_path, data_dir, capsys, arguments, code, message):
    fashion = untrained(tmp_path / "fashion", dataset="fashion-mnist")
    replaced = {"MISSING": str(tmp_path / "nowhere"), "FASHION": str(fashion)}
    arguments = [replaced.get(argument, argument) for argument in arguments]
    if arguments[:1] == ["--transforms"]:
        arguments = [str(untrained(tmp_path / "ok")), *arguments]
    assert main(["robustness", *arguments, "--out", str(tmp_path / "out")]) == code
    assert message in flat(capsys.readouterr().err)
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_help_documents_the_options(capsys):
    assert main(["robustness", "--help"]) == 0
    text = flat(capsys.readouterr().out)
    for option in ("--knn", "--knn-train-limit", "--dataset", "--transforms", "--test-limit", "--seed", "--out"):
        assert option in text


@pytest.mark.realdata
def test_real_mnist_models_lose_accuracy_and_inversion_breaks_them(tmp_path, capsys):
    run, out = tmp_path / "mlp", tmp_path / "out"
    assert main(["train", "--model", "mlp", "--hidden-sizes", "64", "--epochs", "1", "--batch-size", "64", "--limit", "2000", "--out", str(run)]) == 0
    assert main(["robustness", str(run), "--knn", "--knn-train-limit", "2000", "--transforms", "shift,invert",
                 "--test-limit", "500", "--out", str(out)]) == 0
    capsys.readouterr()
    score = {(row["model"], row["transform"], float(row["strength"])): float(row["accuracy"]) for row in read_rows(out / "robustness.csv")}
    for model in ("mlp", "knn"):
        clean = score[(model, "shift", 0.0)]
        assert clean > 0.4, model  # 1 epoch of batch 64 on 2000 images: ~80% (mlp), ~85% (knn)
        assert score[(model, "shift", 4.0)] < clean - 0.2, model  # a pixel-wise model does not follow a moved digit
        assert score[(model, "invert", 1.0)] < 0.3, model  # trained on white-on-black only: inverted digits are lost
