"""What produced a number: the device, the library versions, the commit and the cores, stored with every run,
and how busy the machine was while it ran (CPU time against wall time, load average), so that a timing taken
on a shared, busy machine can be told from one taken on a quiet one.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy
import sklearn
import torch

import digitlab

GIT_TIMEOUT_S = 5


def git_commit() -> str | None:
    """The commit digitlab runs from, when it runs from a git checkout."""
    try:
        folder = Path(digitlab.__file__).resolve().parent
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=folder, capture_output=True, text=True,
                              timeout=GIT_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def load_average() -> float | None:
    """The 1-minute load average (runnable processes, ours included), or None where the system has none (Windows)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


@dataclass(frozen=True)
class Busy:
    """How busy the machine was when a run started: taken by :func:`busy_start`, read by :func:`environment`."""

    wall: float  # time.perf_counter() at the start
    cpu: float  # this process's CPU seconds (all its threads) at the start
    load: float | None  # the 1-minute load average at the start


def busy_start() -> Busy:
    return Busy(time.perf_counter(), time.process_time(), load_average())


def busy_record(started: Busy) -> dict[str, Any]:
    """CPU seconds against wall seconds since ``started``, and the load average then and now.

    A run whose threads were kept off the cores by other work shows a CPU/wall ratio far below its thread count
    and a load clearly above the core count: the report marks its timings as taken under contention (report/timing.py).
    """
    wall, cpu = time.perf_counter() - started.wall, time.process_time() - started.cpu
    return {"wall_seconds": round(wall, 3), "cpu_seconds": round(cpu, 3), "cpu_per_wall": round(cpu / wall, 3) if wall > 0 else None,
            "load_start": started.load, "load_end": load_average()}


def environment(device: torch.device, started: Busy | None = None) -> dict[str, Any]:
    """Device, library versions, commit, cores (and, given when the run ``started``, how busy the machine was):
    enough to tell two runs' machines, code and conditions apart."""
    return {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "sklearn": sklearn.__version__,
        "digitlab": digitlab.__version__,
        "git_commit": git_commit(),
        **(busy_record(started) if started is not None else {}),
    }
