"""Bad checkpoints: validated before anything is built, skipped by `serve` with one warning line, one
error line from `evaluate` and `predict`; the server keeps answering JSON with the good ones.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from PIL import Image

from digitlab.cli.main import main
from digitlab.inference import CheckpointError, load_network, save_checkpoint
from digitlab.models import build
from digitlab.web import create_app, load_models_dir
from tests.specs import run_spec
from tests.web.conftest import LiveServer

DIGITS = [str(d) for d in range(10)]


def _good(folder: Path) -> Path:
    torch.manual_seed(0)
    save_checkpoint(folder, model := build("mlp", hidden_sizes=[16]), run_spec(model), classes=DIGITS, metrics={"test_accuracy": 0.5})
    return folder


def _edit(folder: Path, change) -> Path:  # noqa: ANN001
    path = folder / "checkpoint.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))
    return folder


def _weights(folder: Path) -> Path:
    return folder / json.loads((folder / "checkpoint.json").read_text())["files"]["weights"]["name"]


def _set(key, value):  # noqa: ANN001, ANN202
    return lambda manifest: manifest.__setitem__(key, value)


BAD_MANIFESTS = {
    "classes-a-number": (_set("classes", 5), "classes"),
    "metrics-a-list": (_set("metrics", [1]), "metrics"),
    "accuracy-a-string": (_set("metrics", {"test_accuracy": "0.9"}), "test_accuracy"),
    "dataset-a-number": (lambda m: m["spec"].__setitem__("dataset", 5), "spec.dataset"),
    "no-spec": (lambda m: m.pop("spec"), "spec"),
    "huge-config": (lambda m: m["spec"]["model_config"].__setitem__("hidden_sizes", [1_000_000]), "describes a network of"),
    "other-config": (lambda m: m["spec"]["model_config"].__setitem__("hidden_sizes", [32]), "weight"),
    "bad-config-type": (lambda m: m["spec"]["model_config"].__setitem__("hidden_sizes", "wide"), "does not match its own description"),
    "weights-outside": (lambda m: m["files"]["weights"].__setitem__("name", "../../etc/passwd"), "files.weights.name"),
}


@pytest.mark.parametrize("case", sorted(BAD_MANIFESTS))
def test_a_bad_manifest_is_one_clear_checkpoint_error(tmp_path, case):
    change, message = BAD_MANIFESTS[case]
    folder = _edit(_good(tmp_path / case), change)
    with pytest.raises(CheckpointError, match=message):
        load_network(folder)


def test_deeply_nested_json_and_a_huge_manifest_are_refused(tmp_path):
    folder = _good(tmp_path / "nested")
    (folder / "checkpoint.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(CheckpointError, match="nested too deeply"):
        load_network(folder)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_weights_linked_to_dev_zero_are_not_read(tmp_path):
    folder = _good(tmp_path / "zero")
    weights = _weights(folder)
    weights.unlink()
    os.symlink("/dev/zero", weights)
    with pytest.raises(CheckpointError, match="not a regular file"):
        load_network(folder)


def test_a_weight_file_larger_than_its_network_is_not_read(tmp_path):
    folder = _good(tmp_path / "padded")
    with _weights(folder).open("ab") as handle:
        handle.write(b"\0" * 2 * 1024 * 1024)
    with pytest.raises(CheckpointError, match="its network needs at most"):
        load_network(folder)


def test_the_web_app_refuses_class_names_that_do_not_name_every_output(tmp_path):
    from digitlab.errors import DigitlabError
    from digitlab.web import from_checkpoint

    folder = _edit(_good(tmp_path / "two"), _set("classes", ["a", "b"]))
    assert len(load_network(folder).classes) == 2  # evaluate can still score it
    with pytest.raises(DigitlabError, match="names 2 classes for a network with 10 outputs"):
        from_checkpoint(folder)


def _bad_models_dir(tmp_path: Path) -> Path:
    models = tmp_path / "models"
    _good(models / "good")
    _edit(_good(models / "classes-too-few"), _set("classes", ["a", "b"]))
    for case, (change, _) in BAD_MANIFESTS.items():
        _edit(_good(models / case), change)
    (models / "nested").mkdir()
    (models / "nested" / "checkpoint.json").write_text("[" * 100_000)
    return models


def test_serve_skips_each_bad_checkpoint_with_one_warning_line(tmp_path, caplog):
    models = _bad_models_dir(tmp_path)
    with caplog.at_level(logging.WARNING, logger="digitlab.web.models"):
        loaded = load_models_dir(models)
    assert [model.name for model in loaded] == ["good"]
    warnings = [record for record in caplog.records if record.name == "digitlab.web.models"]
    assert len(warnings) == len(BAD_MANIFESTS) + 2
    assert all("\n" not in record.getMessage() and "skipping checkpoint" in record.getMessage() for record in warnings)


def test_the_server_answers_json_with_the_good_checkpoints(tmp_path):
    live = LiveServer(create_app(_bad_models_dir(tmp_path)))
    try:
        listed = httpx.get(f"{live.url}/api/models", timeout=10)
        assert listed.status_code == 200 and [m["name"] for m in listed.json()] == ["good"]
        drawing = np.zeros((28, 28))
        drawing[4:24, 12:16] = 255
        answer = httpx.post(f"{live.url}/api/predict", json={"image": drawing.tolist()}, timeout=10)
        assert answer.status_code == 200 and len(answer.json()["predictions"][0]["probabilities"]) == 10
        missing = httpx.get(f"{live.url}/api/nothing", timeout=10)
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/json"
    finally:
        live.close()


@pytest.mark.parametrize("case", ["classes-a-number", "huge-config", "nested"])
def test_evaluate_and_predict_give_one_line_for_a_bad_checkpoint(tmp_path, case, capsys):
    folder = _good(tmp_path / case)
    if case == "nested":
        (folder / "checkpoint.json").write_text("[" * 100_000)
    else:
        _edit(folder, BAD_MANIFESTS[case][0])
    image = tmp_path / "digit.png"
    Image.fromarray(np.pad(np.full((20, 4), 255, np.uint8), 4)).save(image)
    for argv in (["evaluate", str(folder)], ["predict", str(folder), str(image)]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith("Error:") and "Traceback" not in err and str(folder.name) in " ".join(err.split())


@pytest.mark.parametrize("pixel", ["12", True, None])
def test_json_pixels_must_be_numbers_not_strings_or_booleans(live_stand_in_server, pixel):
    image = [[0] * 28 for _ in range(28)]
    for row in range(4, 24):
        image[row][14] = 255
    image[10][10] = pixel
    answer = httpx.post(f"{live_stand_in_server.url}/api/predict", json={"image": image}, timeout=10)
    assert answer.status_code == 422 and answer.json()["error"] == "invalid_array" and "image.10.10" in answer.json()["detail"]
    image[10][10] = 12  # an int is a number
    assert httpx.post(f"{live_stand_in_server.url}/api/predict", json={"image": image}, timeout=10).status_code == 200


def test_docs_pages_that_need_a_cdn_are_gone(live_stand_in_server):
    for path in ("/docs", "/redoc"):
        answer = httpx.get(f"{live_stand_in_server.url}{path}", timeout=10)
        assert answer.status_code == 404 and answer.json()["error"] == "not_found"
    assert httpx.get(f"{live_stand_in_server.url}/openapi.json", timeout=10).status_code == 200


def _saved_with(folder: Path, value: float) -> Path:
    torch.manual_seed(0)
    model = build("mlp", hidden_sizes=[16])
    with torch.no_grad():
        next(model.parameters()).fill_(value)  # 784 inputs x 1e37 overflow float32
    save_checkpoint(folder, model, run_spec(model), classes=DIGITS, metrics={"test_accuracy": 0.9})
    return folder


@pytest.mark.parametrize(("value", "message"), [(float("nan"), "NaN or infinite"), (float("inf"), "NaN or infinite"),
                                                (-float("inf"), "NaN or infinite"), (1e37, "answers NaN or infinity")])
def test_weights_or_outputs_that_are_not_finite_are_refused_at_load(tmp_path, value, message):
    folder = _saved_with(tmp_path / "diverged", value)
    with pytest.raises(CheckpointError, match=message) as refused:
        load_network(folder)
    assert "\n" not in str(refused.value) and "train it again" in str(refused.value)


def test_serve_skips_a_checkpoint_with_nan_weights_and_predict_says_one_line(tmp_path, capsys, caplog):
    models = tmp_path / "models"
    _good(models / "good")
    _saved_with(models / "nan", float("nan"))
    with caplog.at_level(logging.WARNING, logger="digitlab.web.models"):
        assert [model.name for model in load_models_dir(models)] == ["good"]
    assert any("nan" in record.getMessage() and "NaN" in record.getMessage() for record in caplog.records)
    capsys.readouterr()  # the warning, echoed on stderr
    image = tmp_path / "digit.png"
    Image.fromarray(np.pad(np.full((20, 4), 255, np.uint8), 4)).save(image)
    assert main(["predict", str(models / "nan"), str(image)]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert err.startswith("Error:") and "NaN or infinite" in err and "Traceback" not in err
