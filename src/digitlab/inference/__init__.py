"""Inference: a trained network's predictions and probabilities, and its checkpoint (the format, written and read).

Below training, so the web app, the report and robustness scoring predict without importing
optimisers and loops.

>>> from digitlab.inference import load_network, predict_proba      # doctest: +SKIP
>>> saved = load_network("runs/mnist-cnn")
>>> predict_proba(saved.model, mnist.test.images[:5])   # (5, 10) rows that sum to 1
"""

from digitlab.inference.checkpoint import CheckpointError, has_checkpoint, save_checkpoint
from digitlab.inference.predict import as_float_images, predict_labels, predict_proba, split_accuracy, to_probabilities
from digitlab.inference.saved import SavedNetwork, load_network

__all__ = [
    "CheckpointError",
    "SavedNetwork",
    "as_float_images",
    "has_checkpoint",
    "load_network",
    "predict_labels",
    "predict_proba",
    "save_checkpoint",
    "split_accuracy",
    "to_probabilities",
]
