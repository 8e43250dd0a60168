"""``digitlab explain`` run as a user would: tiny saved networks, a photographed digit, generated data as "mnist"."""

import numpy as np
import pytest
import torch
from PIL import Image

from digitlab.cli.main import main
from digitlab.inference import save_checkpoint
from digitlab.models import build
from tests.cli.helpers import flat, register_synthetic_mnist
from tests.specs import run_spec
from tests.training.synthetic import CLASSES


@pytest.fixture
def checkpoints(tmp_path, monkeypatch):
    register_synthetic_mnist(tmp_path, monkeypatch, 64, 16)
    monkeypatch.setenv("DIGITLAB_KNN_KERNEL", "float32")  # skip measuring this machine's fastest kernel: 64 images need none
    torch.manual_seed(0)
    folders = []
    for name, settings in (("simple", {}), ("mlp", {"hidden_sizes": [16]}), ("cnn", {"channels": [4, 8], "hidden_sizes": [16]})):
        folder = tmp_path / f"tiny-{name}"
        save_checkpoint(folder, model := build(name, num_classes=len(CLASSES), **settings), run_spec(model), classes=CLASSES)
        folders.append(str(folder))
    return folders


def photo(path):
    """A dark '1' on light paper, off-centre on a larger sheet: what a phone gives."""
    paper = np.full((300, 240), 235, dtype=np.uint8)
    paper[40:200, 150:168] = 20
    Image.fromarray(paper).save(path)
    return str(path)


def test_writes_a_panel_per_model_and_prints_the_top_classes(checkpoints, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["explain", *checkpoints, photo(tmp_path / "one.png"), "--out", str(out), "--knn", "--dataset", "mnist"]) == 0
    printed = flat(capsys.readouterr().out)
    for name in ("tiny-simple", "tiny-mlp", "tiny-cnn", "knn-mnist"):
        assert (out / f"{name}.png").read_bytes().startswith(b"\x89PNG")
        assert name in printed
    assert "top 3" in printed and "one.png" in printed


def test_test_index_explains_a_test_image_with_every_method(checkpoints, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["explain", checkpoints[1], "--test-index", "3", "--thorough", "--out", str(out)]) == 0
    printed = flat(capsys.readouterr().out)
    assert "test image 3" in printed and "true class:" in printed and (out / "tiny-mlp.png").exists()


def test_bad_input_is_one_line(checkpoints, tmp_path, capsys):
    assert main(["explain", checkpoints[0], str(tmp_path / "missing.png")]) == 1
    assert "missing.png" in flat(capsys.readouterr().err)
    assert main(["explain", photo(tmp_path / "one.png")]) == 1
    assert "checkpoint folders and then an image file" in flat(capsys.readouterr().err)
    assert main(["explain", checkpoints[0], "--test-index", "999"]) == 1
    assert "--test-index 999 is outside mnist's test set (0..15)" in flat(capsys.readouterr().err)
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((50, 50), 255, dtype=np.uint8)).save(blank)
    assert main(["explain", checkpoints[0], str(blank)]) == 1
    assert "blank.png" in flat(capsys.readouterr().err)
