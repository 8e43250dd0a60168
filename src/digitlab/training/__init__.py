"""Training: the visible loop, optimizers and schedules, checkpoints, device and seeding.

>>> from digitlab.datasets import load                      # doctest: +SKIP
>>> from digitlab.models import build
>>> from digitlab.training import TrainConfig, train, seed_everything
>>> seed_everything(0)
>>> model = build("mlp", hidden_sizes=[512, 512])
>>> result = train(model, load("mnist"), TrainConfig(epochs=5, schedule="onecycle"))
>>> result.test_accuracy, result.history[-1]["seconds"]
"""

from digitlab.training.checkpoint import CheckpointError, save_checkpoint
from digitlab.training.config import OPTIMIZERS, SCHEDULES, TrainConfig
from digitlab.training.device import pick_device
from digitlab.training.loop import TrainResult, train
from digitlab.training.seeding import seed_everything

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "CheckpointError",
    "TrainConfig",
    "TrainResult",
    "pick_device",
    "save_checkpoint",
    "seed_everything",
    "train",
]
