"""The run pipeline: one function, :func:`run`, takes a resolved :class:`RunSpec` and returns plain data.

``digitlab train``, ``knn``, ``sweep``, ``lab`` and ``tune``, the benchmarks and the notebook all
come here. A run seeds everything first (before the model or anything else random is built, so a
run's numbers never depend on what ran before it in the same process), cuts the data to its limits
and holds out its validation split, trains the network (digitlab.training's visible loop) or fits
the k-NN, then scores both kinds here, the same way (test accuracy, macro accuracy, confusion matrix,
per-image predictions, timings, changed test sets), so the report compares like with like. The test set is only ever *measured*: the objective
a sweep maximises is validation accuracy, from images held out of the training set.

The result is a dict of numbers, lists and strings (JSON as it is stored): ``objective``,
``metrics``, ``history`` (one dict per epoch), ``confusion``, ``test_predictions``, ``stopped``,
``checkpoint``, ``robustness`` when asked for, the ``spec`` it ran and the ``environment`` it ran in. Given a
store, the run also records itself there (``stored_run``: its id), as ``digitlab train`` asks.

A network too large to train is refused before anything is loaded or built, with the memory it would need
(``--hidden-sizes 100000000`` asks for hundreds of GB), whichever command asked for it.
"""

from __future__ import annotations

import os
import string
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import psutil
import torch
from optuna.storages import RDBStorage

from digitlab.datasets import Dataset, Split, load, train_validation_split
from digitlab.errors import DigitlabError
from digitlab.evaluation.metrics import accuracy, confusion_matrix, macro_accuracy
from digitlab.experiments.environment import busy_start, environment
from digitlab.experiments.knn_runs import NeighborCache
from digitlab.experiments.spec import RunSpec, as_config
from digitlab.experiments.store import record_run
from digitlab.inference import predict_labels
from digitlab.inference.checkpoint import MAX_NETWORK_BYTES
from digitlab.robustness.evaluate import Predictor, parse_transforms, robustness_table
from digitlab.training import pick_device, seed_everything, train
from digitlab.training.device import synchronize

__all__ = ["decode_predictions", "evaluator", "run"]

Report = Callable[[int, float], bool]  # (epoch, validation accuracy) -> stop now?
Hook = Callable[[dict[str, Any]], None]  # gets a dict per epoch (on_epoch) or per batch (on_batch)
INTERRUPTED = "interrupted"  # TrainResult.stopped after Ctrl-C
OPTIMIZER_COPIES = {"adam": 2, "adamw": 2, "sgd": 1, "adadelta": 2}  # tensors of state per weight each optimizer keeps
TRAINING_COPIES = 2  # the weights themselves and their gradients
BYTES_PER_GIGABYTE = 1e9
ROBUSTNESS_SEED = 0  # every run of every sweep is scored on the same changed test images, whatever its own seed
# A run's per-image predictions are stored as one character per image up to 62 classes, digits first.
ALPHABET = string.digits + string.ascii_lowercase + string.ascii_uppercase
INDEX = {character: label for label, character in enumerate(ALPHABET)}


def check_network_size(spec: RunSpec) -> None:
    """Refuse a network whose training would not fit in free memory, or whose checkpoint digitlab could not load back."""
    try:
        with torch.device("meta"):  # shapes only, no memory
            network_shapes = spec.model_config.build()
    except (TypeError, ValueError) as error:
        raise DigitlabError(str(error)) from error
    weights = sum(p.numel() * p.element_size() for p in network_shapes.parameters())
    optimizer = spec.train_config.optimizer if spec.train_config is not None else ""
    needed = weights * (TRAINING_COPIES + OPTIMIZER_COPIES.get(optimizer, 2))
    free = psutil.virtual_memory().available
    if needed > free or weights > MAX_NETWORK_BYTES:
        limit = f"this machine has {free / BYTES_PER_GIGABYTE:,.1f} GB free" if needed > free else \
            f"a checkpoint holds at most {MAX_NETWORK_BYTES / BYTES_PER_GIGABYTE:,.1f} GB of weights"
        count = sum(p.numel() for p in network_shapes.parameters())
        raise DigitlabError(f"this {spec.model} has {count:,} parameters and needs {needed / BYTES_PER_GIGABYTE:,.1f} GB to train "
                            f"(weights, gradients and {optimizer}'s state); {limit}: choose smaller --hidden-sizes or --channels")


def encode_predictions(labels: torch.Tensor) -> str | list[int]:
    """(N,) labels -> one character per image (labels below 62), else the plain list of ints.

    >>> encode_predictions(torch.tensor([3, 11, 0]))
    '3b0'
    """
    values = [int(label) for label in labels.tolist()]
    if values and (min(values) < 0 or max(values) >= len(ALPHABET)):
        return values  # beyond 62 classes: ~4 bytes per image in JSON, still fine for a test set
    return "".join(ALPHABET[value] for value in values)


def decode_predictions(stored: object) -> torch.Tensor | None:
    """The int64 labels :func:`encode_predictions` stored, or None when ``stored`` is not such a value."""
    if isinstance(stored, str) and stored and all(character in INDEX for character in stored):
        return torch.tensor([INDEX[character] for character in stored], dtype=torch.int64)
    if isinstance(stored, list) and stored and all(isinstance(value, int) and value >= 0 for value in stored):
        return torch.tensor(stored, dtype=torch.int64)
    return None


def robustness_result(spec: RunSpec, predict: Predictor, test: Split) -> dict[str, Any]:
    """``{"robustness": {transform: {strength: accuracy}}, "robustness_size": n, "robustness_seconds": s}`` for
    ``spec.robustness`` ("" = none), the changed sets made of the first ``spec.robustness_limit`` test images (None: all).

    A lab scores dozens of changed sets per run (38 for the six transforms): on a laptop CPU a few
    thousand images per set draw the curves to a few tenths of a point at a fraction of the cost.
    """
    if not spec.robustness:
        return {}
    started = time.perf_counter()
    test = test.head(spec.robustness_limit)
    rows = robustness_table({"model": predict}, test, parse_transforms(spec.robustness), seed=ROBUSTNESS_SEED)
    measured: dict[str, dict[str, float]] = {}
    for row in rows:
        measured.setdefault(row["transform"], {})[f"{row['strength']:g}"] = row["accuracy"]
    return {"robustness": measured, "robustness_size": len(test), "robustness_seconds": time.perf_counter() - started}


def scored(spec: RunSpec, result: dict[str, Any], predictions: torch.Tensor, predict: Predictor, data: Dataset) -> dict[str, Any]:
    """``result`` with the test split's scores, every kind of run alike: accuracy, macro accuracy, the confusion
    matrix, the per-image predictions (compact enough to keep for every run) and the changed test sets."""
    predictions, labels = predictions.cpu(), data.test.labels
    metrics = {"test_accuracy": accuracy(predictions, labels), "macro_accuracy": macro_accuracy(predictions, labels, data.num_classes)}
    return {**result, "metrics": {**metrics, **result["metrics"]},
            "confusion": confusion_matrix(predictions, labels, data.num_classes).tolist(),
            "test_predictions": encode_predictions(predictions), **robustness_result(spec, predict, data.test)}


@lru_cache(maxsize=4)
def cached_dataset(name: str, data_dir: str | None, cache_dir: str | None) -> Dataset:
    """Load each dataset once per process: a lab runs dozens of experiments on the same tensors."""
    return load(name, data_dir=data_dir, cache_dir=cache_dir)


def prepare_data(spec: RunSpec, dataset: Dataset) -> tuple[Dataset, Split | None]:
    """Apply the spec's limits and hold out its validation split (seeded)."""
    data = dataset.limit(spec.train_limit, spec.test_limit)
    if spec.validation_size <= 0:
        return data, None
    if spec.validation_size >= len(data.train):
        raise ValueError(f"validation_size {spec.validation_size} leaves no training images out of {len(data.train)}")
    train_split, validation = train_validation_split(data.train, spec.validation_size, seed=spec.seed)
    return Dataset(data.name, data.classes, train_split, data.test, data.source), validation


def run_network(spec: RunSpec, data: Dataset, validation: Split | None, device: torch.device, report: Report | None,
                on_epoch: Hook | None, on_batch: Hook | None, checkpoint_dir: Path | None, resume: bool) -> dict[str, Any]:
    model = spec.model_config.build()  # after seeding: the same seed draws the same weights
    history: list[dict[str, Any]] = []
    train_seconds, stopped = 0.0, None
    if spec.trains:
        def should_stop(record: dict[str, Any]) -> bool:
            return report is not None and report(record["epoch"], record.get("val_accuracy", record["test_accuracy"]))

        trained = train(model, data, spec.training(), device=device, validation=validation, on_epoch=on_epoch,
                        on_batch=on_batch, stop_when=should_stop, checkpoint_dir=checkpoint_dir, resume=resume,
                        spec=spec.to_dict())
        history, train_seconds, stopped = trained.history, trained.train_seconds, trained.stopped
        if stopped == INTERRUPTED:  # Ctrl-C: nothing to score; the caller says what was kept
            return {"history": history, "stopped": stopped, "checkpoint": str(checkpoint_dir) if checkpoint_dir else None,
                    "metrics": {"train_seconds": train_seconds, "epochs": len(history)}}
    model.to(device)
    synchronize(device)
    started = time.perf_counter()
    predictions = predict_labels(model, data.test.images)
    synchronize(device)
    predict_seconds = time.perf_counter() - started
    val_accuracy = history[-1].get("val_accuracy") if history else (
        accuracy(predict_labels(model, validation.images).cpu(), validation.labels) if validation is not None else None)
    metrics = dict(val_accuracy=val_accuracy, train_seconds=train_seconds, predict_seconds=predict_seconds,
                   num_parameters=sum(p.numel() for p in model.parameters() if p.requires_grad),
                   epochs=len(history), train_size=len(data.train), test_size=len(data.test))
    result = {"metrics": metrics, "history": history, "stopped": stopped, "stopped_early": stopped == "stop_when",
              "checkpoint": str(checkpoint_dir) if checkpoint_dir and history else None}
    return scored(spec, result, predictions, lambda images: predict_labels(model, images), data)


def run_knn(spec: RunSpec, data: Dataset, validation: Split | None, device: torch.device, cache: NeighborCache | None,
            batch_size: int | None) -> dict[str, Any]:
    from digitlab.experiments import knn_runs

    result = knn_runs.run_knn(spec.knn_config, data, validation, device, cache, **({"batch_size": batch_size} if batch_size else {}))
    predictions, predict = result.pop("predictions"), result.pop("predict")  # scored here, never stored as they are
    return scored(spec, {**result, "stopped": None}, predictions, predict, data)


def run(
    spec: RunSpec,
    *,
    dataset: Dataset | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    report: Report | None = None,
    on_epoch: Hook | None = None,
    on_batch: Hook | None = None,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    resume: bool = False,
    neighbor_cache: NeighborCache | None = None,
    knn_batch_size: int | None = None,
    store: RDBStorage | None = None,
) -> dict[str, Any]:
    """Run ``spec`` and return its results as plain data (see the module docstring).

    ``dataset`` replaces loading ``spec.dataset`` (tests, the notebook); ``report(epoch, val)``
    returning True stops training after that epoch (pruning); ``on_epoch`` / ``on_batch`` see
    progress; ``checkpoint_dir`` saves every epoch there and ``resume=True`` continues the run
    saved there. After Ctrl-C the result has ``stopped == "interrupted"`` and no scores. k-NN only:
    ``neighbor_cache`` reuses searches of earlier runs of one grid on the same data and search
    settings (:mod:`digitlab.experiments.knn_runs`); ``knn_batch_size`` bounds the search's memory. With ``store``
    a finished run is recorded there under the study ``train@DATASET`` (a sweep records its runs itself).
    """
    if spec.kind == "network":
        check_network_size(spec)  # before any work: nothing loaded, built or written
    started = busy_start()  # how busy the machine is while this run's timings are taken
    seed_everything(spec.seed)  # before anything random is built: weights, dropout, k-NN's PCA
    source = dataset if dataset is not None else cached_dataset(spec.dataset, str(data_dir) if data_dir else None,
                                                               str(cache_dir) if cache_dir else None)
    data, validation = prepare_data(spec, source)
    device = pick_device(spec.device)
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    if spec.kind == "network":
        result = run_network(spec, data, validation, device, report, on_epoch, on_batch, folder, resume)
    else:
        result = run_knn(spec, data, validation, device, neighbor_cache, knn_batch_size)
    metrics = result["metrics"]
    if result["stopped"] != INTERRUPTED:
        result["objective"] = metrics["val_accuracy"] if metrics.get("val_accuracy") is not None else metrics["test_accuracy"]
    result = {**result, "spec": spec.to_dict(), "environment": environment(device, started)}
    if store is not None and result["stopped"] != INTERRUPTED:
        result["stored_run"] = record_run(store, f"train@{spec.dataset}", as_config(spec).to_dict(), result).id
    return result


def evaluator(*, data_dir: str | os.PathLike[str] | None = None, cache_dir: str | os.PathLike[str] | None = None,
              on_epoch: Hook | None = None, checkpoint_dir: Path | None = None) -> Callable[[RunSpec, Report], dict[str, Any]]:
    """The ``evaluate(spec, report)`` sweeps and searches call: run, and turn Ctrl-C into KeyboardInterrupt (the
    sweep marks that run failed and runs it again next time). k-NN searches are reused within it (one per grid)."""
    searches = NeighborCache()

    def evaluate(spec: RunSpec, report: Report) -> dict[str, Any]:
        result = run(spec, report=report, data_dir=data_dir, cache_dir=cache_dir, on_epoch=on_epoch,
                     checkpoint_dir=checkpoint_dir, neighbor_cache=searches)
        if result["stopped"] == INTERRUPTED:
            raise KeyboardInterrupt
        return result

    return evaluate
