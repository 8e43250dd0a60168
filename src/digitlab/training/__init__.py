"""Training: the visible loop, optimizers and schedules, device and seeding.

>>> from digitlab.datasets import load                      # doctest: +SKIP
>>> from digitlab.models import build
>>> from digitlab.training import TrainConfig, train, seed_everything
>>> seed_everything(0)
>>> model = build("mlp", hidden_sizes=[512, 512])
>>> result = train(model, load("mnist"), TrainConfig(epochs=5, schedule="onecycle"))
>>> result.test_accuracy, result.history[-1]["seconds"]
"""

from digitlab.presets import OPTIMIZERS, SCHEDULES, TrainConfig
from digitlab.training.device import pick_device
from digitlab.training.loop import TrainResult, train
from digitlab.training.seeding import seed_everything

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "TrainConfig",
    "TrainResult",
    "pick_device",
    "seed_everything",
    "train",
]
