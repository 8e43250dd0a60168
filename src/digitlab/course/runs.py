"""The course's experiments, one run at a time: train a network or fit a k-NN, and say how well and how fast.

A student writes the loop over the settings; each call here is one run of one setting. A run starts from
the same state every time (the network's weights re-drawn with the run's seed, as the course's ``reset()``
does), so two runs of one setting give the same accuracy and a table of runs can be checked by running one
of its rows again. Every run is also kept in this kernel's log (:func:`runs`), which the checks read.
"""

from __future__ import annotations

import copy
import os
import time
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn

from digitlab.datasets import Dataset, load, train_validation_split
from digitlab.inference import predict_labels
from digitlab.knn import KNNClassifier, flatten_images
from digitlab.notebooks.checks.experiments import QUICK_VALIDATION_IMAGES as QUICK_KNN_VALIDATION
from digitlab.notebooks.checks.experiments import VALIDATION_IMAGES as KNN_VALIDATION
from digitlab.notebooks.checks.experiments import VALIDATION_SEED
from digitlab.notebooks.grading import QUICK_ENV, QUICK_TEST, QUICK_TRAIN
from digitlab.presets import preset
from digitlab.training import pick_device, seed_everything, train

KNN_TRAIN = 10_000  # training images k-NN searches by default while tuning: ~6x faster than all 60,000
SEED = 0  # every run's weights and batch order; the same seed makes a setting's runs comparable
COURSE_DATASET = "mnist"
EVAL_ON = ("validatie", "test")  # where a k-NN run is scored: held-out training images, or the test set


_DATA: dict[str, Dataset] = {}


def quick(on: bool | None = None) -> bool:
    """True in the notebook's quick mode (``SNEL``): small data, so that every cell runs in seconds.

    ``quick(True)`` / ``quick(False)`` switches it for this kernel (the grader and the tests set it by
    the environment variable DIGITLAB_NOTEBOOK_QUICK=1).
    """
    if on is not None:
        os.environ[QUICK_ENV] = "1" if on else "0"
        _DATA.clear()  # the datasets are cut again at the next load
    return os.environ.get(QUICK_ENV) == "1"


def course_data(name: str = COURSE_DATASET) -> Dataset:
    """The dataset ``name`` as the course uses it: all of it, or its first images in the quick mode."""
    if name not in _DATA:
        data = load(name)
        _DATA[name] = data.limit(train=QUICK_TRAIN, test=QUICK_TEST) if quick() else data
    return _DATA[name]


@dataclass(frozen=True)
class Score:
    """One run: its settings and what it measured. ``accuracy, seconds = score`` unpacks the two numbers."""

    accuracy: float  # fraction of the evaluated images classified right
    seconds: float  # training seconds (networks) or fit + predict seconds (k-NN)
    settings: dict[str, Any] = field(default_factory=dict)  # what the run did: model, layers, epochs, k, ...

    def __iter__(self):
        yield self.accuracy
        yield self.seconds

    def again(self, images: torch.Tensor) -> list[int]:
        """The labels this run's setting predicts for ``images`` when run again from the same start (a network run)."""
        return predictions_again(self, images)

    def row(self) -> dict[str, Any]:
        """The run as one table row: its settings, then accuracy and seconds."""
        return {**self.settings, "accuracy": self.accuracy, "seconds": self.seconds}


@dataclass(frozen=True)
class _Logged:
    score: Score
    start: nn.Module | None  # the network as the run began (for running the setting again), None for k-NN


_LOG: list[_Logged] = []


def run_log() -> list[Score]:
    """Every run made in this kernel so far, oldest first."""
    return [entry.score for entry in _LOG]


def layers_of(model: nn.Module) -> tuple[int, ...]:
    """The sizes a fully connected network passes through, e.g. (784, 512, 512, 10); () for other networks."""
    linear = [module for module in model.modules() if isinstance(module, nn.Linear)]
    if not linear or any(isinstance(module, nn.Conv2d) for module in model.modules()):
        return ()
    return (linear[0].in_features, *(module.out_features for module in linear))


def _reset(model: nn.Module, seed: int) -> None:
    """Draw every layer's weights again from ``seed``: the same start for every run of a setting."""
    seed_everything(seed)
    for module in model.modules():
        if module is not model and hasattr(module, "reset_parameters"):
            module.reset_parameters()
    if hasattr(model, "reset_parameters"):
        model.reset_parameters()


def _trainable(model: nn.Module) -> nn.Module:
    """The course's networks take rows of 784 pixels; digitlab's own (built by name) take the images."""
    return model if hasattr(model, "config") and hasattr(model, "name") else nn.Sequential(nn.Flatten(), model)


def _train(model: nn.Module, data: Dataset, epochs: int, batch_size: int, name: str, lr: float | None,
           seed: int) -> tuple[nn.Module, float, float]:
    """Train ``model`` from fresh weights; the trained network (as trained), its test accuracy and seconds."""
    model_name = model.name if hasattr(model, "config") and hasattr(model, "name") else "simple"
    changes = {"epochs": epochs, "batch_size": batch_size, "seed": seed, **({} if lr is None else {"lr": lr})}
    if name == "notebook":  # the course's settings (Adam, lr 0.01, sigmoid/softmax outputs allowed) for any network
        config = replace(preset("simple", name=name).train_config, **changes)
    else:
        config = replace(preset(model_name, data.name, name).train_config, **changes)
    _reset(model, seed)
    trainable = _trainable(model)
    result = train(trainable, data, config, device=pick_device())
    return trainable, float(result.test_accuracy), float(result.train_seconds)


def train_and_score(model: nn.Module, *, epochs: int, batch_size: int, data: Dataset | None = None, lr: float | None = None,
                    preset: str = "notebook", seed: int = SEED) -> Score:
    """Train ``model`` from fresh weights for ``epochs`` in batches of ``batch_size``; its test accuracy and seconds.

    The training is the visible loop of Stap 4 (digitlab.training.loop) with the course's settings (Adam,
    learning rate 0.01: ``preset="notebook"``), or, for a network built by name, digitlab's tuned ones
    (``preset="recommended"``). ``data`` is MNIST unless given (``load("fashion-mnist")``).
    """
    data = course_data() if data is None else data
    start = copy.deepcopy(model)
    _, accuracy, seconds = _train(model, data, epochs, batch_size, preset, lr, seed)
    settings = {"dataset": data.name, "model": type(model).__name__, "layers": layers_of(model),
                "parameters": sum(p.numel() for p in model.parameters()), "epochs": epochs, "batch_size": batch_size,
                "preset": preset, "lr": lr, "seed": seed, "train_size": len(data.train)}
    score = Score(accuracy, seconds, settings)
    _LOG.append(_Logged(score, start))
    return score


def _knn_splits(data: Dataset, on: str, train_size: int | None):
    if on not in EVAL_ON:
        raise ValueError(f"on={on!r}: kies 'validatie' (om k en de afstand te kiezen) of 'test' (het eindcijfer)")
    if on == "test":
        fit, scored = data.train, data.test
    else:
        fit, scored = train_validation_split(data.train, QUICK_KNN_VALIDATION if quick() else KNN_VALIDATION, seed=VALIDATION_SEED)
    return fit.head(train_size), scored


def knn_and_score(*, k: int, metric: str = "euclidean", weights: str = "uniform", data: Dataset | None = None,
                  on: str = "validatie", train_size: int | None = KNN_TRAIN) -> Score:
    """Fit k-NN on ``train_size`` training images and score it on the validation set (or ``on="test"``).

    ``on="validatie"`` scores on training images held out of the fit (choose k and the distance there);
    ``on="test"`` fits on the training set and scores the test set (the final number). ``train_size=None``
    searches every training image.
    """
    data = course_data() if data is None else data
    fit, scored = _knn_splits(data, on, train_size)
    started = time.perf_counter()
    classifier = KNNClassifier(k, metric=metric, weights=weights).fit(flatten_images(fit.images), fit.labels)
    accuracy = float(classifier.score(flatten_images(scored.images), scored.labels))
    seconds = time.perf_counter() - started
    settings = {"dataset": data.name, "model": "k-NN", "k": k, "metric": metric, "weights": weights, "on": on,
                "train_size": len(fit), "eval_size": len(scored)}
    score = Score(accuracy, seconds, settings)
    _LOG.append(_Logged(score, None))
    return score


def run_again(score: Score, data: Dataset | None = None) -> float | None:
    """The accuracy ``score``'s setting gives when run again here (None when this kernel never ran it)."""
    settings = score.settings
    data = course_data(settings.get("dataset", COURSE_DATASET)) if data is None else data
    if settings.get("model") == "k-NN":
        fit, scored = _knn_splits(data, settings["on"], settings["train_size"])
        classifier = KNNClassifier(settings["k"], metric=settings["metric"], weights=settings["weights"])
        return float(classifier.fit(flatten_images(fit.images), fit.labels).score(flatten_images(scored.images), scored.labels))
    start = next((entry.start for entry in _LOG if entry.score is score), None)
    if start is None:
        return None
    with torch.random.fork_rng(devices=[]):  # the student's own random state is left as it was
        _, accuracy, _ = _train(copy.deepcopy(start), data, settings["epochs"], settings["batch_size"], settings["preset"],
                                settings["lr"], settings["seed"])
    return accuracy


def predictions_again(score: Score, images: torch.Tensor) -> list[int]:
    """The labels ``score``'s network setting predicts for ``images`` when trained again from its start (for the grader)."""
    start = next((entry.start for entry in _LOG if entry.score.settings == score.settings and entry.start is not None), None)
    if start is None:
        raise ValueError("deze run is niet in deze kernel gemaakt: er is niets om opnieuw te draaien")
    settings = score.settings
    with torch.random.fork_rng(devices=[]):
        trained, _, _ = _train(copy.deepcopy(start), course_data(settings["dataset"]), settings["epochs"], settings["batch_size"],
                               settings["preset"], settings["lr"], settings["seed"])
    return [int(label) for label in predict_labels(trained, images)]
