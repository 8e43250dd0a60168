"""Grade a generated class with the sandbox on: wall time per notebook and per class, --jobs 1 and 2, twice the same CSV.

The class mixes honest notebooks (the course's solutions and unusual-but-right ones), wrong ones (a common
mistake per assignment), empty ones (no sandbox needed), endless ones (a training loop that never ends:
it costs the cell limit) and hostile ones (forgery, or every escape route), in the proportions of ``MIX``.
Each ``--jobs`` value grades the whole class; the first one grades it twice and compares the two CSVs
(every column but the seconds). Run from the repository root:

    PYTHONPATH=src python benchmarks/grading.py --class-size 100 --jobs 1 2 [--sandbox podman]

Prints a table (Markdown) and the machine; the goal is a class of 100 within 15 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.notebooks.grading_class: the class's notebooks

from tests.notebooks import grading_class as students  # noqa: E402

from digitlab.notebooks.editions import assignments, read_notebook, write_notebook  # noqa: E402
from digitlab.notebooks.feedback import write_class_csv  # noqa: E402
from digitlab.notebooks.grading import Limits, choose_sandbox, grade_all  # noqa: E402

# Share of each kind of notebook in a class (a real class: mostly honest work, some empty and wrong)
MIX = {"honest": 0.5, "wrong": 0.2, "empty": 0.1, "endless": 0.1, "hostile": 0.1}
HOSTILE_VALUES = {"OTHER_NOTEBOOK": "/nonexistent", "SECRET_FILE": "/etc/shadow", "OUTSIDE_FILE": "/tmp/escaped",
                  "HOST_PORT": 9, "MEMORY_BYTES": 8 * 2**30, "CSV_FILE": "/tmp/class.csv"}


def make_class(size: int, folder: Path) -> list[Path]:
    """``size`` notebooks in ``folder``, the kinds interleaved so both --jobs workers get a mix."""
    makers = {"honest": [students.right, students.unusual], "wrong": [students.wrong], "empty": [students.edition],
              "endless": [students.endless],
              "hostile": [students.forgery, lambda: students.hostile(HOSTILE_VALUES)]}
    counts = {kind: round(share * size) for kind, share in MIX.items()}
    counts["honest"] += size - sum(counts.values())
    order = []
    while len(order) < size:
        for kind in MIX:
            made = sum(1 for k in order if k == kind)
            if made < counts[kind]:
                order.append(kind)
    paths = []
    for index, kind in enumerate(order):
        variants = makers[kind]
        notebook = variants[index % len(variants)]()
        paths.append(write_notebook(notebook, folder / f"{index:03d}-{kind}.ipynb"))
    return paths


def graded_rows(path: Path) -> list[list[str]]:
    rows = list(csv.reader(path.read_text().splitlines()))
    seconds = rows[0].index("seconds")
    return [row[:seconds] + row[seconds + 1:] for row in rows]


def run(paths: list[Path], jobs: int, limits: Limits, out: Path) -> tuple[float, list[float], Path]:
    started = time.monotonic()
    grades = grade_all(paths, limits, jobs=jobs)
    wall = time.monotonic() - started
    target = write_class_csv(grades, out, assignments(read_notebook()))
    return wall, [graded.seconds for graded in grades], target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--class-size", type=int, default=100)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--cell-timeout", type=int, default=Limits.cell_s)
    parser.add_argument("--keep", type=Path, help="copy the class CSVs into this folder")
    parser.add_argument("--once", action="store_true", help="grade the class once per --jobs value (no same-CSV check)")
    parser.add_argument("--sandbox", default=Limits.sandbox, help="auto, bwrap, docker or podman (as digitlab check)")
    args = parser.parse_args()
    limits = Limits(cell_s=args.cell_timeout, sandbox=choose_sandbox(args.sandbox))
    with tempfile.TemporaryDirectory(prefix="digitlab-class-") as work:
        folder = Path(work)
        paths = make_class(args.class_size, folder)
        print(f"class of {len(paths)}: " + ", ".join(f"{kind} {sum(kind in p.name for p in paths)}" for kind in MIX), flush=True)
        print("| --jobs | class wall (s) | per notebook, mean (s) | per notebook, max (s) | notebooks/min | same CSV twice |")
        print("|---|---|---|---|---|---|")
        for position, jobs in enumerate(args.jobs):
            wall, seconds, first = run(paths, jobs, limits, folder / f"class-{jobs}.csv")
            same = ""
            if position == 0 and not args.once:
                _, _, second = run(paths, jobs, limits, folder / f"class-{jobs}-again.csv")
                same = "yes" if graded_rows(first) == graded_rows(second) else "NO"
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                for table in folder.glob(f"class-{jobs}*.csv"):
                    shutil.copyfile(table, args.keep / table.name)
            print(f"| {jobs} | {wall:.0f} | {sum(seconds) / len(seconds):.1f} | {max(seconds):.1f} | "
                  f"{60 * len(seconds) / wall:.1f} | {same} |", flush=True)
    load = os.getloadavg()
    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}, "
          f"Python {platform.python_version()}, cell limit {limits.cell_s} s, sandbox {limits.sandbox}")


if __name__ == "__main__":
    main()
