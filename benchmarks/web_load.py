"""Load on the web app: a real ``digitlab serve`` in its own process, requests from this one.

With a trained MLP and CNN loaded, this process sends drawings as the page does (280x280 PNGs
of real MNIST test digits, dark ink on white) to ``POST /api/predict`` on 127.0.0.1: first one
at a time (the baseline), then ``--requests`` with ``--concurrency`` in flight. It prints
throughput, p50/p90/p99 latency and every non-200 answer (the goal: zero errors, p99 < 50 ms).

Run: ``python benchmarks/web_load.py`` (trains the two models first, ~1 minute), or
``--models DIR`` to serve trained checkpoints; ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import torch
from PIL import Image
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from digitlab.datasets import load
from serving import serving

CANVAS = 280  # the page's drawing canvas, in pixels
DRAWINGS = 100  # distinct drawings, sent round-robin
WARMUP_REQUESTS = 50  # first requests (imports, allocator, caches) are not measured
BASELINE_REQUESTS = 300
GOAL_P99_MS = 50  # the goal for 8 in flight, with zero errors
console = Console(width=None if sys.stdout.isatty() else 150)  # piped: wide enough for the table


def multipart_upload(png: bytes) -> tuple[bytes, dict[str, str]]:
    """The body and headers of the page's upload (field ``file``), encoded once per drawing, as a browser does."""
    request = httpx.Request("POST", "http://127.0.0.1/api/predict", files={"file": ("drawing.png", png, "image/png")})
    return request.read(), {"content-type": request.headers["content-type"]}


def drawing_png(digit: np.ndarray) -> bytes:
    """A 28x28 MNIST digit as the page would send it: 280x280, dark ink on white, PNG."""
    big = Image.fromarray(255 - digit).resize((CANVAS * 5 // 7, CANVAS * 5 // 7), Image.Resampling.BICUBIC)
    canvas = Image.new("L", (CANVAS, CANVAS), 255)
    canvas.paste(big, (CANVAS // 7, CANVAS // 7))
    buffer = io.BytesIO()
    canvas.save(buffer, "PNG")
    return buffer.getvalue()


def train_models(folder: Path, train_limit: int, epochs: int) -> None:
    """A quick MLP and CNN into ``folder`` (the benchmark measures serving, not accuracy), each an
    experiment config run through the run pipeline (resolve -> run), its spec kept next to it."""
    from digitlab.experiments.config import ExperimentConfig
    from digitlab.experiments.runner import run
    from digitlab.experiments.spec import resolve
    from digitlab.training import TrainConfig

    data = load("mnist")
    plain = {**TrainConfig(epochs=epochs).to_dict()}  # every field named: the benchmark's settings, not a preset's
    plain.pop("seed")
    for name, model, options in [("mnist-mlp", "mlp", {"hidden_sizes": [512, 512]}), ("mnist-cnn", "cnn", {})]:
        config = ExperimentConfig(dataset="mnist", model=model, model_config=options, train_config=plain,
                                  train_limit=train_limit, test_limit=2_000, validation_size=0)
        spec = resolve(config, "cpu")
        with console.status(f"training {name} on {train_limit:,} images for {epochs} epoch(s)"):
            result = run(spec, dataset=data, checkpoint_dir=folder / name)
        console.print(f"  {name}: {result['metrics']['num_parameters']:,} parameters, "
                      f"test accuracy {result['metrics']['test_accuracy']:.1%}")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc): a cost figure that other load barely moves."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime in clock ticks


async def run_load(url: str, uploads: list[tuple[bytes, dict[str, str]]], requests: int, concurrency: int, label: str) -> dict:
    """``requests`` POSTs with ``concurrency`` in flight; latency per request in milliseconds.

    ``uploads`` are ready-encoded multipart bodies: the load generator shares the cores with the server,
    so it should spend them on sending, not on encoding the same 100 drawings again and again.
    """
    latencies: list[float] = []
    errors: dict[str, int] = {}
    next_index = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(label, total=requests)

            async def worker() -> None:
                nonlocal next_index
                while next_index < requests:
                    index = next_index
                    next_index += 1
                    body, headers = uploads[index % len(uploads)]
                    started = time.perf_counter()
                    try:
                        response = await client.post("/api/predict", content=body, headers=headers)
                        outcome = str(response.status_code)
                    except httpx.HTTPError as error:
                        outcome = type(error).__name__
                    latencies.append((time.perf_counter() - started) * 1000)
                    if outcome != "200":
                        errors[outcome] = errors.get(outcome, 0) + 1
                    progress.advance(task)

            started, cpu_started = time.perf_counter(), time.process_time()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            seconds, cpu_seconds_used = time.perf_counter() - started, time.process_time() - cpu_started
    quantiles = np.percentile(latencies, [50, 90, 99])
    return {
        "run": label, "requests": requests, "concurrency": concurrency, "errors": sum(errors.values()), "error_kinds": errors,
        "throughput": requests / seconds, "p50": quantiles[0], "p90": quantiles[1], "p99": quantiles[2],
        "max": max(latencies), "mean": statistics.fmean(latencies), "client_cpu_ms": cpu_seconds_used / requests * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, help="serve these checkpoints instead of training an MLP and a CNN")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per request in the server")
    parser.add_argument("--train-limit", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="smoke run: small models, 200 requests")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.train_limit = 200, 2_000

    digits = load("mnist").test.images[:DRAWINGS].numpy()
    uploads = [multipart_upload(drawing_png(digit)) for digit in digits]
    with tempfile.TemporaryDirectory(prefix="digitlab-web-load-") as scratch:
        models = args.models
        if models is None:
            models = Path(scratch)
            train_models(models, args.train_limit, args.epochs)
        with serving(models, "--threads", str(args.threads)) as (url, server):
            # This process holds torch, numpy and the dataset: ~200,000 objects that a full garbage collection
            # walks for 40-80 ms, stalling every request in flight and charging it to the server. Frozen, they are not walked.
            gc.collect()
            gc.freeze()
            served = httpx.get(f"{url}/api/models").json()
            asyncio.run(run_load(url, uploads, WARMUP_REQUESTS, 1, "warm-up"))
            baseline = asyncio.run(run_load(url, uploads, min(BASELINE_REQUESTS, args.requests), 1, "one at a time"))
            cpu_before = cpu_seconds(server.pid)
            loaded = asyncio.run(run_load(url, uploads, args.requests, args.concurrency, f"{args.concurrency} at a time"))
            cpu_after = cpu_seconds(server.pid)
            still_serving = httpx.get(f"{url}/api/health").status_code == 200

    cpu_per_request = None if cpu_before is None or cpu_after is None else (cpu_after - cpu_before) / args.requests * 1000
    print_report(baseline, loaded, served, args.threads, cpu_per_request, still_serving)


def print_report(baseline: dict, loaded: dict, served: list[dict], threads: int, cpu_per_request: float | None,
                 still_serving: bool) -> None:
    table = Table(title="digitlab serve under load: POST /api/predict, 280x280 PNG drawings, 127.0.0.1")
    columns = ("run", "requests", "in flight", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "p50 vs 1-at-a-time")
    for column in columns:
        table.add_column(column, justify="left" if column == "run" else "right")
    for row in (baseline, loaded):
        table.add_row(row["run"], f"{row['requests']:,}", str(row["concurrency"]), str(row["errors"]), f"{row['throughput']:.0f}",
                      *(f"{row[key]:.1f}" for key in ("p50", "p90", "p99", "max")), f"{row['p50'] / baseline['p50']:.2f}x")
    console.print(table)
    console.print("models: " + ", ".join(f"{m['name']} ({m['num_parameters']:,} parameters)" for m in served))
    console.print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average now {os.getloadavg()[0]:.1f}; "
                  f"server --threads {threads}; torch {torch.__version__}; python {platform.python_version()}")
    if cpu_per_request is not None:
        console.print(f"server CPU time: {cpu_per_request:.2f} ms per request (~{1000 / cpu_per_request:.0f} requests/s per free core); "
                      f"load generator (this process): {loaded['client_cpu_ms']:.2f} ms per request")
    goal = loaded["errors"] == 0 and loaded["p99"] < GOAL_P99_MS and still_serving
    console.print(f"errors: {loaded['error_kinds'] or 'none'}; server still serving: {still_serving}; "
                  f"goal (0 errors, p99 < {GOAL_P99_MS} ms): {'met' if goal else 'NOT met'}")


if __name__ == "__main__":
    main()
