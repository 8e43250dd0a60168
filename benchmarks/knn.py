"""k-NN benchmark: scikit-learn's default and faiss against digitlab's exact and tuned settings, in one run.

Every setting runs in a fresh process (so its peak memory is its own) on the full training and test
sets of MNIST and Fashion-MNIST: one warm-up fit/predict on a few hundred images, then one timed
fit and ``--repeats`` timed predicts, of which the fastest is reported (the machine is shared).
The table gives accuracy, fit and predict seconds, the predict speed-up over scikit-learn's
default and over faiss ``IndexFlatL2`` (exact search, then the same vote; measured in the same
run), whether the predictions are identical to the scikit-learn setting they reproduce, the
kernel digitlab chose (``digitlab.knn.choice``), and the peak resident memory (and its growth over
the process after loading the data). A last table times single-drawing predicts against the full
training set, as the web app makes them.

    .venv/bin/python benchmarks/knn.py            # full run, several minutes (pip install -e '.[bench]' for faiss)
    .venv/bin/python benchmarks/knn.py --quick    # 5,000 train / 1,000 test images, a smoke run
    .venv/bin/python benchmarks/knn.py --datasets mnist --test-limit 2000 --kernels int8,float32,pruned
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
WEB_NEIGHBORS = 3  # the web app's k-NN: the default KNNPipelineConfig (k=3, distance weights)
PERCENTILES = (("median", 50), ("p90", 90), ("p99", 99), ("max", 100))


@dataclass(frozen=True)
class Setting:
    name: str
    engine: str  # "sklearn" or "digitlab"
    k: int = 5
    weights: str = "uniform"
    metric: str = "euclidean"
    pca: int | None = None
    deskew: bool = False
    blur: float = 0.0  # digitlab's Gaussian blur sigma (KNNPipelineConfig.blur)
    shifts: int = 0  # digitlab's shifted training copies (KNNPipelineConfig.shifts)
    zoom: float = 1.0  # digitlab's zoomed training copies (KNNPipelineConfig.zoom)
    distortion: int = 0  # digitlab's image distortion model re-ranking window radius (KNNPipelineConfig.distortion)
    candidates: int = 50  # euclidean-nearest candidates it re-ranks (KNNPipelineConfig.candidates)
    scale: float = 1.0  # input: pixels * scale as float32 (1/255 is the notebook's ToTensor); 1 keeps uint8 for digitlab
    same_as: str | None = None  # the sklearn setting whose predictions this one must equal
    kernel: str = "auto"  # digitlab's euclidean kernel (digitlab.knn.choice)


SKLEARN_DEFAULT = "scikit-learn default (k=5), pixels/255"
SKLEARN_K3 = "scikit-learn k=3 distance, pixels/255"
SKLEARN_PIXELS = "scikit-learn default (k=5), pixel values 0..255"
FAISS = "faiss IndexFlatL2 (k=5, then the vote), pixels/255"
COMMON = [
    Setting(SKLEARN_DEFAULT, "sklearn", scale=1 / 255),
    Setting(FAISS, "faiss", scale=1 / 255, same_as=SKLEARN_DEFAULT),
    Setting(SKLEARN_K3, "sklearn", k=3, weights="distance", scale=1 / 255),
    Setting("digitlab exact k=5, uint8 pixels", "digitlab", same_as=SKLEARN_DEFAULT),
    Setting("digitlab exact k=5, float32 features (pixels/255)", "digitlab", scale=1 / 255, same_as=SKLEARN_DEFAULT),
    Setting("digitlab exact k=3 distance, uint8 pixels", "digitlab", k=3, weights="distance", same_as=SKLEARN_K3),
]
# Chosen by `digitlab knn tune` on a validation split of the training set (see benchmarks/RESULTS.md).
TUNED = {
    "mnist": [
        Setting("digitlab best (tune's pick): deskew, PCA 60, k=4 distance", "digitlab", k=4, weights="distance", pca=60, deskew=True),
        Setting("digitlab deskew, PCA 30, k=4 distance", "digitlab", k=4, weights="distance", pca=30, deskew=True),
        # The fewest PCA dimensions whose best k (on the 5,000 validation images, seed 0) scored at least 98.3%:
        # `digitlab knn tune --deskew yes --blurs 0,0.5,1 --pcas 15,20,25,30 --ks 1-8 --metrics euclidean --validation-size 5000`
        Setting("digitlab deskew, PCA 25, k=4 distance (chosen on validation)", "digitlab", k=4, weights="distance", pca=25, deskew=True),
        Setting("digitlab deskew, PCA 20, k=5 uniform (chosen on validation)", "digitlab", k=5, pca=20, deskew=True),
        Setting("digitlab deskew, PCA 20, k=4 distance", "digitlab", k=4, weights="distance", pca=20, deskew=True),
        Setting("digitlab deskew, PCA 15, k=5 distance", "digitlab", k=5, weights="distance", pca=15, deskew=True),
        Setting("digitlab PCA 20, k=4 distance", "digitlab", k=4, weights="distance", pca=20),
    ],
    "fashion-mnist": [
        Setting("digitlab best (tune's pick): deskew, PCA 80, k=4 distance, cosine", "digitlab",
                k=4, weights="distance", metric="cosine", pca=80, deskew=True),
        Setting("digitlab PCA 80, k=5 distance, cosine", "digitlab", k=5, weights="distance", metric="cosine", pca=80),
        Setting("digitlab PCA 30, k=6 distance, cosine", "digitlab", k=6, weights="distance", metric="cosine", pca=30),
        Setting("digitlab PCA 20, k=10 distance, cosine", "digitlab", k=10, weights="distance", metric="cosine", pca=20),
    ],
}


def most_accurate(dataset: str) -> list[Setting]:
    """The most accurate k-NN (issue 13 item 5), chosen by `digitlab knn tune` on 5,000 validation images held out
    of the training set (docs/knn.md); the same settings as the lab's knn-best sweep. MNIST only."""
    if dataset != "mnist":
        return []
    return [Setting("digitlab most accurate (tune's pick): deskew, PCA 60, 40 nearest re-ranked by the image distortion model "
                    "(window radius 2), k=1", "digitlab", k=1, pca=60, deskew=True, distortion=2, candidates=40)]


def run_setting(dataset: str, setting: Setting, train_limit: int | None, test_limit: int | None, repeats: int) -> dict:
    """Fit and predict one setting (in a fresh process); returns numbers and the predictions."""
    from digitlab.datasets import flatten, load

    data = load(dataset).limit(train_limit, test_limit)
    X_train, X_test = flatten(data.train.images).numpy(), flatten(data.test.images).numpy()
    y_train, y_test = data.train.labels.numpy(), data.test.labels.numpy()
    if setting.engine != "digitlab" or setting.scale != 1:
        X_train, X_test = (X * np.float32(setting.scale) if setting.scale != 1 else X.astype(np.float32) for X in (X_train, X_test))
    if setting.engine == "sklearn":
        from sklearn.neighbors import KNeighborsClassifier

        def build():
            return KNeighborsClassifier(setting.k, weights=setting.weights, metric=setting.metric)
    elif setting.engine == "faiss":
        def build():
            return FaissFlat(setting.k)
    else:
        from digitlab.knn.pipeline import KNNPipelineConfig, build_pipeline

        config = KNNPipelineConfig(n_neighbors=setting.k, weights=setting.weights, metric=setting.metric, pca=setting.pca or 0,
                                   deskew=setting.deskew, blur=setting.blur, shifts=setting.shifts, zoom=setting.zoom,
                                   distortion=setting.distortion, candidates=setting.candidates)

        def build():
            pipeline = build_pipeline(config)
            # The KNNClassifier's kernel, at the end or inside the training copies' estimator.
            pipeline.set_params(**{name: setting.kernel for name in pipeline.get_params() if name.endswith("__kernel")})
            return pipeline
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
            "predict_all": timings, "peak_mib": peak, "baseline_mib": baseline, "predictions": predictions,
            "kernel": kernel_label(model)}


class FaissFlat:
    """faiss's exact ``IndexFlatL2``: search k, then scikit-learn's uniform vote (ties to the first class)."""

    def __init__(self, k: int) -> None:
        self.k = k

    def fit(self, X, y):
        import faiss

        self.index = faiss.IndexFlatL2(X.shape[1])
        self.index.add(np.ascontiguousarray(X, dtype=np.float32))
        self.classes, self.labels = np.unique(y, return_inverse=True)
        return self

    def predict(self, X):
        _, neighbours = self.index.search(np.ascontiguousarray(X, dtype=np.float32), self.k)
        votes = np.zeros((len(X), len(self.classes)))
        np.add.at(votes, (np.arange(len(X))[:, None], self.labels[neighbours]), 1)
        return self.classes[votes.argmax(axis=1)]


def kernel_label(model) -> str:
    """The kernel a digitlab model searched with, and how many rows pruning handed back."""
    knn = model.steps[-1][1] if hasattr(model, "steps") else model
    if not hasattr(knn, "kernel_"):
        return "-"
    kernel = knn.index_.kernel
    if getattr(kernel, "rows_searched", 0):
        return f"{knn.kernel_} ({kernel.rows_refound / kernel.rows_searched:.1%} rows refound)"
    return knn.kernel_


def in_fresh_process(*arguments) -> dict:
    return in_fresh_process_call(run_setting, *arguments)


def in_fresh_process_call(function, *arguments) -> dict:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(function, *arguments).result()


def benchmark(dataset: str, settings: list[Setting], train_limit: int | None, test_limit: int | None, repeats: int) -> list[dict]:
    rows: dict[str, dict] = {}
    for setting in settings:
        print(f"  {dataset}: {setting.name} ...", flush=True)
        rows[setting.name] = {"setting": setting, **in_fresh_process(dataset, setting, train_limit, test_limit, repeats)}
        print(f"    predict seconds of each run: {', '.join(f'{t:.2f}' for t in rows[setting.name]['predict_all'])}", flush=True)
    baseline = rows[SKLEARN_DEFAULT]["predict_seconds"]
    faiss = rows[FAISS]["predict_seconds"] if FAISS in rows else None
    for row in rows.values():
        row["speedup"] = baseline / row["predict_seconds"]
        row["vs_faiss"] = f"{faiss / row['predict_seconds']:.1f}x" if faiss else "-"
        reference = row["setting"].same_as
        if reference:
            differ = int((row["predictions"] != rows[reference]["predictions"]).sum())
            row["identical"] = "yes" if differ == 0 else f"no ({differ} differ)"
        else:
            row["identical"] = "-"
    return list(rows.values())


def markdown(dataset: str, rows: list[dict], n_train: int, n_test: int) -> str:
    lines = [f"**{dataset}** ({n_train:,} train, {n_test:,} test)", "",
             "| setting | accuracy | fit s | predict s | vs sklearn default | vs faiss | identical to sklearn | kernel | peak RSS MiB (growth) |",
             "|---|---:|---:|---:|---:|---:|---|---|---:|"]
    for row in rows:
        lines.append(f"| {row['setting'].name} | {row['accuracy'] * 100:.2f}% | {row['fit_seconds']:.2f} | {row['predict_seconds']:.2f} | "
                     f"{row['speedup']:.1f}x | {row['vs_faiss']} | {row['identical']} | {row['kernel']} | "
                     f"{row['peak_mib']:,.0f} (+{row['peak_mib'] - row['baseline_mib']:,.0f}) |")
    return "\n".join(lines)


def single_queries(dataset: str, engine: str, count: int, k: int = WEB_NEIGHBORS) -> dict:
    """Milliseconds per one-image predict against the full training set, as the web app asks (k=3, distance)."""
    from digitlab.datasets import flatten, load

    data = load(dataset)
    X_train, y_train = flatten(data.train.images).numpy(), data.train.labels.numpy()
    queries = flatten(data.test.images).numpy()[:count]
    if engine == "sklearn":
        from sklearn.neighbors import KNeighborsClassifier

        model = KNeighborsClassifier(k, weights="distance").fit(X_train.astype(np.float32), y_train)
        queries = queries.astype(np.float32)
    else:
        from digitlab.knn import KNNClassifier

        model = KNNClassifier(k, weights="distance", kernel=engine).fit(X_train, y_train)
    model.predict_proba(queries[:1])  # warm-up
    times = []
    for image in queries:
        started = time.perf_counter()
        model.predict_proba(image[None])
        times.append((time.perf_counter() - started) * 1000)
    return {"engine": engine, "kernel": getattr(model, "kernel_", "-"), **{name: float(np.percentile(times, q)) for name, q in PERCENTILES}}


def machine() -> str:
    import sklearn
    import torch

    from digitlab.knn.choice import cpu_model

    flags = next((line.split(":", 1)[1].split() for line in open("/proc/cpuinfo") if line.startswith("flags")), [])
    wanted = [flag for flag in flags if flag.startswith(("avx", "fma", "amx")) or "vnni" in flag]
    return (f"{datetime.date.today()}, {cpu_model()} (flags: {' '.join(wanted) or 'none'}; torch capability "
            f"{torch.backends.cpu.get_cpu_capability()}), {os.cpu_count()} cores, no GPU used, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), scikit-learn {sklearn.__version__}, numpy {np.__version__}, "
            f"Python {platform.python_version()}, load average at start {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 train and 1,000 test images")
    parser.add_argument("--datasets", default="mnist,fashion-mnist")
    parser.add_argument("--repeats", type=int, default=3, help="predict runs per setting; the fastest is reported")
    parser.add_argument("--test-limit", type=int, default=None, help="the first N test images, for every row alike")
    parser.add_argument("--kernels", default="", help="also time k=5 on uint8 pixels with each of these forced kernels")
    parser.add_argument("--single", type=int, default=300, help="single-image predicts timed per engine (0: skip)")
    parser.add_argument("--no-tuned", action="store_true", help="skip the preprocessed (deskew, PCA) settings")
    parser.add_argument("--most-accurate", action="store_true",
                        help="only scikit-learn's default and the most accurate digitlab setting (its predict time, in minutes)")
    parser.add_argument("--rows", default="", help="only the rows whose name contains one of these comma-separated words "
                        "(scikit-learn's default and faiss always run: the ratios need them)")
    arguments = parser.parse_args()
    train_limit, test_limit = (5000, 1000) if arguments.quick else (None, arguments.test_limit)
    print(machine(), flush=True)
    tables = []
    for dataset in arguments.datasets.split(","):
        forced = [Setting(f"digitlab exact k=5, uint8 pixels, kernel={name} (forced)", "digitlab", kernel=name, same_as=SKLEARN_DEFAULT)
                  for name in filter(None, arguments.kernels.split(","))]
        settings = COMMON + forced + ([] if arguments.no_tuned else TUNED[dataset] + most_accurate(dataset))
        if arguments.most_accurate:
            settings = COMMON[:1] + most_accurate(dataset)
        if arguments.rows:
            words = [word.strip() for word in arguments.rows.split(",") if word.strip()]
            settings = [s for s in settings if s.name in (SKLEARN_DEFAULT, FAISS) or any(word in s.name for word in words)]
        rows = benchmark(dataset, settings, train_limit, test_limit, arguments.repeats)
        from digitlab.datasets import load

        data = load(dataset).limit(train_limit, test_limit)
        tables.append(markdown(dataset, rows, len(data.train), len(data.test)))
        print(tables[-1], flush=True)
    if arguments.single:
        dataset = arguments.datasets.split(",")[0]
        print(f"\n**Single-image predict_proba against all {dataset} training images** (k={WEB_NEIGHBORS}, distance weights, "
              f"{arguments.single} test images one at a time, milliseconds)\n")
        print("| engine | kernel | " + " | ".join(name for name, _ in PERCENTILES) + " |")
        print("|---|---|" + "---:|" * len(PERCENTILES))
        for engine in ("sklearn", "auto"):
            result = in_fresh_process_call(single_queries, dataset, engine, arguments.single)
            print(f"| {'scikit-learn' if engine == 'sklearn' else 'digitlab'} | {result['kernel']} | "
                  + " | ".join(f"{result[name]:.1f}" for name, _ in PERCENTILES) + " |", flush=True)
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
