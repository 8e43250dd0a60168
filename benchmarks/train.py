"""Time to accuracy: the notebook's networks and digitlab's presets on MNIST and Fashion-MNIST, over seeds.

Every setup is an experiment config run through digitlab's run pipeline (resolve -> run: seeded,
trained with digitlab's own loop, scored), once per seed; the table reports the *final* epoch's
test accuracy (mean ± std over seeds: never the best epoch picked on the test set), the training
seconds (evaluation excluded) and the process's CPU seconds, and for MNIST the training seconds at
the end of the first epoch whose test accuracy reached 98.0%, 99.0% and 99.4%. Beside digitlab's
defaults run the CNN that was the default until 2026-12-01 and PyTorch's official MNIST example CNN
(pytorch/examples, mnist/main.py: Adadelta lr=1.0, StepLR gamma 0.7, batch 64), which trains for
the same training time as digitlab's CNN in the same seed, for a fair race. The time-to-accuracy
plot (test accuracy after every epoch against training seconds) goes to --plot.

    python benchmarks/train.py                  # everything, 3 seeds (long: run it with nohup)
    python benchmarks/train.py --quick          # smoke run: 1 seed, 5,000 images, 1 epoch
    python benchmarks/train.py --only mlp cnn cnn-augmented --reference-seeds 1 --json results.json
    python benchmarks/train.py --from-json part1.json part2.json   # one table and plot from runs made apart
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from rich.console import Console
from rich.table import Table
from torch import nn

from digitlab.atomic import atomic_write_text
from digitlab.datasets import load
from digitlab.evaluation import time_to_accuracy_figure
from digitlab.experiments.runner import run
from digitlab.experiments.spec import ExperimentConfig, resolve
from digitlab.training import TrainConfig, seed_everything, train

TARGETS = (0.98, 0.99, 0.994)  # "seconds until the test accuracy first reached" these, on MNIST
PLOT = "docs/img/time-to-accuracy.png"  # --plot's default: the picture README and docs show
PLOT_FLOOR = {"mnist": 0.97, "fashion-mnist": 0.85}  # the plot hides the low first epochs below these
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # the official example's Normalize()
QUICK_TRAIN_LIMIT = 5000  # --quick: training images
# TrainConfig()'s own, over a preset
PLAIN = {"schedule": "none", "label_smoothing": 0.0, "augment": "", "augment_max_shift": TrainConfig.augment_max_shift}
# The CNN `digitlab train --model cnn` trained until 2026-12-01 (99.44% in 98 s on a 2-core Intel Xeon), spelt out.
CNN_UNTIL_2026_12_01 = {"channels": [32, 64], "kernel_size": 3, "padding": "same", "hidden_sizes": [128], "dropout": 0.25}
CNN_TRAINING_UNTIL_2026_12_01 = {"epochs": 6, "batch_size": 128, "lr": 5e-3, "schedule": "onecycle", "label_smoothing": 0.1,
                                 "augment": "shift", "augment_max_shift": 2.0}


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
    reference: bool = False  # a yardstick, not a digitlab default: --reference-seeds runs it on fewer seeds


def network(model: str, preset: str = "recommended", dataset: str = "mnist", model_config: dict | None = None,
            **train_config: object) -> ExperimentConfig:
    """An experiment on the full training set (no validation split: the table reports the test set only)."""
    return ExperimentConfig(dataset=dataset, model=model, preset=preset, model_config=model_config or {},
                            train_config=dict(train_config), validation_size=0)


SETUPS = [
    Setup("simple-notebook", "SimpleNetwork, notebook (sigmoid into CE, Adam 0.01, b512)", network("simple", "notebook")),
    Setup("simple-logits", "SimpleNetwork, notebook setup but logits into CE", network("simple", "notebook", model_config={"outputs": "logits"})),
    Setup("simple", "SimpleNetwork, digitlab (logits into CE)", network("simple")),
    Setup("complex-notebook", "ComplexNetwork, notebook (softmax into CE, Adam 0.01, LinearLR, b512)", network("complex", "notebook")),
    Setup("complex-logits", "ComplexNetwork, digitlab: the notebook setup but logits into CE", network("complex")),
    Setup("complex-stepped", "ComplexNetwork, notebook but LinearLR stepped per epoch", network("complex", "notebook", schedule="linear")),
    Setup("relu-baseline", "ReLU 784-512-512-10, logits, Adam 1e-3, b128 (issue's baseline)",
          network("mlp", model_config={"dropout": 0.0}, epochs=10, batch_size=128, lr=1e-3, **PLAIN)),
    Setup("mlp", "MLP 784-512-512-10, digitlab (`digitlab train --model mlp`)", network("mlp")),
    Setup("cnn", "CNN, digitlab (`digitlab train --model cnn`)", network("cnn")),
    Setup("cnn-augmented", "CNN, digitlab augmented (`digitlab train --model cnn --augmented`)", network("cnn", "augmented")),
    Setup("cnn-2026-12-01", "CNN, digitlab's default until 2026-12-01 (32-64 3x3 'same', 128 hidden, 6 epochs)",
          network("cnn", model_config=CNN_UNTIL_2026_12_01, **CNN_TRAINING_UNTIL_2026_12_01), reference=True),
    Setup("example-cnn", "PyTorch example CNN (Adadelta 1.0, StepLR 0.7, b64), same training time as digitlab's CNN",
          network("cnn", epochs=14, batch_size=64, lr=1.0, optimizer="adadelta", step_gamma=0.7, **{**PLAIN, "schedule": "step"}),
          race_against="cnn", outside_registry=lambda: ExampleNet(), reference=True),
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
    changes = {"seed": seed, **({"train_config.epochs": 1, "train_limit": QUICK_TRAIN_LIMIT} if quick else {})}
    cpu_started = time.process_time()  # the run's CPU seconds, evaluation included: a shared machine inflates wall time
    if budget is not None:
        changes["train_config.time_budget"] = budget
    spec = resolve(setup.config.with_params(changes))
    if setup.outside_registry is not None:  # not a digitlab model, so not a RunSpec: the same loop, called directly
        data = datasets[spec.dataset].limit(spec.train_limit, spec.test_limit)
        seed_everything(seed)
        trained = train(setup.outside_registry(), data, spec.training())
        history, accuracy, seconds, parameters = trained.history, trained.test_accuracy, trained.train_seconds, trained.num_parameters
    else:
        result = run(spec, dataset=datasets[spec.dataset])
        history, metrics = result["history"], result["metrics"]
        accuracy, seconds, parameters = metrics["test_accuracy"], metrics["train_seconds"], metrics["num_parameters"]
    return {"setup": setup.key, "seed": seed, "test_accuracy": accuracy, "train_seconds": seconds,
            "cpu_seconds": time.process_time() - cpu_started,
            "first": {str(target): first_reach(history, target) for target in TARGETS}, "epochs": len(history),
            "parameters": parameters, "history": history, "spec": spec.to_dict()}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    return (f"{cpu} ({cpu_flags()}), {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads, "
            f"{torch.backends.cpu.get_cpu_capability()} kernels), Python {platform.python_version()}")


def cpu_flags() -> str:
    """The vector extensions the CPU reports (/proc/cpuinfo): what decides the kernels torch can use."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            flags = next((line.split(":", 1)[1].split() for line in info if line.startswith("flags")), [])
    except OSError:
        return "flags unknown"
    wanted = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile")
    found = [flag for flag in wanted if flag in flags]
    return " ".join(found) + (", no AVX-512" if "avx512f" not in flags else "") or "no AVX"


def to_target(runs: list[dict], target: float) -> str:
    """Mean ± std of the seconds to ``target`` over the runs that reached it ("never" if none did)."""
    reached = [r["first"][str(target)] for r in runs if r["first"][str(target)] is not None]
    if not reached:
        return "never"
    return mean_std(reached, digits=1) + ("" if len(reached) == len(runs) else f" ({len(reached)}/{len(runs)} runs)")


def plot(runs: list[dict], chosen: list[Setup], path: str) -> None:
    """The time-to-accuracy picture, one panel per dataset, every run's epochs as points."""
    from matplotlib.figure import Figure

    datasets = sorted({s.config.dataset for s in chosen}, key=lambda name: name != "mnist")
    figure = Figure(figsize=(9, 4.5 * len(datasets)), layout="constrained")
    for axis, dataset in zip(figure.subplots(len(datasets), 1, squeeze=False)[:, 0], datasets, strict=True):
        curves = {s.label: [[(h["elapsed"], h["test_accuracy"]) for h in r["history"]] for r in runs if r["setup"] == s.key]
                  for s in chosen if s.config.dataset == dataset}
        time_to_accuracy_figure(curves, title=f"{dataset}: test accuracy after each epoch", floor=PLOT_FLOOR.get(dataset),
                                axis=axis)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", nargs="+", choices=[s.key for s in SETUPS], help="run these setups only")
    parser.add_argument("--quick", action="store_true", help="smoke run: one seed, 5,000 training images, one epoch")
    parser.add_argument("--json", help="also write every run (with its history) to this file, rewritten after each run")
    parser.add_argument("--plot", default=PLOT, help=f"where the time-to-accuracy plot goes (default {PLOT}; '' for none)")
    parser.add_argument("--reference-seeds", type=int, help="run the reference setups (today's CNN before, PyTorch's "
                        "example) on the first N seeds only, to fit a quiet hour")
    parser.add_argument("--from-json", nargs="+", metavar="FILE", help="run nothing: print the table and draw the plot of "
                        "the runs saved in these --json files (a long benchmark split into short runs)")
    options = parser.parse_args()
    console = Console(width=200)
    if options.from_json:
        runs, machines, seeds, loads = saved_runs(options.from_json)
        chosen = [s for s in SETUPS if any(r["setup"] == s.key for r in runs)]
        title = f"{'; '.join(machines)}; {', '.join(options.from_json)}; seeds {seeds}; load average {loads}"
        report(console, runs, chosen, title, options.plot)
        return
    seeds = options.seeds[:1] if options.quick else options.seeds
    chosen = [s for s in SETUPS if not options.only or s.key in options.only]
    started = datetime.datetime.now().isoformat(timespec="minutes")
    load_before = os.getloadavg()
    datasets = {name: load(name) for name in {s.config.dataset for s in chosen}}
    runs: list[dict] = []
    for number, seed in enumerate(seeds):
        for setup in chosen:
            if setup.reference and options.reference_seeds is not None and number >= options.reference_seeds:
                continue
            budget = None
            if setup.race_against:
                raced = [r["train_seconds"] for r in runs if r["setup"] == setup.race_against and r["seed"] == seed]
                budget = raced[0] if raced else None
            run = run_setup(setup, seed, budget, options.quick, datasets)
            runs.append(run)
            if options.json:  # after every run, so that a long benchmark stopped early keeps the runs it finished
                save_runs(options.json, started, [load_before, os.getloadavg()], runs)
            console.print(f"seed {seed} {setup.key:17s} test {run['test_accuracy'] * 100:6.2f}%  {run['train_seconds']:6.1f} s  "
                          f"(cpu {run['cpu_seconds']:.1f} s)  {run['epochs']} epochs  load {os.getloadavg()[0]:.1f}", highlight=False)
    load_after = os.getloadavg()
    title = f"{machine()}; {started}; seeds {seeds}; load average {load_before[1]:.1f} before, {load_after[1]:.1f} after"
    report(console, runs, chosen, title, options.plot)
    if options.json:
        save_runs(options.json, started, [load_before, load_after], runs)


def save_runs(path: str, started: str, loads: list, runs: list[dict]) -> None:
    """The --json file: the machine, when and under what load average (before, now) the runs were made, every run."""
    atomic_write_text(path, json.dumps({"machine": machine(), "started": started, "load": loads, "runs": runs}, indent=1))


def saved_runs(paths: list[str]) -> tuple[list[dict], list[str], list[int], str]:
    """The runs of several --json files, with their machines, seeds and load averages (5-minute, before-after)."""
    runs: list[dict] = []
    machines: list[str] = []
    loads: list[str] = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            saved = json.load(handle)
        runs += saved["runs"]
        machines += [saved["machine"]] if saved["machine"] not in machines else []
        loads.append(f"{saved['load'][0][1]:.1f}-{saved['load'][1][1]:.1f}")
    return runs, machines, sorted({r["seed"] for r in runs}), ", ".join(loads)


def report(console: Console, runs: list[dict], chosen: list[Setup], title: str, plot_path: str) -> None:
    """Print the table of ``runs`` (one row per setup in ``chosen``) and draw the plot to ``plot_path`` ('' for none)."""
    table = Table(title=title)
    targets = [f"s to {100 * target:.1f}%" for target in TARGETS]
    for column in ("setup", "dataset", "test accuracy % (final epoch)", "train s", "cpu s", *targets, "epochs", "seeds", "parameters"):
        table.add_column(column)
    for setup in chosen:
        mine = [r for r in runs if r["setup"] == setup.key]
        reached = ["-" if setup.config.dataset != "mnist" else to_target(mine, target) for target in TARGETS]
        table.add_row(setup.label, setup.config.dataset, mean_std([r["test_accuracy"] for r in mine], 100),
                      mean_std([r["train_seconds"] for r in mine], digits=1), mean_std([r["cpu_seconds"] for r in mine], digits=1),
                      *reached, mean_std([r["epochs"] for r in mine], digits=1), str(len(mine)), f"{mine[0]['parameters']:,}")
    console.print(table)
    if plot_path:
        plot(runs, chosen, plot_path)
        console.print(f"time-to-accuracy plot: {plot_path}")


if __name__ == "__main__":
    main()
