"""How long loading MNIST takes: digitlab's cache vs the notebook's per-item loop, in one run.

The notebook builds ``x_train`` by asking torchvision for one PIL image at a time, converting it
with ``ToTensor()`` and copying it into a preallocated float tensor. The baseline below does the
same without torchvision (PIL image -> ToTensor's own steps -> tensor slot), starting from arrays
already in memory, so it *under*-states the notebook's cost. Run: ``python benchmarks/load_data.py``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import torch
from PIL import Image
from rich.console import Console
from rich.table import Table

from digitlab.datasets import load
from digitlab.pixels import PIXEL_MAX


def to_tensor_like(picture: Image.Image) -> torch.Tensor:
    """torchvision's ToTensor for a mode-'L' image: HWC uint8 -> CHW float / 255."""
    array = np.array(picture, copy=True)
    return torch.from_numpy(array).view(picture.size[1], picture.size[0], 1).permute(2, 0, 1).contiguous().float().div(PIXEL_MAX)


def notebook_loop(images: np.ndarray, labels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """The notebook's cell: one PIL image at a time into preallocated tensors."""
    x = torch.zeros(size=(len(images), 28, 28))
    y = torch.zeros(size=(len(images), 1))
    for i in range(len(images)):
        picture = Image.fromarray(images[i], mode="L")  # what torchvision's __getitem__ returns
        x[i] = to_tensor_like(picture).reshape(28, 28)
        y[i] = int(labels[i])
    return x, y


def timed(function, repeats: int) -> list[float]:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions of digitlab's load")
    parser.add_argument("--quick", action="store_true", help="one repetition each (smoke run)")
    options = parser.parse_args()
    repeats = 1 if options.quick else options.repeats

    dataset = load("mnist")  # fill the cache first; what follows is the warm path
    ours = timed(lambda: load("mnist", remote=False), repeats)
    arrays = [(s.images.numpy(), s.labels.numpy()) for s in (dataset.train, dataset.test)]
    baseline = timed(lambda: [notebook_loop(*pair) for pair in arrays], 1 if options.quick else 3)

    ours_s, baseline_s = statistics.median(ours), statistics.median(baseline)
    table = Table(title=f"MNIST train+test into tensors ({platform.processor() or platform.machine()}, torch {torch.__version__})")
    for column in ("method", "median s", "runs", "speed-up"):
        table.add_column(column)
    table.add_row("notebook loop (PIL + ToTensor per item)", f"{baseline_s:.3f}", str(len(baseline)), "1.0x")
    table.add_row("digitlab load() from cache", f"{ours_s:.4f}", str(len(ours)), f"{baseline_s / ours_s:.1f}x")
    Console().print(table)


if __name__ == "__main__":
    main()
