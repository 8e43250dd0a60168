"""What an explained drawing costs: ``POST /api/predict?explain=true`` against a plain predict.

A real ``digitlab serve`` in its own process with an MLP, a CNN and the page's k-NN (``--knn mnist``,
10,000 training images) answers 280x280 PNG drawings of MNIST test digits, one at a time as a
user drawing live sends them: plain and explained requests alternate, so both see the same
machine load. Prints p50/p90/p99 per kind, the server's CPU time per request of each kind (read
from /proc around every request: other jobs on a shared machine stretch wall times, hardly CPU
times), the explained/plain ratio and the goal (explained p50 <= 150 ms on this CPU).

Run: ``python benchmarks/web_explain.py`` (trains the two networks first, as web_load.py does), or
``--models DIR`` to serve trained checkpoints (e.g. the defaults of ``digitlab train``); ``--quick``.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import torch
from rich.progress import Progress
from rich.table import Table

from digitlab.datasets import load
from serving import serving
from web_load import console, cpu_seconds, drawing_png, multipart_upload, train_models

DRAWINGS = 50  # distinct drawings, sent round-robin
WARMUP_REQUESTS = 20  # per kind: the first explained request imports captum
GOAL_P50_MS = 150  # the goal for an explained drawing with an MLP, a CNN and the k-NN loaded


def measure(url: str, uploads: list, requests: int, server_pid: int) -> dict:
    """Alternate plain and explained requests, one at a time; latency in ms per kind (errors fail loudly)
    and the server's CPU seconds per kind."""
    latencies: dict[str, list[float]] = {"plain": [], "explained": []}
    cpu = {"plain": 0.0, "explained": 0.0}
    paths = {"plain": "/api/predict", "explained": "/api/predict?explain=true"}
    with httpx.Client(base_url=url, timeout=60) as client, Progress(console=console, transient=True) as progress:
        for kind in paths:  # warm-up: imports, allocator, caches
            for index in range(WARMUP_REQUESTS):
                body, headers = uploads[index % len(uploads)]
                client.post(paths[kind], content=body, headers=headers).raise_for_status()
        task = progress.add_task("plain and explained drawings", total=2 * requests)
        for index in range(requests):
            body, headers = uploads[index % len(uploads)]
            for kind in (("plain", "explained") if index % 2 else ("explained", "plain")):
                cpu_before, started = cpu_seconds(server_pid) or 0.0, time.perf_counter()
                response = client.post(paths[kind], content=body, headers=headers)
                latencies[kind].append((time.perf_counter() - started) * 1000)
                cpu[kind] += (cpu_seconds(server_pid) or 0.0) - cpu_before  # clock ticks: unbiased over many requests
                response.raise_for_status()
                progress.advance(task)
        sizes = {kind: len(client.post(paths[kind], content=body, headers=headers).content) for kind in paths}
    return latencies | {"sizes": sizes, "cpu_ms": {kind: cpu[kind] / requests * 1000 for kind in cpu}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, help="serve these checkpoints instead of training an MLP and a CNN")
    parser.add_argument("--requests", type=int, default=300, help="drawings of each kind")
    parser.add_argument("--knn-train-limit", type=int, default=10_000, help="the page's k-NN (digitlab serve's default)")
    parser.add_argument("--train-limit", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="smoke run: small models, 40 drawings of each kind")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.train_limit = 40, 2_000

    digits = load("mnist").test.images[:DRAWINGS].numpy()
    uploads = [multipart_upload(drawing_png(digit)) for digit in digits]
    with tempfile.TemporaryDirectory(prefix="digitlab-web-explain-") as scratch:
        models = args.models
        if models is None:
            models = Path(scratch)
            train_models(models, args.train_limit, args.epochs)
        with serving(models, "--knn", "mnist", "--knn-train-limit", str(args.knn_train_limit)) as (url, server):
            served = httpx.get(f"{url}/api/models").json()
            results = measure(url, uploads, args.requests, server.pid)
    print_report(results, served)


def print_report(results: dict, served: list[dict]) -> None:
    table = Table(title="digitlab serve: plain vs explained drawings (POST /api/predict, 280x280 PNG, one at a time, 127.0.0.1)")
    for column in ("request", "n", "p50 ms", "p90 ms", "p99 ms", "server CPU ms", "response kB", "p50 vs plain"):
        table.add_column(column, justify="left" if column == "request" else "right")
    plain_p50 = float(np.percentile(results["plain"], 50))
    for kind in ("plain", "explained"):
        p50, p90, p99 = np.percentile(results[kind], [50, 90, 99])
        table.add_row(kind, str(len(results[kind])), f"{p50:.1f}", f"{p90:.1f}", f"{p99:.1f}", f"{results['cpu_ms'][kind]:.1f}",
                      f"{results['sizes'][kind] / 1000:.1f}", f"{p50 / plain_p50:.2f}x")
    console.print(table)
    console.print("models: " + ", ".join(f"{m['name']} ({m['kind']})" for m in served))
    console.print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average now {os.getloadavg()[0]:.1f}; "
                  f"server --threads 1; torch {torch.__version__}; python {platform.python_version()}")
    explained_p50 = float(np.percentile(results["explained"], 50))
    console.print(f"goal (explained p50 <= {GOAL_P50_MS} ms): {'met' if explained_p50 <= GOAL_P50_MS else 'NOT met'} "
                  f"({explained_p50:.1f} ms)")


if __name__ == "__main__":
    main()
