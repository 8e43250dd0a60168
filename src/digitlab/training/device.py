"""The one place that decides where tensors live: CUDA, then Apple's MPS, then the CPU."""

from __future__ import annotations

import torch

from digitlab.errors import DigitlabError

AUTO = "auto"


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def pick_device(name: str | torch.device | None = None) -> torch.device:
    """The best available device, or the one asked for (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``).

    Asking for a device this machine lacks is an error that says so, rather than a silent CPU run.
    """
    if isinstance(name, torch.device):
        return name
    if name is None or name == AUTO:
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise DigitlabError(f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DigitlabError(f"device {name!r} asked for, but this PyTorch build sees no CUDA GPU (torch {torch.__version__})")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise DigitlabError(f"device {name!r} asked for, but only {torch.cuda.device_count()} CUDA GPU(s) are visible")
    if device.type == "mps" and not _mps_available():
        raise DigitlabError(f"device {name!r} asked for, but Apple's MPS backend is not available here")
    if device.type not in ("cpu", "cuda", "mps"):
        raise DigitlabError(f"device {name!r} is not supported: use auto, cpu, cuda, cuda:N or mps")
    return device


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so that a timer measures the work and not just its launch."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
