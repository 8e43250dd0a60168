"""How faithful are the attribution maps? Deletion curves per model and method, and what an explanation costs.

For each checkpoint, the first ``--images`` test digits of its dataset are explained with every
method that applies (saliency, integrated gradients, occlusion; Grad-CAM for CNNs); the pixels each
map ranks highest are set to black, 2.5% of the image at a time up to half of it, and the accuracy
measured at each step (digitlab.explain.deletion). The area under that curve (the mean accuracy
over the deleted shares) is compared with deleting pixels in a random order: lower is more
faithful, ratio = area / random area.

The second table times ``explain_network`` on one digit (median of ``--repeats``), as a ratio to a
plain forward pass measured in the same run (the machine may be shared).

    python benchmarks/explain.py runs/mnist-simple runs/mnist-mlp runs/mnist-cnn   # 1,000 digits each
    python benchmarks/explain.py --quick CHECKPOINT...                              # 100 digits
    python benchmarks/explain.py --json out.json CHECKPOINT...
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from digitlab.datasets import load
from digitlab.datasets.catalog import DEFAULT_DATASET
from digitlab.explain import FAST_IG, FAST_METHODS, METHODS, explain_network, faithfulness_by_method
from digitlab.inference import load_network
from digitlab.knn.threads import one_thread

IMAGES = 1000  # test digits per model (the count)
QUICK_IMAGES = 100
REPEATS = 20  # timed explanations per model and path


def median_ms(work, repeats: int) -> float:
    work()  # warm-up: oneDNN primitives, captum's hooks
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def speed(model, image: torch.Tensor, repeats: int) -> dict[str, float]:
    pixels = image.float()[None] / 255
    with one_thread(), torch.no_grad():
        forward = median_ms(lambda: model(pixels), repeats)
    return {
        "forward_ms": forward,
        "fast_ms": median_ms(lambda: explain_network(model, image), repeats),
        "fast_ig8_ms": median_ms(lambda: explain_network(model, image, methods=(*FAST_METHODS, "integrated_gradients"), config=FAST_IG), repeats),
        "all_ms": median_ms(lambda: explain_network(model, image, methods=METHODS), max(3, repeats // 4)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", type=Path, help="checkpoint folders (digitlab train / the lab's models)")
    parser.add_argument("--images", type=int, default=IMAGES, help="test digits per model")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_IMAGES} digits and fewer timings")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="timed explanations per model and path")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: on the shared 2-core machine two threads mostly wait on each other)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    count = QUICK_IMAGES if args.quick else args.images
    repeats = max(3, args.repeats // 4) if args.quick else args.repeats
    console = Console()
    rows, timings = [], []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("deletion curves", total=len(args.checkpoints) * len(METHODS))
        for path in args.checkpoints:
            saved = load_network(path)
            test = load(saved.dataset or DEFAULT_DATASET).test
            images, labels = test.images[:count], test.labels[:count]
            started = time.perf_counter()

            def advance(method: str, name: str = path.name) -> None:
                progress.update(task, advance=1, description=f"{name}: {method}")

            results = faithfulness_by_method(saved.model, images, labels, on_method=advance)
            seconds = time.perf_counter() - started
            rows += [{"model": path.name, "kind": saved.model_name, "method": r.method, "images": r.images, "area": r.area,
                      "random_area": r.random_area, "ratio": r.ratio, "accuracy": float(r.curve.accuracy[0])} for r in results]
            timings.append({"model": path.name, "kind": saved.model_name, "deletion_seconds": seconds, **speed(saved.model, images[0], repeats)})
    table = Table("model", "method", "digits", "accuracy", "deletion AUC", "random AUC", "ratio", title="Deletion curves (lower = more faithful)")
    for row in rows:
        table.add_row(row["model"], row["method"], str(row["images"]), f"{row['accuracy']:.1%}", f"{row['area']:.3f}",
                      f"{row['random_area']:.3f}", f"{row['ratio']:.2f}")
    console.print(table)
    for model in dict.fromkeys(row["model"] for row in rows):
        best = min((row for row in rows if row["model"] == model), key=lambda row: row["area"])
        console.print(f"most faithful for {model}: {best['method']} (AUC {best['area']:.3f} vs random {best['random_area']:.3f})")
    clock = Table("model", "forward", "fast path", "fast + IG 8", "all methods", "deletion (all methods)",
                  title="One digit explained: median ms (x forward pass), one thread")
    for row in timings:
        paths = (f"{row[key]:.1f} (x{row[key] / row['forward_ms']:.0f})" for key in ("fast_ms", "fast_ig8_ms", "all_ms"))
        clock.add_row(row["model"], f"{row['forward_ms']:.2f}", *paths, f"{row['deletion_seconds']:.0f} s")
    console.print(clock)
    if args.json:
        args.json.write_text(json.dumps({"faithfulness": rows, "speed": timings}, indent=2) + "\n")


if __name__ == "__main__":
    main()
