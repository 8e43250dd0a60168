"""Checkpoints: a faithful round trip, atomic replacement, corruption detected, nothing unpickled."""

import json
import pickle

import pytest
import torch

from digitlab.inference import checkpoint as ckpt
from digitlab.inference import load_network
from digitlab.inference.checkpoint import CheckpointError, load_training_state, pack_state, save_checkpoint, unpack_state
from digitlab.models import build
from digitlab.training import TrainConfig, train
from tests.specs import run_spec
from tests.training.synthetic import CLASSES, synthetic_dataset


@pytest.fixture
def trained(tmp_path):
    torch.manual_seed(0)
    model = build("cnn", channels=[4, 8], hidden_sizes=[8], num_classes=len(CLASSES))
    config = TrainConfig(epochs=2, batch_size=64)
    result = train(model, synthetic_dataset(n_train=128, n_test=32), config, checkpoint_dir=tmp_path / "run",
                   spec=run_spec(model, "synthetic", config))
    return model, config, result, tmp_path / "run"


def test_round_trip_gives_the_same_network_and_run(trained):
    model, config, result, folder = trained
    loaded = load_network(folder)
    assert loaded.model_name == "cnn" and loaded.model.config == model.config and loaded.spec == run_spec(model, "synthetic", config)
    assert loaded.dataset == "synthetic" and loaded.classes == CLASSES
    assert loaded.history == result.history and loaded.metrics["test_accuracy"] == result.test_accuracy
    assert loaded.num_parameters == model.num_parameters()
    assert not loaded.model.training and next(loaded.model.parameters()).device.type == "cpu"
    x = torch.rand(5, 28, 28)
    torch.testing.assert_close(loaded.model(x), model.eval()(x))
    assert load_network(folder / "checkpoint.json").model_name == "cnn"  # the manifest path works too
    saved = load_network(folder)  # inference's reader: the same network, without the training config
    assert saved.image_shape == (28, 28) and saved.num_classes == len(CLASSES)
    torch.testing.assert_close(saved.model(x), model(x))
    manifest = json.loads((folder / "checkpoint.json").read_text())
    assert manifest["versions"]["torch"] == torch.__version__ and manifest["spec"]["model_config"]["num_classes"] == len(CLASSES)


def test_loading_never_unpickles(trained, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a checkpoint load must not unpickle")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    load_network(trained[3])
    load_training_state(trained[3])


def test_corrupt_or_missing_files_are_named(trained, tmp_path):
    folder = trained[3]
    weights = next(folder.glob("weights-*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt or was changed"):
        load_network(folder)
    weights.unlink()
    with pytest.raises(CheckpointError, match="is missing"):
        load_network(folder)
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_network(tmp_path / "nowhere")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "checkpoint.json").write_text('{"format": "something-else"}')
    with pytest.raises(CheckpointError, match="not a digitlab checkpoint"):
        load_network(tmp_path / "other")


def test_interrupted_save_keeps_the_previous_checkpoint(trained, monkeypatch):
    model, config, result, folder = trained
    before = load_network(folder)

    def crash(path, text):
        raise KeyboardInterrupt  # e.g. Ctrl-C while the new manifest is being written

    monkeypatch.setattr(ckpt, "atomic_write_text", crash)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(folder, model, run_spec(model, "synthetic", config), history=result.history + [{}])
    after = load_network(folder)  # still the old, complete checkpoint
    for key, value in before.model.state_dict().items():
        assert torch.equal(after.model.state_dict()[key], value)
    monkeypatch.undo()
    save_checkpoint(folder, model, run_spec(model, "synthetic", config), history=result.history)
    assert len(list(folder.glob("weights-*.safetensors"))) == 1  # the orphan of the crash is cleaned up


def test_state_packing_round_trip_with_integer_keys():
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.ones(3))])
    optimizer.param_groups[0]["params"][0].grad = torch.ones(3)
    optimizer.step()
    tensors = {}
    packed = pack_state(optimizer.state_dict(), tensors)
    json.dumps(packed)  # plain JSON once the tensors are out
    restored = unpack_state(json.loads(json.dumps(packed)), tensors)
    assert restored["state"][0]["exp_avg"].equal(optimizer.state_dict()["state"][0]["exp_avg"])
    assert restored["param_groups"][0]["lr"] == optimizer.param_groups[0]["lr"]


def test_only_registry_networks_can_be_saved(tmp_path):
    with pytest.raises(CheckpointError, match="only networks from digitlab.models"):
        save_checkpoint(tmp_path, torch.nn.Linear(784, 10), {})
