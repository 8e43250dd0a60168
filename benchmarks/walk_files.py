"""How many of digitlab's source files the three walks of docs/architecture.md call functions in.

    python benchmarks/walk_files.py [--list]

Each walk runs in this process under ``sys.setprofile`` (and ``threading.setprofile``): every Python call whose code lies in
``src/digitlab`` counts its file (module-level import code is left out: a module imported but never
called is not part of the walk). Prints one table row per walk; ``--list`` also names the files.
The walks: ``digitlab train --model cnn --epochs 1 --limit 300``; one uploaded PNG answered by a
trained CNN's app (the app started before counting); ``digitlab sweep`` of a one-point MLP grid.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

import digitlab
from digitlab.cli.main import main

PACKAGE = Path(digitlab.__file__).parent
ONE_POINT_SWEEP = 'name = "walk"\n[base]\nmodel = "mlp"\ntrain_limit = 300\ntest_limit = 100\nvalidation_size = 100\n' \
                  '[grid]\n"train_config.epochs" = [1]\n'


def files_called(action: Callable[[], object]) -> list[str]:
    """The package's source files whose functions ``action`` calls, relative to the package."""
    seen: set[str] = set()

    def profile(frame, event, arg) -> None:  # noqa: ANN001 - sys.setprofile's signature
        if event == "call" and frame.f_code.co_name != "<module>" and frame.f_code.co_filename.startswith(str(PACKAGE)):
            seen.add(frame.f_code.co_filename)

    sys.setprofile(profile)
    threading.setprofile(profile)  # the web app answers in its own threads
    try:
        action()
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
    return sorted(str(Path(name).relative_to(PACKAGE)) for name in seen)


def walks(folder: Path) -> dict[str, list[str]]:
    runs = folder / "runs"
    found = {"train --model cnn": files_called(lambda: main(["train", "--model", "cnn", "--epochs", "1", "--limit", "300",
                                                              "--out", str(runs / "cnn")]))}
    from fastapi.testclient import TestClient

    from digitlab.web import create_app

    client = TestClient(create_app(runs / "cnn"))
    png = io.BytesIO()
    Image.fromarray(np.pad(np.full((60, 12), 0, np.uint8), 40, constant_values=255)).save(png, format="PNG")  # a dark "1"
    found["upload a PNG"] = files_called(lambda: client.post("/api/predict", files={"file": ("one.png", png.getvalue(), "image/png")}))
    sweep = folder / "walk.toml"
    sweep.write_text(ONE_POINT_SWEEP)
    found["sweep, one point"] = files_called(lambda: main(["sweep", str(sweep), "--storage", f"sqlite:///{runs / 'walk.sqlite3'}"]))
    return found


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="name every file of each walk")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        results = walks(Path(folder))
    print("| walk | source files called |\n|---|---|")
    for walk, names in results.items():
        print(f"| {walk} | {len(names)} |")
    for walk, names in results.items() if arguments.list else ():
        print(f"\n{walk}: " + ", ".join(names))
