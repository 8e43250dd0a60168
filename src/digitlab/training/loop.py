"""The training loop: shuffle, slice a batch, forward, loss, backward, step. Visibly.

The whole training set lives on the device as one uint8 tensor; each epoch draws a shuffled index
and takes batches as slices of it (no DataLoader: for 60,000 small images in memory that is both
simpler and several times faster). After every epoch the test (and validation) accuracy is
measured, the epoch is recorded in the history, and a checkpoint is written when asked for.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from digitlab.datasets import Dataset, Split
from digitlab.errors import DigitlabError
from digitlab.inference.checkpoint import CheckpointError, load_training_state, save_checkpoint
from digitlab.inference.predict import as_float_images, split_accuracy
from digitlab.inference.saved import load_network
from digitlab.presets import TrainConfig, augmenter
from digitlab.training.device import pick_device, synchronize
from digitlab.training.interrupt import InterruptFlag, stop_on_interrupt
from digitlab.training.optim import Schedule, build_optimizer, build_schedule, current_lr
from digitlab.training.seeding import seed_everything

EpochHook = Callable[[dict[str, Any]], Any]


@dataclass
class TrainResult:
    """What a run produced, as data: the per-epoch history and the final numbers."""

    history: list[dict[str, Any]]
    test_accuracy: float | None  # after the last recorded epoch (never the best epoch picked on test)
    val_accuracy: float | None
    train_seconds: float  # training only: evaluation and checkpoint writing are not counted
    num_parameters: int
    stopped: str | None = None  # None: all epochs ran; "interrupted" | "time_budget" | "stop_when"
    checkpoint_path: Path | None = None
    device: str = "cpu"

    @property
    def interrupted(self) -> bool:
        return self.stopped == "interrupted"


class TrainingDiverged(DigitlabError):
    """The loss became NaN or infinite: nothing sensible can be learned from there on."""


def check_outputs_match_loss(model: nn.Module, config: TrainConfig) -> None:
    """CrossEntropyLoss wants logits; refuse squashed outputs unless the run is notebook-faithful."""
    outputs = getattr(model, "outputs", "logits")
    if outputs != "logits" and not config.notebook_faithful:
        raise DigitlabError(
            f"this network outputs {outputs} values, but CrossEntropyLoss expects logits (it applies softmax itself); "
            f"build it with outputs='logits', or set notebook_faithful=True to reproduce the course's setup on purpose"
        )


@dataclass
class EpochTotals:
    loss_sum: torch.Tensor  # summed per-image loss, kept on the device to avoid a sync per batch
    correct: torch.Tensor
    seen: int = 0
    seconds: float = 0.0
    lr: float = 0.0  # the learning rate the last batch used
    stop: str | None = None


def train_epoch(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, order: torch.Tensor, *,
    optimizer: torch.optim.Optimizer, schedule: Schedule, loss_fn: nn.Module, config: TrainConfig,
    generator: torch.Generator, epoch: int, seconds_before: float, interrupt: InterruptFlag,
    on_batch: EpochHook | None,
) -> EpochTotals:
    """One pass over ``images[order]`` in batches; stops early on Ctrl-C or when the time budget is spent."""
    device = images.device
    augment = augmenter(config)
    totals = EpochTotals(torch.zeros((), device=device), torch.zeros((), device=device, dtype=torch.int64))
    batches = math.ceil(len(order) / config.batch_size)
    model.train()
    started = time.perf_counter()
    for batch, start in enumerate(range(0, len(order), config.batch_size)):
        index = order[start:start + config.batch_size]
        x = as_float_images(images[index])  # (B, 28, 28) float in [0, 1]
        if augment is not None:
            x = augment(x, generator)  # same random stream as the shuffle: a resumed run continues it exactly
        y = labels[index]  # (B,)

        optimizer.zero_grad(set_to_none=True)
        outputs = model(x)  # (B, classes)
        loss = loss_fn(outputs, y)
        loss.backward()
        optimizer.step()
        totals.lr = current_lr(optimizer)
        schedule.after_batch()

        totals.loss_sum += loss.detach() * len(index)
        totals.correct += (outputs.detach().argmax(dim=1) == y).sum()
        totals.seen += len(index)
        elapsed = time.perf_counter() - started
        if on_batch is not None:
            on_batch({"epoch": epoch, "batch": batch + 1, "batches": batches, "loss": float(loss.detach()),
                      "accuracy": float(totals.correct) / totals.seen, "samples_per_second": totals.seen / max(elapsed, 1e-9)})
        if interrupt.requested:
            totals.stop = "interrupted"
            break
        if config.time_budget is not None and seconds_before + elapsed >= config.time_budget:
            totals.stop = "time_budget"
            break
    synchronize(device)
    totals.seconds = time.perf_counter() - started
    return totals


def _training_state(optimizer, schedule: Schedule, generator: torch.Generator) -> dict[str, Any]:
    return {
        "optimizer": optimizer.state_dict(),
        "scheduler": schedule.scheduler.state_dict() if schedule.scheduler is not None else None,
        "torch_rng": torch.get_rng_state(),  # dropout masks
        "shuffle_rng": generator.get_state(),  # batch order and shifts
    }


def _resume(folder: Path, model: nn.Module, config: TrainConfig, optimizer, schedule: Schedule,
            generator: torch.Generator) -> list[dict[str, Any]]:
    """Load weights and training state from ``folder``; returns the history so far."""
    saved = load_network(folder)
    if saved.model_name != getattr(model, "name", None) or saved.model.config != getattr(model, "config", None):
        raise DigitlabError(f"checkpoint {folder} holds a different network ({saved.model_name} {saved.model.config}); resume with the same one")
    if saved.spec.get("train_config") != json.loads(json.dumps(config.to_dict())):
        raise DigitlabError(f"checkpoint {folder} was trained with {saved.spec.get('train_config')}; resume with the same TrainConfig")
    state = load_training_state(folder)
    device = next(model.parameters()).device
    model.load_state_dict(saved.model.state_dict())
    try:  # the state passed its SHA-256, so it was edited along with the manifest: say so, no traceback
        optimizer.load_state_dict(state["optimizer"])
        if schedule.scheduler is not None and state["scheduler"] is not None:
            schedule.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        generator.set_state(state["shuffle_rng"])
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as error:
        raise CheckpointError(f"the training state in {folder} is damaged or was edited ({type(error).__name__}: {error}); "
                                   "it cannot be resumed: train again without --resume (with --force)") from None
    model.to(device)
    return list(saved.history)


def train(
    model: nn.Module,
    dataset: Dataset,
    config: TrainConfig,
    *,
    device: str | torch.device | None = None,
    validation: Split | None = None,
    on_epoch: EpochHook | None = None,
    on_batch: EpochHook | None = None,
    stop_when: EpochHook | None = None,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    spec: dict[str, Any] | None = None,
) -> TrainResult:
    """Train ``model`` on ``dataset.train``, measuring ``dataset.test`` (and ``validation``) every epoch.

    ``on_batch`` / ``on_epoch`` get a dict after every batch / epoch (for progress bars);
    ``stop_when(record)`` returning True ends the run after that epoch (early stopping, pruning).
    With ``checkpoint_dir`` every epoch is saved there with ``spec``, the run it belongs to (``RunSpec.to_dict()``); ``resume=True``
    continues the run saved there. Ctrl-C stops after the current batch, keeping the last completed epoch's checkpoint.
    """
    check_outputs_match_loss(model, config)
    device = pick_device(device)
    seed_everything(config.seed)
    generator = torch.Generator().manual_seed(config.seed)  # shuffles and shifts: independent of the model's draws
    model.to(device)
    images, labels = dataset.train.images.to(device), dataset.train.labels.to(device)
    optimizer = build_optimizer(model.parameters(), config)
    schedule = build_schedule(optimizer, config, steps_per_epoch=math.ceil(len(labels) / config.batch_size))
    # The notebook-faithful run feeds sigmoid/softmax outputs in here too: that is the course's setup.
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs the checkpoint_dir to resume from")
    if checkpoint_dir is not None and spec is None:
        raise ValueError("a checkpoint names the run it belongs to: pass its spec with checkpoint_dir")
    history = _resume(Path(checkpoint_dir), model, config, optimizer, schedule, generator) if resume else []
    result = TrainResult(history, None, None, sum(h["seconds"] for h in history), _count(model), device=str(device))

    with stop_on_interrupt() as interrupt:
        for epoch in range(len(history) + 1, config.epochs + 1):
            order = torch.randperm(len(labels), generator=generator).to(device)
            totals = train_epoch(model, images, labels, order, optimizer=optimizer, schedule=schedule, loss_fn=loss_fn,
                                 config=config, generator=generator, epoch=epoch, seconds_before=result.train_seconds,
                                 interrupt=interrupt, on_batch=on_batch)
            if totals.stop == "interrupted":
                result.stopped = "interrupted"  # the partial epoch is dropped; the last checkpoint stays
                break
            if not math.isfinite(float(totals.loss_sum)):  # one sync per epoch; the epoch is not saved
                raise TrainingDiverged(f"training diverged: the loss became {float(totals.loss_sum)} in epoch {epoch} "
                                       f"(lr {config.lr:g}, optimizer {config.optimizer}); try a smaller --lr"
                                       + ("; the last good epoch's checkpoint is kept" if epoch > 1 and checkpoint_dir else ""))
            schedule.after_epoch()
            result.train_seconds += totals.seconds
            record = _evaluate_epoch(model, dataset.test, validation, config, epoch, totals, result.train_seconds)
            history.append(record)
            if checkpoint_dir is not None:
                result.checkpoint_path = save_checkpoint(
                    checkpoint_dir, model, spec, classes=dataset.classes, image_shape=dataset.image_shape, history=history,
                    metrics=final_metrics(history), training_state=_training_state(optimizer, schedule, generator))
            if on_epoch is not None:
                on_epoch(record)
            if totals.stop == "time_budget":
                result.stopped = "time_budget"
                break
            if stop_when is not None and stop_when(record):
                result.stopped = "stop_when"
                break
    last = history[-1] if history else {}
    result.test_accuracy, result.val_accuracy = last.get("test_accuracy"), last.get("val_accuracy")
    return result


def _evaluate_epoch(model, test: Split, validation: Split | None, config: TrainConfig, epoch: int,
                    totals: EpochTotals, elapsed: float) -> dict[str, Any]:
    started = time.perf_counter()
    record = {
        "epoch": epoch,
        "train_loss": float(totals.loss_sum) / totals.seen,
        "train_accuracy": float(totals.correct) / totals.seen,  # running, over the epoch's batches (dropout on)
        "test_accuracy": split_accuracy(model, test, config.eval_batch_size),
        "seconds": totals.seconds,
        "elapsed": elapsed,  # training seconds since the start of the run
        "samples": totals.seen,
        "samples_per_second": totals.seen / max(totals.seconds, 1e-9),
        "lr": totals.lr,
    }
    if validation is not None:
        record["val_accuracy"] = split_accuracy(model, validation, config.eval_batch_size)
    record["eval_seconds"] = time.perf_counter() - started
    return record


def final_metrics(history: list[dict[str, Any]]) -> dict[str, Any]:
    """The numbers a checkpoint reports: the last epoch's, plus totals."""
    last = history[-1]
    metrics = {key: last[key] for key in ("test_accuracy", "val_accuracy", "train_accuracy", "train_loss") if key in last}
    metrics.update(epochs=len(history), train_seconds=sum(h["seconds"] for h in history))
    return metrics


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
