"""What ``digitlab tune`` searches, per model: a base config and how to suggest each setting."""

from __future__ import annotations

from optuna.trial import Trial

from digitlab.experiments.config import ExperimentConfig
from digitlab.experiments.sweep import SearchSpace

HIDDEN_CHOICES = ("256", "512", "1024", "512-512", "1024-1024", "512-512-512")  # strings: Optuna wants primitives


def _hidden_sizes(trial: Trial, name: str) -> list[int]:
    return [int(width) for width in trial.suggest_categorical(name, HIDDEN_CHOICES).split("-")]


MLP_SPACE: SearchSpace = {
    "model_config.hidden_sizes": _hidden_sizes,
    "model_config.dropout": lambda trial, name: trial.suggest_float(name, 0.0, 0.5),
    "train_config.lr": lambda trial, name: trial.suggest_float(name, 1e-4, 1e-2, log=True),
    "train_config.batch_size": lambda trial, name: trial.suggest_categorical(name, (64, 128, 256, 512)),
    "train_config.label_smoothing": lambda trial, name: trial.suggest_float(name, 0.0, 0.2),
}

CNN_SPACE: SearchSpace = {
    "train_config.lr": lambda trial, name: trial.suggest_float(name, 5e-4, 2e-2, log=True),
    "train_config.batch_size": lambda trial, name: trial.suggest_categorical(name, (64, 128, 256)),
    "train_config.label_smoothing": lambda trial, name: trial.suggest_float(name, 0.0, 0.2),
}

KNN_SPACE: SearchSpace = {
    "knn_config.n_neighbors": lambda trial, name: trial.suggest_int(name, 1, 15),
    "knn_config.weights": lambda trial, name: trial.suggest_categorical(name, ("uniform", "distance")),
    "knn_config.pca": lambda trial, name: trial.suggest_categorical(name, (0, 30, 50, 80)),
    "knn_config.deskew": lambda trial, name: trial.suggest_categorical(name, (False, True)),
}

SEARCH_SPACES: dict[str, tuple[ExperimentConfig, SearchSpace]] = {
    "mlp": (ExperimentConfig(model="mlp", train_config={"schedule": "onecycle"}), MLP_SPACE),
    "cnn": (ExperimentConfig(model="cnn"), CNN_SPACE),
    "knn": (ExperimentConfig(kind="knn"), KNN_SPACE),
}
VALIDATION_FRACTION_OF_LIMIT = 5  # with a training limit of N, hold out N/5 images for validation


def search_base(model: str, dataset: str, *, seed: int = 0, limit: int | None = None, epochs: int | None = None) -> ExperimentConfig:
    """The config ``digitlab tune --model MODEL`` starts from: on ``dataset``, ``limit`` training images, ``epochs`` per trial."""
    base = SEARCH_SPACES[model][0].with_params({"dataset": dataset, "seed": seed, "train_limit": limit})
    if limit is not None:
        base = base.with_params({"validation_size": min(base.validation_size, limit // VALIDATION_FRACTION_OF_LIMIT)})
    if base.kind == "network" and epochs is not None:
        base = base.with_params({"train_config.epochs": epochs})
    return base
