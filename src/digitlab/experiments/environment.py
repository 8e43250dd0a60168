"""What produced a number: the device, the library versions, the commit and the cores, stored with every run."""

from __future__ import annotations

import os
import platform
import subprocess
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


def environment(device: torch.device) -> dict[str, Any]:
    """Device, library versions, commit, cores: enough to tell two runs' machines and code apart."""
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
    }
