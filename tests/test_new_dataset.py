"""Adding a dataset is one catalog entry: a generated 5-class, 20x20 dataset goes through train, knn,
``lab --quick``, report and serve, registered at run time, with no other module edited."""

from __future__ import annotations

import dataclasses
import io
import json

import httpx
import numpy as np
import pytest
from PIL import Image

from digitlab import presets
from digitlab.cli.main import main
from digitlab.datasets import catalog
from digitlab.datasets.catalog import DatasetSpec, IdxFile, register
from digitlab.datasets.idx import encode_idx
from digitlab.datasets.verify import md5_hex
from digitlab.errors import DigitlabError
from digitlab.inference import load_network
from digitlab.web import create_app, knn_model, load_models_dir
from digitlab.web.models import from_checkpoint
from tests.web.conftest import LiveServer

pytestmark = pytest.mark.slow  # a quick lab on a new dataset: about a minute on two shared cores

NAME = "shapes-5"
CLASSES = ("bar", "column", "cross", "frame", "dot")
SIDE = 20  # not MNIST's 28: every size must come from the catalog entry
TRAIN, TEST = 800, 200
REQUEST_TIMEOUT_S = 30.0


def draw(label: int, rng: np.random.Generator) -> np.ndarray:
    """One (20, 20) uint8 image of class ``label``: a shape at a random offset, with noise."""
    image = np.zeros((SIDE, SIDE), np.float32)
    dy, dx = rng.integers(-2, 3, 2)
    middle = slice(8 + dy, 12 + dy), slice(8 + dx, 12 + dx)
    if label == 0:
        image[8 + dy:12 + dy, 3:17] = 1  # a horizontal bar
    elif label == 1:
        image[3:17, 8 + dx:12 + dx] = 1  # a vertical bar
    elif label == 2:
        image[8 + dy:12 + dy, 3:17] = image[3:17, 8 + dx:12 + dx] = 1  # a cross
    elif label == 3:
        image[3:17, 3:17] = 1
        image[6:14, 6:14] = 0  # a frame
    else:
        image[middle] = 1  # a dot
    noisy = image * 0.8 + rng.random((SIDE, SIDE)) * 0.2
    return np.round(noisy * 255).astype(np.uint8)


def write_dataset(folder) -> DatasetSpec:
    """The four IDX files in ``folder`` (file names of its own, not MNIST's) and the catalog entry for them."""
    rng = np.random.default_rng(0)
    arrays = {}
    for split, count in (("train", TRAIN), ("test", TEST)):
        labels = np.arange(count) % len(CLASSES)
        rng.shuffle(labels)
        arrays[f"{split}-images.idx"] = np.stack([draw(int(label), rng) for label in labels])
        arrays[f"{split}-labels.idx"] = labels.astype(np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for name in ("train-images.idx", "train-labels.idx", "test-images.idx", "test-labels.idx"):
        data = encode_idx(arrays[name])
        (folder / name).write_bytes(data)
        files.append(IdxFile(name, len(data), md5_hex(data)))
    return DatasetSpec(name=NAME, title="Shapes", classes=CLASSES, files=tuple(files), image_shape=(SIDE, SIDE),
                       fit_size=16)


EPOCHS = 4  # the dataset's own MLP preset: 4 epochs of batch 32


@pytest.fixture
def shapes(tmp_path, monkeypatch):
    """The dataset registered (and taken out of the catalog after the test) and the folders."""
    spec = register(write_dataset(tmp_path / "data"))
    monkeypatch.setitem(presets.PRESETS, ("mlp", NAME, "recommended"), presets.Preset(presets.recommended("mlp", epochs=EPOCHS, batch_size=32)))
    monkeypatch.setenv("DIGITLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DIGITLAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    yield spec, tmp_path
    del catalog.CATALOG[NAME]


def drawing(spec: DatasetSpec) -> bytes:
    """A PNG of a cross drawn large and dark on white paper, as a user would upload it."""
    image = (255 - draw(2, np.random.default_rng(1)).repeat(10, 0).repeat(10, 1))  # 200x200, dark ink
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_registered_dataset_runs_through_every_command(shapes, capsys):
    spec, folder = shapes
    # train: the network is sized from the entry (400 inputs, 5 outputs); the dataset's preset (4 epochs of batch 32) is used
    assert main(["train", "--model", "mlp", "--hidden-sizes", "32", "--dataset", NAME, "--out", str(folder / "served" / "mlp")]) == 0
    saved = load_network(folder / "served" / "mlp")
    assert saved.dataset == NAME and saved.classes == CLASSES and saved.image_shape == (SIDE, SIDE)
    assert saved.model.config.input_size == SIDE * SIDE and saved.num_classes == len(CLASSES)
    assert len(saved.history) == EPOCHS
    assert saved.metrics["test_accuracy"] > 0.8  # the shapes are easy: 5 classes, chance is 20%
    assert main(["train", "--model", "cnn", "--channels", "4,8", "--epochs", "1", "--dataset", NAME,
                 "--out", str(folder / "served" / "cnn")]) == 0
    assert load_network(folder / "served" / "cnn").model.config.image_size == SIDE
    assert main(["predict", str(folder / "served" / "mlp"), str(folder / "cross.png")]) != 0  # no such file: a clear error
    (folder / "cross.png").write_bytes(drawing(spec))
    capsys.readouterr()
    assert main(["predict", str(folder / "served" / "mlp"), str(folder / "cross.png")]) == 0
    assert "cross" in capsys.readouterr().out

    # knn: evaluated on the entry's classes
    assert main(["knn", "--dataset", NAME, "--k", "3", "--out", str(folder / "knn")]) == 0
    printed = capsys.readouterr().out
    assert NAME in printed or "accuracy" in printed

    # lab --quick, then its report: every sweep on the new dataset, stored and reported
    storage = f"sqlite:///{folder}/runs.db"
    lab = ["lab", "--quick", "--dataset", NAME, "--storage", storage, "--out", str(folder)]
    assert main(lab) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["report", "--dataset", NAME, "--storage", storage, "--out", str(folder / "again")]) == 0
    page = (folder / "again" / NAME / "index.html").read_text(encoding="utf-8")
    assert "digitlab report: Shapes" in page and "frame" in page  # the entry's title and class names
    assert "names no dataset to compare it with" in page
    assert main(["runs", "list", "--storage", storage]) == 0
    assert f"@{NAME}" in capsys.readouterr().out

    # serve: the trained networks and a k-NN answer a drawing over HTTP, each prepared as 20x20
    models = load_models_dir(folder / "served") + [knn_model(NAME, train_limit=TRAIN)]
    assert {model.dataset for model in models} == {NAME} and len(models) == 3
    server = LiveServer(create_app(models))
    try:
        with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT_S) as client:
            listed = client.get("/api/models").json()
            answer = client.post("/api/predict", files={"file": ("cross.png", drawing(spec), "image/png")})
    finally:
        server.close()
    assert {(entry["dataset"], entry["dataset_title"], tuple(entry["image_shape"])) for entry in listed} == {(NAME, "Shapes", (SIDE, SIDE))}
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert np.asarray(body["image"]).shape == (SIDE, SIDE)
    for prediction in body["predictions"]:
        assert len(prediction["probabilities"]) == len(CLASSES)
        assert prediction["predicted_class"] in CLASSES
    assert any(prediction["predicted_class"] == "cross" for prediction in body["predictions"])
    json.dumps(body)  # plain data all the way


def test_the_web_app_serves_only_checkpoints_whose_dataset_it_knows(shapes):
    spec, folder = shapes
    assert main(["train", "--model", "simple", "--epochs", "1", "--dataset", NAME, "--out", str(folder / "runs" / "simple")]) == 0
    [model] = load_models_dir(folder / "runs")
    assert model.predict_proba(np.zeros((2, SIDE, SIDE), np.uint8)).shape == (2, len(CLASSES))
    catalog.CATALOG[NAME] = dataclasses.replace(spec, image_shape=(SIDE + 8, SIDE + 8))  # the entry changed meanwhile
    assert load_models_dir(folder / "runs") == []  # skipped with a warning
    with pytest.raises(DigitlabError, match=r"trained on \(20, 20\) images"):
        from_checkpoint(folder / "runs" / "simple")
    del catalog.CATALOG[NAME]
    with pytest.raises(DigitlabError, match="not in the dataset catalog"):
        from_checkpoint(folder / "runs" / "simple")
    catalog.CATALOG[NAME] = spec  # for the fixture to take out
