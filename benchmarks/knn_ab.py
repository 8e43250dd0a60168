"""Same-moment A/B of the exact k=5 searches in one process (the machine is shared: rows timed minutes
apart see different loads). Every engine predicts the same queries in turn, ``--rounds`` times; the
median of each is reported (and the fastest), with predictions checked against scikit-learn.

    .venv/bin/python benchmarks/knn_ab.py --queries 2000 --rounds 2
"""

import argparse
import os
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    arguments = parser.parse_args()
    import faiss
    from sklearn.neighbors import KNeighborsClassifier

    from digitlab.datasets import flatten, load
    from digitlab.knn import KNNClassifier

    data = load("mnist")
    X, y = flatten(data.train.images).numpy(), data.train.labels.numpy()
    Q = flatten(data.test.images).numpy()[: arguments.queries]
    Xf, Qf = X / np.float32(255), Q / np.float32(255)
    index = faiss.IndexFlatL2(X.shape[1])
    index.add(Xf)

    def faiss_predict():
        _, neighbours = index.search(Qf, 5)
        votes = np.zeros((len(Qf), 10))
        np.add.at(votes, (np.arange(len(Qf))[:, None], y[neighbours]), 1)
        return votes.argmax(axis=1)

    sklearn = KNeighborsClassifier(5, algorithm="brute").fit(Xf, y)
    engines = {"scikit-learn brute, pixels/255": lambda: sklearn.predict(Qf), "faiss IndexFlatL2, pixels/255": faiss_predict}
    for kernel in ("float32", "pruned"):
        pixels = KNNClassifier(5, kernel=kernel).fit(X, y)
        floats = KNNClassifier(5, kernel=kernel).fit(Xf, y)
        pixels.predict(Q[:10]), floats.predict(Qf[:10])  # builds the pruned projection
        engines[f"digitlab {kernel}, uint8 pixels"] = lambda model=pixels: model.predict(Q)
        engines[f"digitlab {kernel}, float32 features"] = lambda model=floats: model.predict(Qf)
    times = {name: [] for name in engines}
    answers = {}
    for _ in range(arguments.rounds):
        for name, predict in engines.items():
            started = time.perf_counter()
            answers[name] = predict()
            times[name].append(time.perf_counter() - started)
    median = {name: float(np.median(measured)) for name, measured in times.items()}
    base, peer = median["scikit-learn brute, pixels/255"], median["faiss IndexFlatL2, pixels/255"]
    print(f"{len(Q):,} queries, 60,000 references, {arguments.rounds} rounds, load average {os.getloadavg()[0]:.1f}")
    print("| engine | median s | fastest s | vs scikit-learn | vs faiss | identical to scikit-learn |\n|---|---:|---:|---:|---:|---|")
    for name, measured in times.items():
        same = int((answers[name] != answers["scikit-learn brute, pixels/255"]).sum())
        print(f"| {name} | {median[name]:.2f} | {min(measured):.2f} | {base / median[name]:.1f}x | {peer / median[name]:.1f}x | "
              f"{'yes' if same == 0 else f'no ({same} differ)'} |")


if __name__ == "__main__":
    main()
