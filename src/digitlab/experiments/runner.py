"""Run one experiment from its config and return its results as plain data for the store.

Networks go through :func:`digitlab.training.train`, k-NN through :class:`digitlab.knn.KNNClassifier`;
both are scored the same way afterwards (test accuracy, macro accuracy, confusion matrix, timings),
so the report compares like with like. The test set is only ever *measured*: the objective a sweep
maximises is validation accuracy, from images held out of the training set.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy
import sklearn
import torch

import digitlab
from digitlab.errors import DigitlabError
from digitlab.datasets import Dataset, Split, load, train_validation_split
from digitlab.evaluation.metrics import accuracy
from digitlab.evaluation.scores import score_split
from digitlab.experiments.config import ExperimentConfig
from digitlab.experiments.knn_runs import knn_pipeline, run_knn
from digitlab.models import build
from digitlab.models.registry import make_config, notebook_overrides
from digitlab.robustness.evaluate import Predictor, parse_transforms, robustness_table
from digitlab.training import notebook, pick_device, predict_labels, recommended, train
from digitlab.training.device import synchronize

ROBUSTNESS_SEED = 0  # every run of every sweep is scored on the same changed test images, whatever its own seed
Report = Callable[[int, float], bool]  # (epoch, validation accuracy) -> stop now?
EpochCallback = Callable[[dict[str, Any]], None]


@lru_cache(maxsize=4)
def cached_dataset(name: str, data_dir: str | None, cache_dir: str | None) -> Dataset:
    """Load each dataset once per process: a lab runs dozens of experiments on the same tensors."""
    return load(name, data_dir=data_dir, cache_dir=cache_dir)


def prepare_data(config: ExperimentConfig, dataset: Dataset) -> tuple[Dataset, Split | None]:
    """Apply the config's limits and hold out its validation split (seeded)."""
    data = dataset.limit(config.train_limit, config.test_limit)
    if config.validation_size <= 0:
        return data, None
    if config.validation_size >= len(data.train):
        raise ValueError(f"validation_size {config.validation_size} leaves no training images out of {len(data.train)}")
    train_split, validation = train_validation_split(data.train, config.validation_size, seed=config.seed)
    return Dataset(data.name, data.classes, train_split, data.test, data.source), validation


def git_commit() -> str | None:
    """The commit digitlab runs from, when it runs from a git checkout."""
    try:
        folder = Path(digitlab.__file__).resolve().parent
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def environment(device: torch.device) -> dict[str, Any]:
    """What produced a number: device, library versions, commit, cores."""
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


def train_config_for(config: ExperimentConfig) -> Any:
    options = {**config.train_options, "seed": config.seed}
    make = notebook if config.setup == "notebook" else recommended
    return make(config.model, **options)


def model_options_for(config: ExperimentConfig) -> dict[str, Any]:
    """The notebook setup also means the notebook's output layer (sigmoid / softmax)."""
    faithful = notebook_overrides(config.model) if config.setup == "notebook" else {}
    return {**faithful, **config.model_options}


def check_config(config: ExperimentConfig) -> None:
    """Raise a clear error for a misspelt or out-of-range setting before anything runs."""
    if config.train_limit is not None and config.validation_size >= config.train_limit:
        raise DigitlabError(f"validation_size {config.validation_size} leaves no training images out of train_limit "
                            f"{config.train_limit}; lower validation_size (0 for none) or raise train_limit")
    try:
        if config.kind == "network":
            make_config(config.model, **model_options_for(config))
            options = {**config.train_options, "seed": config.seed}
            if options.get("epochs") == 0:
                options.pop("epochs")
            train_config_for(config.with_params({"train_options": options}))
        else:
            knn_pipeline(config.knn_options, torch.device("cpu"))  # unknown settings fail here; values at fit
        if config.robustness:
            parse_transforms(config.robustness)
    except (TypeError, ValueError) as error:  # dataclasses and sklearn name the bad setting
        raise DigitlabError(f"bad experiment settings {config.to_dict()}: {error}") from error


def run_network(config: ExperimentConfig, data: Dataset, validation: Split | None, device: torch.device,
                report: Report, on_epoch: EpochCallback | None, checkpoint_dir: Path | None) -> dict[str, Any]:
    sized = {"image_shape": data.image_shape, "num_classes": data.num_classes}  # from the data, unless the experiment sets them
    model = build(config.model, **{**sized, **model_options_for(config)})
    untrained = config.train_options.get("epochs") == 0  # the notebook's "evaluatie (prelude)": guessing
    history: list[dict[str, Any]] = []
    train_seconds, stopped = 0.0, None
    if untrained:
        torch.manual_seed(config.seed)
        model.reset()
    else:
        def after_epoch(record: dict[str, Any]) -> None:
            if on_epoch is not None:
                on_epoch(record)

        def should_stop(record: dict[str, Any]) -> bool:
            return report(record["epoch"], record.get("val_accuracy", record["test_accuracy"]))

        result = train(model, data, train_config_for(config), device=device, validation=validation,
                       on_epoch=after_epoch, stop_when=should_stop, checkpoint_dir=checkpoint_dir)
        if result.interrupted:
            raise KeyboardInterrupt  # the sweep marks this run failed and retries it next time
        history, train_seconds, stopped = result.history, result.train_seconds, result.stopped
    model.to(device)
    synchronize(device)
    started = time.perf_counter()
    predictions = predict_labels(model, data.test.images)
    synchronize(device)
    predict_seconds = time.perf_counter() - started
    result_scores = score_split(predictions, data.test, data.num_classes)
    val_accuracy = history[-1].get("val_accuracy") if history else (
        accuracy(predict_labels(model, validation.images).cpu(), validation.labels) if validation is not None else None)
    result_scores["metrics"].update(
        val_accuracy=val_accuracy, train_seconds=train_seconds, predict_seconds=predict_seconds,
        num_parameters=sum(p.numel() for p in model.parameters() if p.requires_grad),
        epochs=len(history), train_size=len(data.train), test_size=len(data.test),
    )
    return {**result_scores, "history": history, "stopped_early": stopped == "stop_when",
            "checkpoint": str(checkpoint_dir) if checkpoint_dir and history else None,
            **robustness_result(config, lambda images: predict_labels(model, images), data.test)}


def robustness_result(config: ExperimentConfig, predict: Predictor, test: Split) -> dict[str, Any]:
    """``{"robustness": {transform: {strength: accuracy}}, "robustness_seconds": s}`` when the config asks for it."""
    if not config.robustness:
        return {}
    started = time.perf_counter()
    rows = robustness_table({"model": predict}, test, parse_transforms(config.robustness), seed=ROBUSTNESS_SEED)
    scores: dict[str, dict[str, float]] = {}
    for row in rows:
        scores.setdefault(row["transform"], {})[f"{row['strength']:g}"] = row["accuracy"]
    return {"robustness": scores, "robustness_seconds": time.perf_counter() - started}


def run_experiment(
    config: ExperimentConfig,
    report: Report | None = None,
    *,
    dataset: Dataset | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    device: str | torch.device | None = None,
    on_epoch: EpochCallback | None = None,
    checkpoint_dir: Path | None = None,
) -> dict[str, Any]:
    """Run ``config`` and return its results (see the module docstring for what is in them)."""
    dataset = dataset or cached_dataset(config.dataset, str(data_dir) if data_dir else None, str(cache_dir) if cache_dir else None)
    data, validation = prepare_data(config, dataset)
    torch_device = pick_device(device)
    if config.kind == "network":
        result = run_network(config, data, validation, torch_device, report or (lambda step, value: False), on_epoch, checkpoint_dir)
    else:
        result = run_knn(config, dataset, data, validation, torch_device)
        result.update(robustness_result(config, result.pop("predict"), data.test))
    metrics = result["metrics"]
    result["objective"] = metrics["val_accuracy"] if metrics.get("val_accuracy") is not None else metrics["test_accuracy"]
    result["environment"] = environment(torch_device)
    return result
