"""digitlab's own networks trained through its one run pipeline, as `digitlab train` and the lab train them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from digitlab.datasets import Dataset
from digitlab.experiments import ExperimentConfig
from digitlab.experiments.runner import run
from digitlab.experiments.spec import resolve
from digitlab.inference import load_network
from digitlab.training import pick_device

RUNS_FOLDER = Path("runs") / "notebook"  # each run's checkpoint, beside the notebook


def train_model(name: str, model: str, data: Dataset, preset: str = "recommended", model_config: dict[str, Any] | None = None,
                **settings: Any) -> tuple[nn.Module, dict[str, Any]]:
    """Train digitlab's ``model`` ("simple", "complex", "mlp", "cnn") on ``data`` with a preset plus ``settings``.

    ``preset`` is "recommended" (digitlab's tuned settings) or "notebook" (the course's); ``settings`` change
    single training settings (``epochs=3``). Returns the trained network (read back from its checkpoint in
    runs/notebook/NAME) and the run's result: its metrics, history and full spec.
    """
    spec = resolve(ExperimentConfig(dataset=data.name, model=model, preset=preset, model_config=model_config or {},
                                    train_config=settings, validation_size=0), str(pick_device()))
    folder = RUNS_FOLDER / name
    result = run(spec, dataset=data, checkpoint_dir=folder)
    return load_network(folder).model, result
