"""Generated models and digits whose answers depend on known pixels, for the explain tests."""

from __future__ import annotations

import pytest
import torch

from digitlab.knn.threads import one_thread
from digitlab.models import build

SIDE = 28
BLOCK = (slice(4, 10), slice(4, 10))  # the 6x6 pixels that decide the known-pixel model's answer


def known_pixel_model():
    """A SimpleNetwork whose class 1 score is the ink in BLOCK (minus a threshold), every other class 0.

    Ink anywhere else changes nothing, so a faithful attribution must find BLOCK.
    """
    model = build("simple")
    with torch.no_grad():
        model.fc1.weight.zero_()
        model.fc1.bias.zero_()
        weight = torch.zeros(SIDE, SIDE)
        weight[BLOCK] = 1.0
        model.fc1.weight[1] = weight.flatten()
        model.fc1.bias[1] = -4.0  # about 4 of the 36 pixels' worth of ink makes it a "1"
    return model.eval()


def block_digits(count: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(count, 28, 28) uint8 images: bright ink in BLOCK plus as much random ink elsewhere; all labelled 1."""
    generator = torch.Generator().manual_seed(seed)
    images = (torch.rand(count, SIDE, SIDE, generator=generator) < 0.3).to(torch.uint8) * 255  # distracting ink
    images[:, BLOCK[0], BLOCK[1]] = 255
    return images, torch.ones(count, dtype=torch.long)


def halves_data(count: int = 256, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A bar in the left half (class 0) or the right half (class 1), at a random row."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (count,), generator=generator)
    rows = torch.randint(4, SIDE - 8, (count,), generator=generator)
    images = torch.zeros(count, SIDE, SIDE, dtype=torch.uint8)
    for index, (label, row) in enumerate(zip(labels.tolist(), rows.tolist(), strict=True)):
        left = 3 if label == 0 else SIDE // 2 + 3
        images[index, row:row + 4, left:left + 8] = 255
    return images, labels


def train_quickly(model, images: torch.Tensor, labels: torch.Tensor, steps: int = 60):
    """A few Adam steps on the whole generated set: enough to separate the halves."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    inputs = images.float() / 255
    model.train()
    with one_thread():  # tiny steps: a second thread only waits on a busy machine
        for _ in range(steps):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(inputs), labels)
            loss.backward()
            optimizer.step()
    return model.eval()


@pytest.fixture(scope="session")
def halves_cnn():
    torch.manual_seed(0)
    images, labels = halves_data()
    return train_quickly(build("cnn", channels=[4, 8], hidden_sizes=[16], num_classes=2, dropout=0.0), images, labels)


@pytest.fixture(scope="session")
def halves_mlp():
    torch.manual_seed(0)
    images, labels = halves_data()
    return train_quickly(build("mlp", hidden_sizes=[16], num_classes=2, dropout=0.0), images, labels)


@pytest.fixture(autouse=True)
def _one_thread():
    """The explain tests work on a few dozen tiny images: one thread, so a busy machine does not stall them."""
    with one_thread():
        yield
