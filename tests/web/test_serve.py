"""``digitlab serve`` and model loading: real checkpoints, class names, broken folders, clear errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import digitlab.web
from digitlab.cli.main import main
from digitlab.web import load_models_dir
from tests.web.web_models import FASHION_MLP, MNIST_MLP

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def test_serve_without_models_says_what_to_do(tmp_path, capsys):
    def error_line() -> str:
        return " ".join(capsys.readouterr().err.split())  # the console wraps long lines

    assert main(["serve", "--models", str(tmp_path / "nothing-here")]) == 1
    assert "does not exist" in error_line()
    assert main(["serve", "--models", str(tmp_path)]) == 1  # exists, but holds no checkpoint
    assert "no trained checkpoints" in error_line()
    assert main(["serve", "--port", "0"]) == 2  # typer's range check


@pytest.mark.realdata
def test_checkpoints_are_served_with_their_dataset_and_class_names(quick_checkpoints, tmp_path, monkeypatch, capsys):
    models_dir = shutil.copytree(quick_checkpoints, tmp_path / "models")
    broken = models_dir / "broken"
    broken.mkdir()
    (broken / "checkpoint.json").write_text("{not json")  # skipped with a warning, not fatal

    loaded = {model.name: model for model in load_models_dir(models_dir)}
    assert set(loaded) == {MNIST_MLP, FASHION_MLP}
    assert loaded[FASHION_MLP].dataset == "fashion-mnist" and loaded[FASHION_MLP].classes == FASHION_CLASSES
    assert loaded[MNIST_MLP].classes == tuple("0123456789") and loaded[MNIST_MLP].test_accuracy > 0.85
    probabilities = loaded[MNIST_MLP].predict_proba(np.zeros((2, 28, 28), np.uint8))
    assert probabilities.shape == (2, 10) and np.allclose(probabilities.sum(axis=1), 1)

    served = {}
    monkeypatch.setattr(digitlab.web, "run_server", lambda app, host, port: served.update(app=app, host=host, port=port))
    assert main(["serve", "--models", str(models_dir), "--port", "8123"]) == 0
    assert served["port"] == 8123 and served["host"] == "127.0.0.1"
    assert [m.name for m in served["app"].state.predictor.models] == [MNIST_MLP, FASHION_MLP]  # MNIST first
    assert "fashion-mnist" in capsys.readouterr().out
