"""Training: the visible loop, optimizers and schedules, checkpoints, device and seeding.

>>> from digitlab.datasets import load                      # doctest: +SKIP
>>> from digitlab.models import build
>>> from digitlab.training import TrainConfig, train, seed_everything
>>> seed_everything(0)
>>> model = build("mlp", hidden=[512, 512])
>>> result = train(model, load("mnist"), TrainConfig(epochs=5, schedule="onecycle"))
>>> result.test_accuracy, result.history[-1]["seconds"]
"""

from digitlab.inference import predict_labels, predict_proba, split_accuracy  # re-exported: inference is below training
from digitlab.training.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from digitlab.training.config import OPTIMIZERS, SCHEDULES, TrainConfig
from digitlab.training.device import pick_device
from digitlab.training.loop import TrainResult, train
from digitlab.training.seeding import seed_everything

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "Checkpoint",
    "CheckpointError",
    "TrainConfig",
    "TrainResult",
    "load_checkpoint",
    "pick_device",
    "predict_labels",
    "predict_proba",
    "save_checkpoint",
    "seed_everything",
    "split_accuracy",
    "train",
]
