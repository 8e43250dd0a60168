"""Neural networks on MNIST and Fashion-MNIST: the notebook's setup against digitlab's, over seeds.

Every setup is trained from scratch once per seed with digitlab's own loop; the table reports the
*final* epoch's test accuracy (mean ± std over seeds: never the best epoch picked on the test
set), the training seconds (evaluation excluded), and for MNIST the training seconds until the
test accuracy first reached 98.0%. PyTorch's official MNIST example CNN (pytorch/examples,
mnist/main.py: Adadelta lr=1.0, StepLR gamma 0.7, batch 64) trains for the same wall time as
digitlab's CNN in the same seed, for a fair race.

    python benchmarks/train.py                  # everything, 3 seeds (long: run it with nohup)
    python benchmarks/train.py --quick          # smoke run: 1 seed, 5,000 images, 1 epoch
    python benchmarks/train.py --only mlp cnn --seeds 0 1 2 --json results.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from rich.console import Console
from rich.table import Table
from torch import nn

from digitlab.datasets import load
from digitlab.models import build
from digitlab.training import TrainConfig, notebook, recommended, seed_everything, train

TARGET = 0.98  # "time to first reach 98.0%" on MNIST
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # the official example's Normalize()


class ExampleNet(nn.Module):
    """The CNN of PyTorch's official MNIST example (pytorch/examples, mnist/main.py), normalisation included.

    It returns log_softmax and trains with nll_loss; returning the logits and training with
    CrossEntropyLoss (= log_softmax + nll_loss) is the same computation.
    """

    outputs = "logits"

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 32, 3, 1), nn.Conv2d(32, 64, 3, 1)
        self.dropout1, self.dropout2 = nn.Dropout(0.25), nn.Dropout(0.5)
        self.fc1, self.fc2 = nn.Linear(9216, 128), nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x.reshape(-1, 1, 28, 28) - MNIST_MEAN) / MNIST_STD
        x = F.max_pool2d(F.relu(self.conv2(F.relu(self.conv1(x)))), 2)  # (N, 64, 12, 12)
        x = self.dropout1(torch.flatten(x, 1))
        return self.fc2(self.dropout2(F.relu(self.fc1(x))))


@dataclass(frozen=True)
class Setup:
    key: str  # for --only
    label: str
    dataset: str
    make_model: Callable[[], nn.Module]
    config: TrainConfig
    race_against: str | None = None  # train for the seconds that setup took in the same seed


SETUPS = [
    Setup("simple-notebook", "SimpleNetwork, notebook (sigmoid into CE, Adam 0.01, b512)", "mnist",
          lambda: build("simple", outputs="sigmoid"), notebook("simple")),
    Setup("simple-logits", "SimpleNetwork, notebook setup but logits into CE", "mnist", lambda: build("simple"), notebook("simple")),
    Setup("simple", "SimpleNetwork, digitlab (logits into CE)", "mnist", lambda: build("simple"), recommended("simple")),
    Setup("complex-notebook", "ComplexNetwork, notebook (softmax into CE, Adam 0.01, LinearLR, b512)", "mnist",
          lambda: build("complex", outputs="softmax"), notebook("complex")),
    Setup("complex-logits", "ComplexNetwork, digitlab: the notebook setup but logits into CE", "mnist", lambda: build("complex"),
          recommended("complex")),
    Setup("complex-stepped", "ComplexNetwork, notebook but LinearLR stepped per epoch", "mnist",
          lambda: build("complex", outputs="softmax"), notebook("complex", schedule="linear")),
    Setup("relu-baseline", "ReLU 784-512-512-10, logits, Adam 1e-3, b128 (issue's baseline)", "mnist",
          lambda: build("mlp", dropout=0.0), TrainConfig(epochs=10, batch_size=128, lr=1e-3)),
    Setup("mlp", "MLP 784-512-512-10, digitlab (ReLU, dropout, OneCycle, smoothing)", "mnist", lambda: build("mlp"), recommended("mlp")),
    Setup("cnn", "CNN, digitlab", "mnist", lambda: build("cnn"), recommended("cnn")),
    Setup("example-cnn", "PyTorch example CNN (Adadelta 1.0, StepLR 0.7, b64), same wall time", "mnist",
          ExampleNet, TrainConfig(epochs=14, batch_size=64, lr=1.0, optimizer="adadelta", schedule="step", step_gamma=0.7),
          race_against="cnn"),
    Setup("fashion-mlp", "MLP, digitlab", "fashion-mnist", lambda: build("mlp"), recommended("mlp", "fashion-mnist")),
    Setup("fashion-cnn", "CNN, digitlab", "fashion-mnist", lambda: build("cnn"), recommended("cnn", "fashion-mnist")),
]


def first_reach(history: list[dict], target: float) -> float | None:
    """Training seconds at the end of the first epoch whose test accuracy reached ``target``."""
    return next((h["elapsed"] for h in history if h["test_accuracy"] >= target), None)


def mean_std(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    if not values:
        return "-"
    mean = statistics.fmean(values) * scale
    std = statistics.stdev(values) * scale if len(values) > 1 else 0.0
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def run_setup(setup: Setup, seed: int, data, budget: float | None, quick: bool) -> dict:
    config = replace(setup.config, seed=seed, **({"epochs": 1} if quick else {}))
    if budget is not None:
        config = replace(config, time_budget=budget)
    seed_everything(seed)
    model = setup.make_model()
    result = train(model, data, config)
    return {"setup": setup.key, "seed": seed, "test_accuracy": result.test_accuracy, "train_seconds": result.train_seconds,
            "first_98": first_reach(result.history, TARGET), "epochs": len(result.history),
            "parameters": result.num_parameters, "history": result.history, "stopped": result.stopped}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", nargs="+", choices=[s.key for s in SETUPS], help="run these setups only")
    parser.add_argument("--quick", action="store_true", help="smoke run: one seed, 5,000 training images, one epoch")
    parser.add_argument("--json", help="also write every run (with its history) to this file")
    options = parser.parse_args()
    seeds = options.seeds[:1] if options.quick else options.seeds
    chosen = [s for s in SETUPS if not options.only or s.key in options.only]
    console = Console(width=200)
    started = datetime.datetime.now().isoformat(timespec="minutes")
    load_before = os.getloadavg()
    datasets = {name: load(name).limit(train=5000 if options.quick else None) for name in {s.dataset for s in chosen}}
    runs: list[dict] = []
    for seed in seeds:
        for setup in chosen:
            budget = None
            if setup.race_against:
                raced = [r["train_seconds"] for r in runs if r["setup"] == setup.race_against and r["seed"] == seed]
                budget = raced[0] if raced else None
            run = run_setup(setup, seed, datasets[setup.dataset], budget, options.quick)
            runs.append(run)
            console.print(f"seed {seed} {setup.key:17s} test {run['test_accuracy'] * 100:6.2f}%  {run['train_seconds']:6.1f} s  "
                          f"{run['epochs']} epochs  load {os.getloadavg()[0]:.1f}", highlight=False)
    load_after = os.getloadavg()
    table = Table(title=f"{machine()}; {started}; seeds {seeds}; load average {load_before[1]:.1f} before, {load_after[1]:.1f} after")
    for column in ("setup", "dataset", "test accuracy % (final epoch)", "train s", "s to 98.0%", "epochs", "parameters"):
        table.add_column(column)
    for setup in chosen:
        mine = [r for r in runs if r["setup"] == setup.key]
        reached = [r["first_98"] for r in mine if r["first_98"] is not None]
        to_target = "-" if setup.dataset != "mnist" else (mean_std(reached, digits=1) + ("" if len(reached) == len(mine) else f" ({len(reached)}/{len(mine)} runs)") if reached else "never")
        table.add_row(setup.label, setup.dataset, mean_std([r["test_accuracy"] for r in mine], 100), mean_std([r["train_seconds"] for r in mine], digits=1),
                      to_target, mean_std([r["epochs"] for r in mine], digits=1), f"{mine[0]['parameters']:,}")
    console.print(table)
    if options.json:
        with open(options.json, "w", encoding="utf-8") as handle:
            json.dump({"machine": machine(), "started": started, "load": [load_before, load_after], "runs": runs}, handle, indent=1)


if __name__ == "__main__":
    main()
