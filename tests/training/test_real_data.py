"""One short run per network on real MNIST: each must clearly learn (modest floors, CI-sized)."""

import pytest

from digitlab.datasets import load
from digitlab.models import build
from digitlab.training import TrainConfig, seed_everything, train

pytestmark = pytest.mark.realdata

TEST_IMAGES = 2_000
# name: (training images, floor on test accuracy after one epoch of batch 32, Adam, constant lr). Chance is 0.10.
RUNS = {"simple": (10_000, 0.80), "complex": (5_000, 0.78), "mlp": (5_000, 0.80), "cnn": (3_000, 0.88)}


@pytest.fixture(scope="module")
def mnist():
    return load("mnist")


@pytest.mark.parametrize("name", list(RUNS))
def test_one_epoch_beats_the_floor(mnist, name):
    images, floor = RUNS[name]
    seed_everything(0)
    result = train(build(name), mnist.limit(train=images, test=TEST_IMAGES), TrainConfig(epochs=1, batch_size=32, lr=2e-3))
    assert result.test_accuracy > floor, f"{name}: {result.test_accuracy:.4f} after {images} images"
