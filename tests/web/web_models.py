"""Real trained checkpoints for the web and preprocessing tests, trained once per test session.

A quick MLP on 20,000 MNIST images for 2 epochs (~95% on the test set) is good enough to read a
drawn "1" and "7" and to measure preprocessing; a tiny Fashion-MNIST MLP checks class names; a
quicker MLP and CNN (``quick_cnn_dir``) are the networks whose explanations are checked.
Both go through the real path: ``train(..., checkpoint_dir=...)`` then ``load_models_dir``.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.specs import run_spec

MNIST_MLP = "mnist-mlp"
FASHION_MLP = "fashion-mlp"
MNIST_TRAIN_LIMIT = 20_000  # enough for ~95% test accuracy in a few seconds
FASHION_TRAIN_LIMIT = 2_000  # only its class names and loading are under test
TEST_LIMIT = 2_000  # the accuracy recorded in the checkpoint
MNIST_CNN = "mnist-cnn"
EXPLAINED_TRAIN_LIMIT = 2_000  # the explained MLP and CNN: 1 epoch, a few seconds each


@functools.cache
def quick_models_dir() -> Path:
    """A folder with two freshly trained checkpoints; removed when the test process ends."""
    from digitlab.datasets import load
    from digitlab.models import build
    from digitlab.training import TrainConfig, train

    folder = Path(tempfile.mkdtemp(prefix="digitlab-web-models-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    mnist = load("mnist").limit(train=MNIST_TRAIN_LIMIT, test=TEST_LIMIT)
    fashion = load("fashion-mnist").limit(train=FASHION_TRAIN_LIMIT, test=TEST_LIMIT)
    for name, data, model, config in [(MNIST_MLP, mnist, build("mlp", hidden_sizes=[128]), TrainConfig(epochs=2, batch_size=128, lr=2e-3)),
                                      (FASHION_MLP, fashion, build("mlp", hidden_sizes=[32]), TrainConfig(epochs=1, batch_size=128))]:
        train(model, data, config, checkpoint_dir=folder / name, spec=run_spec(model, data.name, config))
    return folder


@functools.cache
def quick_cnn_dir() -> Path:
    """A folder with a quick MLP and a quick CNN (1 epoch on 2,000 MNIST images each, ~90% test accuracy):
    the networks whose explanations the explain=true tests check."""
    from digitlab.datasets import load
    from digitlab.models import build
    from digitlab.training import TrainConfig, train

    folder = Path(tempfile.mkdtemp(prefix="digitlab-web-cnn-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    data = load("mnist").limit(train=EXPLAINED_TRAIN_LIMIT, test=TEST_LIMIT)
    for name, model in [(MNIST_MLP, build("mlp", hidden_sizes=[64])), (MNIST_CNN, build("cnn"))]:
        config = TrainConfig(epochs=1, batch_size=128)
        train(model, data, config, checkpoint_dir=folder / name, spec=run_spec(model, data.name, config))
    return folder


@pytest.fixture(scope="session")
def quick_checkpoints() -> Path:
    return quick_models_dir()


@pytest.fixture(scope="session")
def quick_mlp(quick_checkpoints):
    """The MNIST MLP (a torch module, eval mode) as ``digitlab.inference.load_network`` returns it."""
    from digitlab.inference import load_network

    return load_network(quick_checkpoints / MNIST_MLP).model
