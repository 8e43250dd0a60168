"""Digits by writers outside MNIST, photographed as students do, sent as uploads to a real ``digitlab serve``.

MNIST's test set shares its writers' population with the training set; a class's students do not.
This benchmark reads handwriting from 43 other people: the UCI optical digits that scikit-learn
ships offline (``sklearn.datasets.load_digits``: 1,797 digits, 32x32 bitmaps counted into 8x8
blocks of 0..16). Each digit is rendered as a phone photo in one condition of
benchmarks/photo_conditions.py: clean off-centre, ruled or squared paper, a shadow over part of the
digit, light falling off across the sheet, turned up to 10 degrees, grey grainy pencil, sensor
noise, a low-quality JPEG, stored sideways with an EXIF orientation, and two combinations ("phone",
"worst").

The same rendering of MNIST test digits (``--mnist``) shows what the rendering alone costs. Each
image is a multipart upload to ``POST /api/predict``, exactly as the page's upload button sends it;
every served model answers it, so the table has a row per condition and a column per model and set.

Run: ``python benchmarks/other_writers.py --models DIR`` (DIR: checkpoints from ``digitlab train``),
``--limit N`` for the first N digits of each set, ``--conditions a,b`` for some conditions only;
``--start K`` begins both sets at digit K (each digit keeps its own seed). The published table reads
digits 0-149 of both sets; develop on others (``--start 150``) so that the table stays a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import httpx
import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from photo_conditions import CONDITIONS, render
from serving import serving

GOALS = {"cnn": 0.95, "mlp": 0.90}  # per condition, on the other writers; MNIST's own digits: MNIST_GOAL
MNIST_GOAL = 0.99
console = Console(width=None if sys.stdout.isatty() else 200)


def load_other_writers(start: int, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    """UCI optical digits from ``start``: (N, 8, 8) float in [0, 1] (1 = all ink) and (N,) labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images, labels = digits.images / 16.0, digits.target
    end = None if limit is None else start + limit
    return images[start:end], labels[start:end]


def load_mnist(start: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` MNIST test digits from ``start``: (N, 28, 28) float in [0, 1] and labels."""
    from digitlab.datasets import load

    test = load("mnist").test
    return test.images[start:start + count].numpy() / 255.0, test.labels[start:start + count].numpy()


def score(client: httpx.Client, digits: np.ndarray, labels: np.ndarray, condition: str, progress: Progress,
          label: str, start: int) -> dict[str, float]:
    """Accuracy per served model on ``digits`` photographed in ``condition`` (refusals count as wrong)."""
    correct: dict[str, int] = {}
    task = progress.add_task(f"{label}, {condition}", total=len(digits))
    for index, (digit, truth) in enumerate(zip(digits, labels, strict=True)):
        upload = render(digit, condition, seed=start + index)
        kind = "image/jpeg" if upload[:2] == b"\xff\xd8" else "image/png"
        response = client.post("/api/predict", files={"file": (f"digit.{kind[6:]}", upload, kind)})
        if response.status_code == 200:
            for prediction in response.json()["predictions"]:
                correct[prediction["model"]] = correct.get(prediction["model"], 0) + (prediction["predicted_index"] == truth)
        progress.advance(task)
    progress.remove_task(task)
    return {model: hits / len(digits) for model, hits in correct.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, required=True, help="folder with checkpoints from digitlab train")
    parser.add_argument("--knn", action="store_true", help="also serve the page's k-NN (--knn mnist)")
    parser.add_argument("--start", type=int, default=0, help="begin both sets at digit K (development: 150)")
    parser.add_argument("--limit", type=int, default=None, help="only N other writers' digits (quick run)")
    parser.add_argument("--mnist", type=int, default=1000, help="MNIST test digits rendered the same way (0: none)")
    parser.add_argument("--conditions", default=",".join(CONDITIONS), help="comma-separated conditions to run")
    args = parser.parse_args()
    conditions = [name for name in args.conditions.split(",") if name]
    unknown = sorted(set(conditions) - set(CONDITIONS))
    if unknown:
        parser.error(f"unknown conditions {unknown}; choose from {', '.join(CONDITIONS)}")

    writers = load_other_writers(args.start, args.limit)
    sets = [("other writers (UCI)", *writers)] + ([("MNIST test", *load_mnist(args.start, args.mnist))] if args.mnist else [])
    results: dict[tuple[str, str], dict[str, float]] = {}
    started = time.perf_counter()
    with (serving(args.models, *(["--knn", "mnist"] if args.knn else [])) as (url, _),
          httpx.Client(base_url=url, timeout=60) as client, Progress(console=console) as progress):
        models = [model["name"] for model in client.get("/api/models").json()]
        for condition in conditions:
            for label, digits, labels in sets:
                results[label, condition] = score(client, digits, labels, condition, progress, label, args.start)
    print_report(results, models, sets, conditions, time.perf_counter() - started, args.start)


def print_report(results: dict, models: list[str], sets: list, conditions: list[str], seconds: float, start: int) -> None:
    table = Table(title="Accuracy on photographed digits uploaded to POST /api/predict (digitlab serve, 127.0.0.1)")
    table.add_column("condition")
    for label, digits, _ in sets:
        for model in models:
            table.add_column(f"{label} (n={len(digits):,}): {model}", justify="right")
    for condition in conditions:
        table.add_row(condition, *(f"{results[label, condition].get(model, 0.0):.2%}" for label, _, _ in sets for model in models))
    console.print(table)
    console.print(f"digits from number {start} of each set; "
                  f"{sum(len(d) for _, d, _ in sets) * len(conditions):,} uploads in {seconds:.0f} s; machine: "
                  f"{platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; python {platform.python_version()}")
    for model in models:
        kind = next((kind for kind in GOALS if kind in model), None)
        for label, _, _ in sets:
            goal = MNIST_GOAL if label.startswith("MNIST") else GOALS.get(kind or "", None)
            if goal is None:
                continue
            worst = min(conditions, key=lambda condition: results[label, condition].get(model, 0.0))
            reached = results[label, worst].get(model, 0.0)
            console.print(f"goal (>= {goal:.0%} in every condition) for {model} on {label}: "
                          f"{'met' if reached >= goal else 'NOT met'} (lowest: {worst}, {reached:.2%})")


if __name__ == "__main__":
    main()
