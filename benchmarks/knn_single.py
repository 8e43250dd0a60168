"""One drawing at a time, as the web app asks: the exact k-NN (k=3, distance votes, the web's setting) of each
test image against all 60,000 MNIST training images, wall time and CPU time per predict_proba.

CPU time per query barely moves with other jobs on the machine, so it estimates the quiet machine's
wall time; run it with another checkout's sources first on the path to compare code versions in one sitting:

    .venv/bin/python benchmarks/knn_single.py --queries 300
    PYTHONPATH=<older checkout>/src .venv/bin/python benchmarks/knn_single.py --queries 300
"""

import argparse
import os
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=300)
    arguments = parser.parse_args()
    import digitlab
    from digitlab.datasets import flatten, load
    from digitlab.knn import KNNClassifier

    data = load("mnist")
    X, y = flatten(data.train.images).numpy(), data.train.labels.numpy()
    queries = flatten(data.test.images).numpy()[: arguments.queries]
    model = KNNClassifier(3, weights="distance").fit(X, y)
    model.predict_proba(queries[:1])  # warm-up: builds the pruned projection
    started_load = os.getloadavg()[0]
    walls, cpus = [], []
    for image in queries:
        wall, cpu = time.perf_counter(), time.process_time()
        model.predict_proba(image[None])
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    print(f"digitlab from {os.path.dirname(digitlab.__file__)}, kernel {model.kernel_}, {len(queries)} queries, "
          f"load average {started_load:.1f} -> {os.getloadavg()[0]:.1f}")
    print("| ms per drawing | median | p90 | p99 |\n|---|---:|---:|---:|")
    for name, values in (("wall", walls), ("CPU (user + system)", cpus)):
        print(f"| {name} | {np.median(values):.1f} | {np.percentile(values, 90):.1f} | {np.percentile(values, 99):.1f} |")


if __name__ == "__main__":
    main()
