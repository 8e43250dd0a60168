"""k-NN benchmark: scikit-learn's default against digitlab's exact and tuned settings, in one run.

Every setting runs in a fresh process (so its peak memory is its own) on the full training and test
sets of MNIST and Fashion-MNIST: one warm-up fit/predict on a few hundred images, then one timed
fit and ``--repeats`` timed predicts, of which the fastest is reported (the machine is shared).
The table gives accuracy, fit and predict seconds, the predict speed-up over scikit-learn's
default (measured in the same run), whether the predictions are identical to the scikit-learn
setting they reproduce, and the peak resident memory (and its growth over the process after
loading the data).

    .venv/bin/python benchmarks/knn.py            # full run, several minutes
    .venv/bin/python benchmarks/knn.py --quick    # 5,000 train / 1,000 test images, a smoke run
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context

import numpy as np

WARMUP_TRAIN, WARMUP_TEST = 500, 100  # a small fit/predict first, so one-time library start-up is not timed
KIB = 1024


@dataclass(frozen=True)
class Setting:
    name: str
    engine: str  # "sklearn" or "digitlab"
    k: int = 5
    weights: str = "uniform"
    metric: str = "euclidean"
    pca: int | None = None
    deskew: bool = False
    scale: float = 1.0  # sklearn input: pixels * scale as float32 (1/255 is the notebook's ToTensor)
    same_as: str | None = None  # the sklearn setting whose predictions this one must equal


SKLEARN_DEFAULT = "scikit-learn default (k=5), pixels/255"
SKLEARN_K3 = "scikit-learn k=3 distance, pixels/255"
SKLEARN_PIXELS = "scikit-learn default (k=5), pixel values 0..255"
COMMON = [
    Setting(SKLEARN_DEFAULT, "sklearn", scale=1 / 255),
    Setting(SKLEARN_PIXELS, "sklearn"),
    Setting(SKLEARN_K3, "sklearn", k=3, weights="distance", scale=1 / 255),
    Setting("digitlab exact k=5 (int8 products)", "digitlab", same_as=SKLEARN_DEFAULT),
    Setting("digitlab exact k=3 distance", "digitlab", k=3, weights="distance", same_as=SKLEARN_K3),
]
# Chosen by `digitlab knn tune` on a validation split of the training set (see benchmarks/RESULTS.md).
TUNED = {
    "mnist": [
        Setting("digitlab best (tune's pick): deskew, PCA 60, k=4 distance", "digitlab", k=4, weights="distance", pca=60, deskew=True),
        Setting("digitlab deskew, PCA 20, k=4 distance", "digitlab", k=4, weights="distance", pca=20, deskew=True),
        Setting("digitlab deskew, PCA 15, k=5 distance", "digitlab", k=5, weights="distance", pca=15, deskew=True),
        Setting("digitlab PCA 20, k=4 distance", "digitlab", k=4, weights="distance", pca=20),
    ],
    "fashion-mnist": [
        Setting("digitlab best (tune's pick): deskew, PCA 80, k=4 distance, cosine", "digitlab", k=4, weights="distance", metric="cosine", pca=80, deskew=True),
        Setting("digitlab PCA 80, k=5 distance, cosine", "digitlab", k=5, weights="distance", metric="cosine", pca=80),
        Setting("digitlab PCA 30, k=6 distance, cosine", "digitlab", k=6, weights="distance", metric="cosine", pca=30),
        Setting("digitlab PCA 20, k=10 distance, cosine", "digitlab", k=10, weights="distance", metric="cosine", pca=20),
    ],
}


def run_setting(dataset: str, setting: Setting, train_limit: int | None, test_limit: int | None, repeats: int) -> dict:
    """Fit and predict one setting (in a fresh process); returns numbers and the predictions."""
    from digitlab.datasets import flatten, load

    data = load(dataset).limit(train_limit, test_limit)
    X_train, X_test = flatten(data.train.images).numpy(), flatten(data.test.images).numpy()
    y_train, y_test = data.train.labels.numpy(), data.test.labels.numpy()
    if setting.engine == "sklearn":
        from sklearn.neighbors import KNeighborsClassifier

        X_train, X_test = (X * np.float32(setting.scale) if setting.scale != 1 else X.astype(np.float32) for X in (X_train, X_test))

        def build():
            return KNeighborsClassifier(setting.k, weights=setting.weights, metric=setting.metric)
    else:
        from digitlab.knn.pipeline import KNNPipelineConfig, build_pipeline

        config = KNNPipelineConfig(n_neighbors=setting.k, weights=setting.weights, metric=setting.metric, pca=setting.pca or 0,
                                   deskew=setting.deskew)

        def build():
            return build_pipeline(config)
    build().fit(X_train[:WARMUP_TRAIN], y_train[:WARMUP_TRAIN]).predict(X_test[:WARMUP_TEST])
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / KIB  # MiB, data loaded and warmed up
    started = time.perf_counter()
    model = build().fit(X_train, y_train)
    fit_seconds = time.perf_counter() - started
    timings = []
    for _ in range(repeats):  # the fastest run is the one least disturbed by other work on the machine
        started = time.perf_counter()
        predictions = np.asarray(model.predict(X_test))
        timings.append(time.perf_counter() - started)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / KIB
    return {"accuracy": float((predictions == y_test).mean()), "fit_seconds": fit_seconds, "predict_seconds": min(timings),
            "predict_all": timings, "peak_mib": peak, "baseline_mib": baseline, "predictions": predictions}


def in_fresh_process(*arguments) -> dict:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(run_setting, *arguments).result()


def benchmark(dataset: str, train_limit: int | None, test_limit: int | None, repeats: int) -> list[dict]:
    rows: dict[str, dict] = {}
    for setting in COMMON + TUNED[dataset]:
        print(f"  {dataset}: {setting.name} ...", flush=True)
        rows[setting.name] = {"setting": setting, **in_fresh_process(dataset, setting, train_limit, test_limit, repeats)}
        print(f"    predict seconds of each run: {', '.join(f'{t:.2f}' for t in rows[setting.name]['predict_all'])}", flush=True)
    baseline = rows[SKLEARN_DEFAULT]["predict_seconds"]
    for row in rows.values():
        row["speedup"] = baseline / row["predict_seconds"]
        reference = row["setting"].same_as
        if reference:
            differ = int((row["predictions"] != rows[reference]["predictions"]).sum())
            row["identical"] = "yes" if differ == 0 else f"no ({differ} differ)"
        elif row["setting"].engine == "sklearn" and row["setting"].name != SKLEARN_DEFAULT:
            differ = int((row["predictions"] != rows[SKLEARN_DEFAULT]["predictions"]).sum()) if row["setting"].k == 5 else None
            row["identical"] = "-" if differ is None else f"{differ} differ from /255"
        else:
            row["identical"] = "-"
    return list(rows.values())


def markdown(dataset: str, rows: list[dict], n_train: int, n_test: int) -> str:
    lines = [f"**{dataset}** ({n_train:,} train, {n_test:,} test)", "",
             "| setting | accuracy | fit s | predict s | predict speed-up vs sklearn default | identical to sklearn | peak RSS MiB (growth) |",
             "|---|---:|---:|---:|---:|---|---:|"]
    for row in rows:
        lines.append(f"| {row['setting'].name} | {row['accuracy'] * 100:.2f}% | {row['fit_seconds']:.2f} | {row['predict_seconds']:.2f} | "
                     f"{row['speedup']:.1f}x | {row['identical']} | {row['peak_mib']:,.0f} (+{row['peak_mib'] - row['baseline_mib']:,.0f}) |")
    return "\n".join(lines)


def machine() -> str:
    import sklearn
    import torch

    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    return (f"{datetime.date.today()}, {model}, {os.cpu_count()} cores, no GPU used, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), scikit-learn {sklearn.__version__}, numpy {np.__version__}, "
            f"load average at start {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 train and 1,000 test images")
    parser.add_argument("--datasets", default="mnist,fashion-mnist")
    parser.add_argument("--repeats", type=int, default=3, help="predict runs per setting; the fastest is reported")
    arguments = parser.parse_args()
    train_limit, test_limit = (5000, 1000) if arguments.quick else (None, None)
    print(machine(), flush=True)
    tables = []
    for dataset in arguments.datasets.split(","):
        rows = benchmark(dataset, train_limit, test_limit, arguments.repeats)
        from digitlab.datasets import load

        data = load(dataset).limit(train_limit, test_limit)
        tables.append(markdown(dataset, rows, len(data.train), len(data.test)))
        print(tables[-1], flush=True)
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
