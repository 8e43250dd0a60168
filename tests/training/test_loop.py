"""The training loop on tiny generated data: it learns, records, stops, resumes and is deterministic."""

import os
import signal
from dataclasses import replace

import pytest
import torch

from digitlab.errors import DigitlabError
from digitlab.inference import load_network
from digitlab.models import build
from digitlab.pixels import random_shift
from digitlab.presets import preset
from digitlab.training import OPTIMIZERS, SCHEDULES, TrainConfig, seed_everything, train
from digitlab.training.optim import build_optimizer, build_schedule, current_lr
from tests.specs import run_spec
from tests.training.synthetic import CLASSES, synthetic_dataset

HISTORY_KEYS = {"epoch", "train_loss", "train_accuracy", "test_accuracy", "seconds", "elapsed", "samples", "lr"}
QUICK = TrainConfig(epochs=3, batch_size=32, lr=3e-3, schedule="onecycle")


@pytest.fixture(scope="module")
def data():
    return synthetic_dataset(n_train=256, n_test=64)


def _fresh(name="mlp", seed=0, **overrides):
    seed_everything(seed)
    return build(name, num_classes=len(CLASSES), **({"hidden_sizes": [32]} if name == "mlp" else {}), **overrides)


@pytest.mark.parametrize("name", ["simple", "mlp", "cnn"])
def test_learns_the_synthetic_task_and_records_history(data, name):
    overrides = {"channels": [4, 8], "hidden_sizes": [16]} if name == "cnn" else {}
    model = _fresh(name, **overrides) if name != "mlp" else _fresh()
    result = train(model, data, QUICK)
    assert result.test_accuracy >= 0.9, result.history
    assert [h["epoch"] for h in result.history] == [1, 2, 3]
    assert all(HISTORY_KEYS <= set(h) for h in result.history)
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert result.train_seconds == pytest.approx(sum(h["seconds"] for h in result.history))
    assert result.num_parameters == model.num_parameters() and result.stopped is None


def test_same_seed_same_run_other_seed_other_run(data):
    config = TrainConfig(epochs=2, batch_size=32, seed=7)
    runs = [train(_fresh(seed=1, dropout=0.2), data, config) for _ in range(2)]
    strip = [[{k: v for k, v in h.items() if "second" not in k and k != "elapsed"} for h in r.history] for r in runs]
    assert strip[0] == strip[1]
    other = train(_fresh(seed=1, dropout=0.2), data, TrainConfig(epochs=2, batch_size=32, seed=8))
    assert other.history[-1]["train_loss"] != runs[0].history[-1]["train_loss"]


def test_squashed_outputs_need_notebook_faithful(data):
    with pytest.raises(DigitlabError, match="outputs sigmoid values, but CrossEntropyLoss expects logits"):
        train(_fresh("simple", outputs="sigmoid"), data, TrainConfig(epochs=1))
    result = train(_fresh("simple", outputs="sigmoid"), data, replace(preset("simple", name="notebook").train_config, epochs=1, batch_size=32))
    assert result.history[0]["lr"] == pytest.approx(0.01)


def test_notebook_linear_schedule_keeps_a_third_of_the_rate(data):
    notebook = replace(preset("complex", name="notebook").train_config, epochs=2)
    result = train(_fresh("complex", outputs="softmax", hidden_sizes=[16, 16]), data, notebook)
    assert [h["lr"] for h in result.history] == pytest.approx([0.01 / 3] * 2)


PAIRS = [("adam", schedule) for schedule in SCHEDULES] + [(name, "onecycle") for name in OPTIMIZERS if name != "adam"]


@pytest.mark.parametrize(("optimizer", "schedule"), PAIRS)
def test_every_optimizer_and_schedule_runs(data, optimizer, schedule):
    config = TrainConfig(epochs=2, batch_size=64, optimizer=optimizer, schedule=schedule, lr=0.01, weight_decay=1e-4)
    result = train(_fresh(), data, config)
    assert len(result.history) == 2 and all(h["train_loss"] == h["train_loss"] for h in result.history)  # no NaN
    if schedule in ("onecycle", "cosine"):
        assert result.history[-1]["lr"] < result.history[0]["lr"] / 10  # annealed towards zero by the end


def test_validation_time_budget_and_stop_when(data):
    validation = synthetic_dataset(n_train=8, n_test=32, seed=3).test
    result = train(_fresh(), data, TrainConfig(epochs=5, batch_size=32), validation=validation,
                   stop_when=lambda record: record["epoch"] == 2)
    assert result.stopped == "stop_when" and len(result.history) == 2
    assert 0 <= result.val_accuracy <= 1 and "val_accuracy" in result.history[0]

    budget = train(_fresh(), data, TrainConfig(epochs=5, batch_size=32, time_budget=1e-9))
    assert budget.stopped == "time_budget" and len(budget.history) == 1
    assert budget.history[0]["samples"] == 32  # one batch, then the budget was spent


def test_callbacks_see_every_batch_and_epoch(data):
    batches, epochs = [], []
    train(_fresh(), data, TrainConfig(epochs=2, batch_size=100), on_batch=batches.append, on_epoch=epochs.append)
    assert [(b["epoch"], b["batch"], b["batches"]) for b in batches] == [(e, i, 3) for e in (1, 2) for i in (1, 2, 3)]
    assert [e["epoch"] for e in epochs] == [1, 2]


def test_ctrl_c_keeps_last_epoch_and_resume_finishes_the_same_run(data, tmp_path):
    config = TrainConfig(epochs=3, batch_size=32, schedule="onecycle", lr=3e-3)
    uninterrupted = train(_fresh(dropout=0.2), data, config)

    def press_ctrl_c(info):
        if info["epoch"] == 2 and info["batch"] == 3:
            os.kill(os.getpid(), signal.SIGINT)

    model = _fresh(dropout=0.2)
    stopped = train(model, data, config, on_batch=press_ctrl_c, checkpoint_dir=tmp_path, spec=run_spec(model, data.name, config))
    assert stopped.interrupted and len(stopped.history) == 1  # the partial epoch 2 is not recorded
    assert load_network(tmp_path).metrics["epochs"] == 1

    resumed = train(model := _fresh(dropout=0.2), data, config, checkpoint_dir=tmp_path, resume=True,
                    spec=run_spec(model, data.name, config))
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    assert resumed.test_accuracy == uninterrupted.test_accuracy
    assert resumed.history[-1]["train_loss"] == pytest.approx(uninterrupted.history[-1]["train_loss"], rel=1e-6)


def test_resume_refuses_a_different_setup(data, tmp_path):
    one, two = TrainConfig(epochs=1, batch_size=64), TrainConfig(epochs=2, batch_size=64)
    train(model := _fresh(), data, one, checkpoint_dir=tmp_path, spec=run_spec(model, data.name, one))
    with pytest.raises(DigitlabError, match="resume with the same TrainConfig"):
        train(model := _fresh(), data, two, checkpoint_dir=tmp_path, resume=True, spec=run_spec(model, data.name, two))
    with pytest.raises(DigitlabError, match="different network"):
        other = build("mlp", hidden_sizes=[8], num_classes=4)
        train(other, data, one, checkpoint_dir=tmp_path, resume=True, spec=run_spec(other, data.name, one))


def test_random_shift_moves_pixels_within_bounds():
    image = torch.zeros(200, 5, 5)
    image[:, 2, 2] = 1.0  # one lit pixel in the centre
    shifted = random_shift(image, 1, torch.Generator().manual_seed(0))
    assert torch.equal(shifted.sum(dim=(1, 2)), torch.ones(200))  # nothing lost at a 1-pixel shift
    rows, cols = shifted.nonzero()[:, 1], shifted.nonzero()[:, 2]
    assert set(rows.tolist()) == {1, 2, 3} and set(cols.tolist()) == {1, 2, 3}  # every offset occurs
    assert random_shift(image, 0, torch.Generator()) is image


def test_bad_settings_name_the_value():
    with pytest.raises(ValueError, match="batch_size must be a whole number of at least 1, got 0"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="schedule must be one of"):
        TrainConfig(schedule="warm")
    with pytest.raises(ValueError, match="no setting 'epoch'"):
        TrainConfig.from_dict({"epoch": 3})


def test_recommended_presets_per_dataset_and_overrides_win():
    from digitlab.presets import recommended

    assert recommended("cnn", "fashion-mnist").epochs > recommended("cnn").epochs  # harder data, longer training
    assert recommended("cnn", "fashion-mnist", epochs=2).epochs == 2
    assert recommended("unknown-model") == TrainConfig()
    with pytest.raises(ValueError, match="the notebook preset trains complex and simple, not 'cnn'"):
        preset("cnn", name="notebook")
    with pytest.raises(ValueError, match="preset must be one of"):
        preset("cnn", name="fast")


def test_augment_setting_is_checked_and_canonical():
    assert TrainConfig(augment=" Rotate, shift ,rotate").augment == "shift,rotate"
    assert TrainConfig(augment="none").augment == ""
    with pytest.raises(ValueError, match="unknown augmentation 'spin'"):
        TrainConfig(augment="shift,spin")
    with pytest.raises(ValueError, match="augment_max_zoom must be in"):
        TrainConfig(augment="scale", augment_max_zoom=1.0)
    with pytest.raises(ValueError, match="augmentation settings.*max_degrees"):
        TrainConfig(augment="rotate", augment_max_degrees=400)
    assert TrainConfig.from_dict(TrainConfig(augment="shift,invert").to_dict()).augment == "shift,invert"


def test_augmented_training_sees_changed_batches_and_is_reproducible(data):
    from digitlab.inference.predict import as_float_images

    seen = []
    config = TrainConfig(epochs=2, batch_size=32, lr=3e-3, schedule="onecycle", augment="shift,rotate,invert")
    model = _fresh()
    model.register_forward_pre_hook(lambda module, inputs: seen.append(inputs[0].detach().clone()) if module.training else None)
    first = train(model, data, config)
    # The network saw images no plain training image looks like: inverted ones, bright on average.
    assert seen and all(batch.shape == (32, 28, 28) for batch in seen)
    assert float(torch.cat(seen).mean(dim=(1, 2)).max()) > 0.7 > float(as_float_images(data.train.images).mean(dim=(1, 2)).max())
    again = train(_fresh(), data, config)
    assert again.history[-1]["train_loss"] == first.history[-1]["train_loss"]  # same seed, same random changes
    plain = train(_fresh(), data, replace(config, augment=""))
    assert plain.history[-1]["train_loss"] != first.history[-1]["train_loss"]


def test_ctrl_c_and_resume_with_augmentation_continue_the_same_random_changes(data, tmp_path):
    config = TrainConfig(epochs=2, batch_size=32, lr=3e-3, augment="shift,rotate,scale")
    uninterrupted = train(_fresh(), data, config)

    def press_ctrl_c(info):
        if info["epoch"] == 2 and info["batch"] == 2:
            os.kill(os.getpid(), signal.SIGINT)

    spec = run_spec(_fresh(), data.name, config)
    assert train(_fresh(), data, config, on_batch=press_ctrl_c, checkpoint_dir=tmp_path, spec=spec).interrupted
    resumed = train(_fresh(), data, config, checkpoint_dir=tmp_path, resume=True, spec=spec)
    assert resumed.history[-1]["train_loss"] == pytest.approx(uninterrupted.history[-1]["train_loss"], rel=1e-6)
    assert load_network(tmp_path).spec["train_config"]["augment"] == "shift,rotate,scale"


@pytest.mark.parametrize("warmup", [0.1, 0.3])
def test_onecycle_peaks_after_the_warmup_fraction(warmup):
    steps_per_epoch, epochs = 10, 5
    model = torch.nn.Linear(2, 2)
    config = TrainConfig(epochs=epochs, lr=0.01, schedule="onecycle", warmup=warmup)
    optimizer = build_optimizer(model.parameters(), config)
    schedule = build_schedule(optimizer, config, steps_per_epoch=steps_per_epoch)
    rates = []
    for _ in range(epochs * steps_per_epoch):
        rates.append(current_lr(optimizer))
        optimizer.step()
        schedule.after_batch()
    peak = max(range(len(rates)), key=rates.__getitem__)
    assert rates[peak] == pytest.approx(0.01)
    assert abs(peak - warmup * epochs * steps_per_epoch) <= 1  # the peak sits where the warm-up ends


def test_warmup_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="warmup"):
        TrainConfig(warmup=1.0)
