"""Same-moment A/B of the exact k=5 searches, fit included, in one process: scikit-learn brute, faiss
IndexFlatL2, digitlab's automatic choice and every forced kernel, on uint8 pixels and float32 features
(pixels/255). Each engine fits and predicts the same queries in turn, ``--rounds`` times (the machine
may be shared: rows timed minutes apart would see different loads); the fastest round and the median
are reported, every prediction checked against scikit-learn's.

    .venv/bin/python benchmarks/knn_ab.py --queries 10000 --rounds 2

The forced int8 kernel on a CPU without int8 dot-product instructions takes minutes for 10,000
queries: ``--int8-queries 200`` times it on the first 200 and scales the time (marked in the table).
The automatic choice times its candidates once per machine and shape (cached); that one-off cost is
printed above the table, and the timed rounds read the cached choice.
"""

import argparse
import os
import platform
import subprocess
import time
from importlib.metadata import version

import numpy as np

NEIGHBOURS = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--int8-queries", type=int, default=None, help="time forced int8 on this many queries, scaled")
    arguments = parser.parse_args()
    import faiss
    from sklearn.neighbors import KNeighborsClassifier

    from digitlab import system
    from digitlab.datasets import flatten, load
    from digitlab.knn import KNNClassifier, choice
    from digitlab.pixels import to_unit

    data = load("mnist")
    X, y = flatten(data.train.images).numpy(), data.train.labels.numpy()
    Q = flatten(data.test.images).numpy()[: arguments.queries]
    Xf, Qf = to_unit(X), to_unit(Q)
    int8_queries = min(arguments.int8_queries or len(Q), len(Q))
    scaled_by = {}  # engine -> factor its time is multiplied by (forced int8 on a subset)

    def faiss_predict():
        index = faiss.IndexFlatL2(X.shape[1])
        index.add(Xf)
        _, neighbours = index.search(Qf, NEIGHBOURS)
        votes = np.zeros((len(Qf), len(np.unique(y))))
        np.add.at(votes, (np.arange(len(Qf))[:, None], y[neighbours]), 1)
        return votes.argmax(axis=1)

    def ours(features, queries, kernel):
        return lambda: KNNClassifier(NEIGHBOURS, kernel=kernel).fit(features, y).predict(queries)

    engines = {
        "scikit-learn brute, pixels/255": lambda: KNeighborsClassifier(NEIGHBOURS, algorithm="brute").fit(Xf, y).predict(Qf),
        "faiss IndexFlatL2 (add + search), pixels/255": faiss_predict,
    }
    for label, features, queries in (("uint8 pixels", X, Q), ("float32 features", Xf, Qf)):
        engines[f"digitlab automatic, {label}"] = ours(features, queries, "auto")
        for kernel in ("int8", "pruned", "float32") if features is X else ("pruned", "float32"):
            scaled = kernel == "int8" and int8_queries < len(Q)
            name = f"digitlab forced {kernel}, {label}" + (f" ({int8_queries} queries, time x {len(Q) / int8_queries:.0f})" if scaled else "")
            engines[name] = ours(features, queries[:int8_queries] if scaled else queries, kernel)
            scaled_by[name] = len(Q) / int8_queries if scaled else 1.0
    load_before = os.getloadavg()
    choosing = {}
    for label, features in (("uint8 pixels", X), ("float32 features", Xf)):  # the one-off timing of the automatic choice
        started = time.perf_counter()
        model = KNNClassifier(NEIGHBOURS).fit(features, y)
        choosing[label] = (time.perf_counter() - started, model.index_.choice)
    times = {name: [] for name in engines}
    answers = {}
    for _ in range(arguments.rounds):
        for name, predict in engines.items():
            started = time.perf_counter()
            answers[name] = predict()
            times[name].append((time.perf_counter() - started) * scaled_by.get(name, 1.0))
    report(arguments, X, Q, times, answers, choosing, load_before, system.cpu_flags(), choice.cpu_model(), faiss, version)


def report(arguments, X, Q, times, answers, choosing, load_before, flags, cpu, faiss, version) -> None:
    base = min(times["scikit-learn brute, pixels/255"])
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip() or "?"
    print(f"{len(Q):,} queries against {len(X):,}, k={NEIGHBOURS}, fit included, {arguments.rounds} rounds; commit {commit}")
    print(f"CPU: {cpu} ({platform.machine()}), {os.cpu_count()} cores; flags: {' '.join(flags)}")
    print(f"Python {platform.python_version()}, torch {version('torch')}, scikit-learn {version('scikit-learn')}, "
          f"numpy {version('numpy')}, faiss-cpu {faiss.__version__}")
    print("load average (1, 5, 15 min) before: " + ", ".join(f"{value:.1f}" for value in load_before)
          + "; after: " + ", ".join(f"{value:.1f}" for value in os.getloadavg()))
    for label, (seconds, picked) in choosing.items():
        print(f"automatic choice, {label}: {picked.kernel} ({picked.source}, first fit {seconds:.2f} s): {picked.reason}")
    forced_best = {label: min(min(measured) for name, measured in times.items() if "forced" in name and label in name)
                   for label in ("uint8 pixels", "float32 features")}
    print("| engine | best s | median s | vs scikit-learn (best) | vs fastest forced | identical to scikit-learn |")
    print("|---|---:|---:|---:|---:|---|")
    for name, measured in times.items():
        label = next((label for label in forced_best if label in name), None)
        versus_forced = f"{min(measured) / forced_best[label]:.2f}" if label else "-"
        reference = answers["scikit-learn brute, pixels/255"][: len(answers[name])]
        differ = int((answers[name] != reference).sum())
        print(f"| {name} | {min(measured):.2f} | {np.median(measured):.2f} | {base / min(measured):.1f}x | {versus_forced} | "
              f"{'yes' if differ == 0 else f'no ({differ} differ)'} |")


if __name__ == "__main__":
    main()
