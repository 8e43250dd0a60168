"""The run pipeline: one function, :func:`run`, takes a resolved :class:`RunSpec` and returns plain data.

``digitlab train``, ``knn``, ``sweep``, ``lab`` and ``tune``, the benchmarks and the notebook all
come here. A run seeds everything first (before the model or anything else random is built, so a
run's numbers never depend on what ran before it in the same process), cuts the data to its limits
and holds out its validation split, trains the network (digitlab.training's visible loop) or fits
the k-NN, then scores both kinds the same way (test accuracy, macro accuracy, confusion matrix,
timings), so the report compares like with like. The test set is only ever *measured*: the objective
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
from digitlab.evaluation.metrics import accuracy
from digitlab.evaluation.scores import score_split
from digitlab.experiments.environment import busy_start, environment
from digitlab.experiments.knn_runs import NeighborCache
from digitlab.experiments.scoring import robustness_result
from digitlab.experiments.spec import RunSpec, as_config
from digitlab.experiments.store import record_run
from digitlab.inference import predict_labels
from digitlab.inference.checkpoint import MAX_NETWORK_BYTES, skeleton
from digitlab.models import network
from digitlab.training import pick_device, seed_everything, train
from digitlab.training.device import synchronize

__all__ = ["evaluator", "run"]

Report = Callable[[int, float], bool]  # (epoch, validation accuracy) -> stop now?
Hook = Callable[[dict[str, Any]], None]  # gets a dict per epoch (on_epoch) or per batch (on_batch)
INTERRUPTED = "interrupted"  # TrainResult.stopped after Ctrl-C
OPTIMIZER_COPIES = {"adam": 2, "adamw": 2, "sgd": 1, "adadelta": 2}  # tensors of state per weight each optimizer keeps
TRAINING_COPIES = 2  # the weights themselves and their gradients
BYTES_PER_GIGABYTE = 1e9


def check_network_size(spec: RunSpec) -> None:
    """Refuse a network whose training would not fit in free memory, or whose checkpoint digitlab could not load back."""
    try:
        network_shapes = skeleton(spec.model, spec.model_config)  # on the "meta" device: shapes only, no memory
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
    model = network(spec.model, spec.model_config)  # after seeding: the same seed draws the same weights
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
    result = score_split(predictions, data.test, data.num_classes)
    val_accuracy = history[-1].get("val_accuracy") if history else (
        accuracy(predict_labels(model, validation.images).cpu(), validation.labels) if validation is not None else None)
    result["metrics"].update(
        val_accuracy=val_accuracy, train_seconds=train_seconds, predict_seconds=predict_seconds,
        num_parameters=sum(p.numel() for p in model.parameters() if p.requires_grad),
        epochs=len(history), train_size=len(data.train), test_size=len(data.test),
    )
    return {**result, "history": history, "stopped": stopped, "stopped_early": stopped == "stop_when",
            "checkpoint": str(checkpoint_dir) if checkpoint_dir and history else None,
            **robustness_result(spec, lambda images: predict_labels(model, images), data.test)}


def run_knn(spec: RunSpec, data: Dataset, validation: Split | None, device: torch.device, cache: NeighborCache | None,
            batch_size: int | None) -> dict[str, Any]:
    from digitlab.experiments import knn_runs

    result = knn_runs.run_knn(spec.knn_config, data, validation, device, cache, **({"batch_size": batch_size} if batch_size else {}))
    predict = result.pop("predict")  # a function: used for robustness here, never stored
    return {**result, "stopped": None, **robustness_result(spec, predict, data.test)}


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
