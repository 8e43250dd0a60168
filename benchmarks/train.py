"""Neural networks on MNIST and Fashion-MNIST: the notebook's setup against digitlab's, over seeds.

Every setup is an experiment config run through digitlab's run pipeline (resolve -> run: seeded,
trained with digitlab's own loop, scored), once per seed; the table reports the
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
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from rich.console import Console
from rich.table import Table
from torch import nn

from digitlab.datasets import load
from digitlab.experiments.config import ExperimentConfig
from digitlab.experiments.runner import run
from digitlab.experiments.spec import resolve
from digitlab.training import TrainConfig, seed_everything, train

TARGET = 0.98  # "time to first reach 98.0%" on MNIST
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # the official example's Normalize()
QUICK_TRAIN_LIMIT = 5000  # --quick: training images
PLAIN = {"schedule": "none", "label_smoothing": 0.0, "augment_shift": 0}  # TrainConfig()'s own, over a preset


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
    config: ExperimentConfig  # what runs (dataset, model, setup, overrides); the seed is set per run
    race_against: str | None = None  # train for the seconds that setup took in the same seed
    outside_registry: Callable[[], nn.Module] | None = None  # a network digitlab does not define: trained with train() directly


def network(model: str, setup: str = "recommended", dataset: str = "mnist", model_options: dict | None = None,
            **train_options: object) -> ExperimentConfig:
    """An experiment on the full training set (no validation split: the table reports the test set only)."""
    return ExperimentConfig(dataset=dataset, model=model, setup=setup, model_options=model_options or {},
                            train_options=dict(train_options), validation_size=0)


SETUPS = [
    Setup("simple-notebook", "SimpleNetwork, notebook (sigmoid into CE, Adam 0.01, b512)", network("simple", "notebook")),
    Setup("simple-logits", "SimpleNetwork, notebook setup but logits into CE", network("simple", "notebook", model_options={"outputs": "logits"})),
    Setup("simple", "SimpleNetwork, digitlab (logits into CE)", network("simple")),
    Setup("complex-notebook", "ComplexNetwork, notebook (softmax into CE, Adam 0.01, LinearLR, b512)", network("complex", "notebook")),
    Setup("complex-logits", "ComplexNetwork, digitlab: the notebook setup but logits into CE", network("complex")),
    Setup("complex-stepped", "ComplexNetwork, notebook but LinearLR stepped per epoch", network("complex", "notebook", schedule="linear")),
    Setup("relu-baseline", "ReLU 784-512-512-10, logits, Adam 1e-3, b128 (issue's baseline)",
          network("mlp", model_options={"dropout": 0.0}, epochs=10, batch_size=128, lr=1e-3, **PLAIN)),
    Setup("mlp", "MLP 784-512-512-10, digitlab (ReLU, dropout, OneCycle, smoothing)", network("mlp")),
    Setup("cnn", "CNN, digitlab", network("cnn")),
    Setup("example-cnn", "PyTorch example CNN (Adadelta 1.0, StepLR 0.7, b64), same wall time",
          network("cnn", epochs=14, batch_size=64, lr=1.0, optimizer="adadelta", schedule="step", step_gamma=0.7, label_smoothing=0.0,
                  augment_shift=0), race_against="cnn", outside_registry=lambda: ExampleNet()),
    Setup("fashion-mlp", "MLP, digitlab", network("mlp", dataset="fashion-mnist")),
    Setup("fashion-cnn", "CNN, digitlab", network("cnn", dataset="fashion-mnist")),
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


def run_setup(setup: Setup, seed: int, budget: float | None, quick: bool, datasets: dict) -> dict:
    changes = {"seed": seed, **({"train_options.epochs": 1, "train_limit": QUICK_TRAIN_LIMIT} if quick else {})}
    if budget is not None:
        changes["train_options.time_budget"] = budget
    spec = resolve(setup.config.with_params(changes))
    if setup.outside_registry is not None:  # not a digitlab model, so not a RunSpec: the same loop, called directly
        data = datasets[spec.dataset].limit(spec.train_limit, spec.test_limit)
        seed_everything(seed)
        trained = train(setup.outside_registry(), data, TrainConfig.from_dict(spec.train_config))
        history, accuracy, seconds, parameters = trained.history, trained.test_accuracy, trained.train_seconds, trained.num_parameters
    else:
        result = run(spec, dataset=datasets[spec.dataset])
        history, metrics = result["history"], result["metrics"]
        accuracy, seconds, parameters = metrics["test_accuracy"], metrics["train_seconds"], metrics["num_parameters"]
    return {"setup": setup.key, "seed": seed, "test_accuracy": accuracy, "train_seconds": seconds,
            "first_98": first_reach(history, TARGET), "epochs": len(history), "parameters": parameters, "history": history,
            "spec": spec.to_dict()}


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
    datasets = {name: load(name) for name in {s.config.dataset for s in chosen}}
    runs: list[dict] = []
    for seed in seeds:
        for setup in chosen:
            budget = None
            if setup.race_against:
                raced = [r["train_seconds"] for r in runs if r["setup"] == setup.race_against and r["seed"] == seed]
                budget = raced[0] if raced else None
            run = run_setup(setup, seed, budget, options.quick, datasets)
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
        runs_reached = "" if len(reached) == len(mine) else f" ({len(reached)}/{len(mine)} runs)"
        to_target = "-" if setup.config.dataset != "mnist" else (mean_std(reached, digits=1) + runs_reached if reached else "never")
        table.add_row(setup.label, setup.config.dataset, mean_std([r["test_accuracy"] for r in mine], 100),
                      mean_std([r["train_seconds"] for r in mine], digits=1),
                      to_target, mean_std([r["epochs"] for r in mine], digits=1), f"{mine[0]['parameters']:,}")
    console.print(table)
    if options.json:
        with open(options.json, "w", encoding="utf-8") as handle:
            json.dump({"machine": machine(), "started": started, "load": [load_before, load_after], "runs": runs}, handle, indent=1)


if __name__ == "__main__":
    main()
