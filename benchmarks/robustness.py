"""Why CNNs, measured: MLP, MLP + augmentation, CNN, CNN + augmentation and k-NN on changed MNIST test digits.

Every setting is an experiment config run through digitlab's run pipeline (resolve -> run), the
same runs ``digitlab train`` and the lab make: each network is trained from scratch per seed with
digitlab's loop and the pipeline scores the changed test sets; augmentation is digitlab's
per-batch Augmenter (random shift up to 3 px each way, rotation up to 15 degrees, zoom 90-110%).
All models are then scored on the *same* changed test sets (one seed for the changes). The table
gives the clean test accuracy and the *worst* accuracy over shifts of 1..4 px and over rotations
of 5..20 degrees (the issue's target: the augmented CNN keeps >= 97% on both, and >= 99.5% clean),
plus one strong setting of the other changes.

    python benchmarks/robustness.py                     # one seed on this machine (about 15 minutes on 2 CPU cores)
    python benchmarks/robustness.py --seeds 0 1 2       # mean ± std over seeds (use a GPU)
    python benchmarks/robustness.py --quick             # smoke run: 5,000 images, 1 epoch

The 3-block row is, for seed 0, exactly ``digitlab train --model cnn --channels 32,64,128 --kernel-size 3
--padding same --hidden-sizes 128 --dropout 0.25 --augment shift,rotate,scale --augment-max-shift 3 --epochs 12 --batch-size 128
--lr 0.005`` (the
same spec; `digitlab robustness` then scores that checkpoint on the same changes). Its blocks are spelt out
and its training because the default CNN and its preset changed on 2026-12-01.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
from dataclasses import dataclass

import torch
from rich.console import Console
from rich.table import Table

from digitlab.datasets import load
from digitlab.experiments.config import ExperimentConfig
from digitlab.experiments.runner import run
from digitlab.experiments.spec import resolve
from digitlab.training import pick_device

TRANSFORMS = ("shift", "rotate", "scale", "invert", "noise")
STRENGTHS = {"shift": (0, 1, 2, 3, 4, 6), "rotate": (0, 5, 10, 15, 20, 30), "scale": (0.8, 1.0), "invert": (0, 1), "noise": (0, 0.3)}
WORST_OF = {"shift": (1, 2, 3, 4), "rotate": (5, 10, 15, 20)}  # the target's ranges: worst accuracy within them
SINGLE = {"shift": 6, "rotate": 30, "scale": 0.8, "invert": 1, "noise": 0.3}  # one strong setting per change
GOALS = {"clean": 0.995, "shift": 0.97, "rotate": 0.97}  # for the augmented CNN
AUGMENT = "shift,rotate,scale"
MAX_SHIFT = 3.0  # pixels each way: TrainConfig's own, which the CNN's preset (whole-pixel moves of 1) replaces
# The 3-block CNN of the 2026-11-26 results: 3x3 kernels, 'same' padding, 128 hidden, dropout 0.25 (the CNN defaults then).
THREE_BLOCKS = {"channels": [32, 64, 128], "kernel_size": 3, "padding": "same", "hidden_sizes": [128], "dropout": 0.25}
QUICK_TRAIN_LIMIT, QUICK_TEST_LIMIT = 5000, 1000  # --quick


@dataclass(frozen=True)
class Setting:
    label: str
    config: ExperimentConfig  # what runs; the seed, the robustness transforms and quick limits are set per run

    @property
    def augmented_cnn(self) -> bool:
        return self.config.model == "cnn" and bool(self.config.train_config.get("augment"))


def network(model: str, model_config: dict | None = None, **train_config: object) -> ExperimentConfig:
    """A network trained on all 60,000 training images (no validation split), the recommended setup plus changes."""
    return ExperimentConfig(model=model, model_config=model_config or {}, train_config=dict(train_config), validation_size=0)


# Augmented batches are harder: the augmented networks train longer than the plain ones.
SETTINGS = (
    Setting("MLP", network("mlp")),
    Setting("MLP + augmentation", network("mlp", augment=AUGMENT, epochs=16)),
    Setting("CNN", network("cnn")),
    Setting("CNN + augmentation", network("cnn", augment=AUGMENT, augment_max_shift=MAX_SHIFT, epochs=12)),
    # Every training setting the 2026-11-26 run had, pinned: a later change to the CNN's preset must not change this run.
    Setting("CNN, 3 blocks, + augmentation", network("cnn", THREE_BLOCKS, augment=AUGMENT, augment_max_shift=MAX_SHIFT, epochs=12, batch_size=128,
                                                     lr=5e-3, warmup=0.3, schedule="onecycle", label_smoothing=0.1)),
    Setting("k-NN (k=3, distance weights)", ExperimentConfig(kind="knn", knn_config={"n_neighbors": 3, "weights": "distance"},
                                                             validation_size=0)),
)


def scores_of(robustness: dict[str, dict[str, float]]) -> dict[str, dict[float, float]]:
    """A run's ``robustness`` result ({transform: {"4": accuracy}}) keyed by numeric strength, this table's strengths only."""
    return {name: {float(strength): value for strength, value in robustness[name].items() if float(strength) in STRENGTHS[name]}
            for name in TRANSFORMS}


def summarise(scores: dict[str, dict[float, float]]) -> dict[str, float]:
    """clean, worst within each target range, and the single strong settings."""
    summary = {"clean": scores["shift"][0.0]}
    summary.update({f"{name} worst": min(scores[name][s] for s in strengths) for name, strengths in WORST_OF.items()})
    summary.update({f"{name} {strength:g}": scores[name][float(strength)] for name, strength in SINGLE.items()})
    return summary


def run_setting(setting: Setting, seed: int, quick: bool, device: torch.device, data) -> dict:  # noqa: ANN001 (a Dataset)
    changes = {"seed": seed, "robustness": ",".join(TRANSFORMS)}  # the pipeline scores every strength, the same changes for all
    if quick:
        changes.update(train_limit=QUICK_TRAIN_LIMIT, test_limit=QUICK_TEST_LIMIT)
        if setting.config.kind == "network":
            changes["train_config.epochs"] = 1
    spec = resolve(setting.config.with_params(changes), str(device))
    result = run(spec, dataset=data)
    seconds = result["metrics"]["train_seconds"] if setting.config.kind == "network" else None
    scores = scores_of(result["robustness"])
    rows = [{"model": setting.label, "transform": name, "strength": strength, "accuracy": value}
            for name, by_strength in scores.items() for strength, value in by_strength.items()]
    return {"setting": setting.label, "seed": seed, "train_seconds": seconds, **summarise(scores), "rows": rows, "spec": spec.to_dict()}


def mean_std(values: list[float], scale: float = 100.0, digits: int = 2) -> str:
    if not values:
        return "-"
    std = statistics.stdev(values) * scale if len(values) > 1 else 0.0
    return f"{statistics.fmean(values) * scale:.{digits}f} ± {std:.{digits}f}"


def machine(device: torch.device) -> str:
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    return f"{where}, {os.cpu_count()} cores, torch {torch.__version__}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 5,000 training / 1,000 test images, 1 epoch")
    parser.add_argument("--device", default="auto", help="auto (CUDA if there is one), cpu or cuda")
    parser.add_argument("--only", nargs="+", choices=[setting.label for setting in SETTINGS], help="run these settings only")
    parser.add_argument("--json", help="also write every run to this file")
    options = parser.parse_args()
    device = pick_device(options.device)
    console = Console(width=200)
    started = datetime.datetime.now().isoformat(timespec="minutes")
    data = load("mnist")
    runs = []
    for seed in options.seeds:
        for setting in (setting for setting in SETTINGS if not options.only or setting.label in options.only):
            if setting.config.kind == "knn" and seed != options.seeds[0]:
                continue  # k-NN draws nothing at random: once is enough
            run = run_setting(setting, seed, options.quick, device, data)
            runs.append(run)
            console.print(f"seed {seed} {setting.label:30s} clean {run['clean']:.2%}  shift<=4 worst {run['shift worst']:.2%}  "
                          f"rotate<=20 worst {run['rotate worst']:.2%}  train {run['train_seconds'] or 0:.1f} s", highlight=False)
    columns = ["clean", "shift worst", "rotate worst", *(f"{name} {strength:g}" for name, strength in SINGLE.items())]
    titles = ["clean", "shift 1-4 px (worst)", "rotation 5-20° (worst)", "shift 6 px", "rotation 30°", "scale 0.8", "inverted",
              "noise 0.3"]
    table = Table(title=f"MNIST test accuracy (%) on changed digits; {machine(device)}; {started}; seeds {options.seeds}")
    for title in ("model", *titles, "train s"):
        table.add_column(title)
    for setting in SETTINGS:
        mine = [run for run in runs if run["setting"] == setting.label]
        if not mine:
            continue
        seconds = [run["train_seconds"] for run in mine if run["train_seconds"] is not None]
        table.add_row(setting.label, *(mean_std([run[column] for run in mine]) for column in columns),
                      mean_std(seconds, scale=1.0, digits=1) if seconds else "-")
    console.print(table)
    for setting in (s for s in SETTINGS if s.augmented_cnn):
        target = [run for run in runs if run["setting"] == setting.label]
        if not target:
            continue
        met = {goal: statistics.fmean(run[goal if goal == "clean" else f"{goal} worst"] for run in target) >= value
               for goal, value in GOALS.items()}
        console.print(f"{setting.label}, goals (mean over seeds): clean >= {GOALS['clean']:.1%}: {met['clean']}, "
                      f"shifts <= 4 px >= {GOALS['shift']:.0%}: {met['shift']}, rotations <= 20° >= {GOALS['rotate']:.0%}: "
                      f"{met['rotate']}", highlight=False)
    if options.json:
        with open(options.json, "w", encoding="utf-8") as handle:
            json.dump({"machine": machine(device), "started": started, "runs": runs}, handle, indent=1)


if __name__ == "__main__":
    main()
