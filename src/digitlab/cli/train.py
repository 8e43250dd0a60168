"""``digitlab train | evaluate | predict | summary``: the neural networks of Part I (and a CNN).

Each command parses its options, calls the library and prints or writes what comes back: ``train``
resolves a :class:`~digitlab.experiments.spec.RunSpec` and runs it through the run pipeline
(:func:`digitlab.experiments.runner.run`), like the lab does; ``evaluate`` calls
:func:`digitlab.evaluation.assess.assess`. Registered in main.py with ``app.add_typer(train.app)``.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import torch
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from digitlab.atomic import atomic_write_text
from digitlab.cli.common import (
    DEFAULT,
    CacheDirOption,
    DataDirOption,
    DatasetOption,
    DeviceOption,
    SeedOption,
    StorageOption,
    console,
    err_console,
    save_figure,
)
from digitlab.datasets import DEFAULT_DATASET, load
from digitlab.errors import DigitlabError
from digitlab.evaluation.assess import assess
from digitlab.experiments.config import ExperimentConfig
from digitlab.experiments.runner import run
from digitlab.experiments.spec import RunSpec, as_config, resolve, spec_on_device, trains_on_mirror_images
from digitlab.experiments.store import open_storage, record_run
from digitlab.inference import load_network, predict_proba
from digitlab.models import CNNConfig, build, summary
from digitlab.models.registry import MODEL_NAMES, command_line_settings
from digitlab.presets import preset
from digitlab.presets import table as preset_table
from digitlab.training.checkpoint import has_checkpoint

app = typer.Typer(rich_markup_mode=None)
PERCENT = 100
FIGURE_DPI = 100
NOTEBOOK_MODELS = ("simple", "complex")  # what --notebook-faithful reproduces

ModelName = Enum("ModelName", {name: name for name in MODEL_NAMES}, type=str)  # the registry's models, nothing else
DEFAULT_MODEL = ModelName("mlp")


def _widths(values: list[str] | None, option: str) -> list[int] | None:
    """'--hidden 512,512', '--hidden "512 512"' or '--hidden 512 --hidden 512' -> [512, 512]."""
    if not values:
        return None
    parts = [part for value in values for part in value.replace(",", " ").split()]
    try:
        return [int(part) for part in parts]
    except ValueError:
        raise DigitlabError(f"{option} takes whole numbers such as 512,512; got {' '.join(values)!r}") from None


def _all_widths(ctx: typer.Context, hidden: list[str] | None, channels: list[str] | None) -> tuple[list[int] | None, list[int] | None]:
    """--hidden and --channels widths, also written as '--hidden 512 512' (click passes the second 512 as an extra argument)."""
    hidden_widths, channel_widths = _widths(hidden, "--hidden"), _widths(channels, "--channels")
    if ctx.args:
        if (hidden_widths is None) == (channel_widths is None):
            raise DigitlabError(f"unexpected arguments {' '.join(ctx.args)}; write widths with commas: --hidden 512,512")
        extra = _widths(ctx.args, "--hidden" if hidden_widths else "--channels")
        if hidden_widths:
            return hidden_widths + extra, None
        return None, channel_widths + extra
    return hidden_widths, channel_widths


def model_overrides(model: str, hidden: list[int] | None, activation: str | None, dropout: float | None,
                    channels: list[int] | None, notebook_faithful: bool, kernel_size: list[int] | None = None,
                    padding: str | None = None, test_time_mirror: bool | None = None,
                    test_time_shift: int | None = None) -> dict[str, Any]:
    """The model settings given on the command line (the course's output layer with ``notebook_faithful``)."""
    try:
        given = command_line_settings(model, hidden=hidden, activation=activation, dropout=dropout, channels=channels,
                                      kernel_size=kernel_size, padding=padding, test_time_mirror=test_time_mirror,
                                      test_time_shift=test_time_shift)
    except ValueError as error:
        raise DigitlabError(str(error)) from error
    return {**(preset(model, name="notebook").model if notebook_faithful else {}), **given}


def _test_time_views(spec: RunSpec) -> int:
    """How many views of an image the trained network scores (CNN test-time augmentation; 1 for the others)."""
    return len(CNNConfig(**spec.model_config).test_time_views) if spec.model == "cnn" else 1


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[stats]}"),
                    TimeElapsedColumn(), console=err_console)


def _run_training(spec: RunSpec, out: Path, resume: bool, data_dir, cache_dir, storage: str | None = None) -> None:  # noqa: ANN001
    config = spec.training()
    err_console.print(f"{spec.model} on {spec.dataset}: {config.describe()}"
                      + (f", answers from {views} views of each image" if (views := _test_time_views(spec)) > 1 else "")
                      + f", seed {config.seed}, on {spec.device}", highlight=False)
    with _progress() as progress:
        tasks: dict[int, Any] = {}

        def on_batch(info: dict[str, Any]) -> None:
            if info["epoch"] not in tasks:
                tasks[info["epoch"]] = progress.add_task(f"epoch {info['epoch']}/{config.epochs}", total=info["batches"], stats="")
            stats = f"loss {info['loss']:.4f}  acc {info['accuracy'] * PERCENT:5.2f}%  {info['samples_per_second']:,.0f} img/s"
            progress.update(tasks[info["epoch"]], completed=info["batch"], stats=stats)

        def on_epoch(record: dict[str, Any]) -> None:
            extra = f"  val {record['val_accuracy'] * PERCENT:.2f}%" if "val_accuracy" in record else ""
            progress.update(tasks[record["epoch"]], stats=f"loss {record['train_loss']:.4f}  train {record['train_accuracy'] * PERCENT:.2f}%"
                            f"{extra}  test {record['test_accuracy'] * PERCENT:.2f}%  ({record['seconds']:.1f} s)")

        result = run(spec, data_dir=data_dir, cache_dir=cache_dir, on_batch=on_batch, on_epoch=on_epoch, checkpoint_dir=out,
                     resume=resume)
    done, metrics = len(result["history"]), result["metrics"]
    if result["stopped"] == "interrupted":
        where = f"the checkpoint of epoch {done} is in {out}" if done else "no epoch was completed, so nothing was saved"
        err_console.print(f"[yellow]Stopped by Ctrl-C during epoch {done + 1}[/yellow]: {where}.")
        if done:
            err_console.print(f"Resume with: digitlab train --out {out} --resume")
        raise typer.Exit(130)  # the shell's code for 'ended by SIGINT'
    if result["stopped"] == "time_budget":
        err_console.print(f"Time budget of {config.time_budget:g} s spent during epoch {done}.")
    console.print(f"test accuracy {metrics['test_accuracy'] * PERCENT:.2f}% after {done} epochs, {metrics['train_seconds']:.1f} s of "
                  f"training on {result['environment']['device']} ({metrics['num_parameters']:,} parameters, "
                  f"{metrics['train_size']:,} training and {metrics['test_size']:,} test images)")
    stored = record_run(open_storage(storage), f"train@{spec.dataset}", as_config(spec).to_dict(), result)
    console.print(f"checkpoint: {out}    next: digitlab evaluate {out}")
    console.print(f"run {stored.id} in the store: digitlab runs show {stored.id}")


TRAIN_HELP = ("Train a network, showing a progress bar per epoch, and save a checkpoint after every epoch.\n\n"
              "Training options left out take the preset's value: the course's with --notebook-faithful, the augmented one with "
              "--augmented, else the recommended one for the model and dataset (digitlab.presets):\n\n\b\n" + "\n".join(preset_table()))


@app.command("train", context_settings={"allow_extra_args": True}, help=TRAIN_HELP)
def train_command(
    ctx: typer.Context,
    model: Annotated[ModelName, typer.Option("--model", "-m", help="Which network.")] = DEFAULT_MODEL,
    hidden: Annotated[list[str] | None, typer.Option("--hidden", help="Hidden widths: --hidden 512 512 (or 512,512).")] = None,
    activation: Annotated[str | None, typer.Option(help="MLP activation: relu, gelu, silu, leaky_relu, tanh, sigmoid.")] = None,
    dropout: Annotated[float | None, typer.Option(help="Dropout probability (mlp, cnn).")] = None,
    channels: Annotated[list[str] | None, typer.Option("--channels", help="CNN channels per block: --channels 16,32.")] = None,
    kernel_size: Annotated[str | None, typer.Option("--kernel-size", help="CNN kernel size, one for all blocks or one per block: 5,3.")] = None,
    padding: Annotated[str | None, typer.Option("--padding", help="CNN padding: valid (none, the default) or same.")] = None,
    test_time_mirror: Annotated[bool | None, typer.Option(
        "--test-time-mirror/--no-test-time-mirror",
        help="CNN: answer from each image and its left-right mirror (default: on for Fashion-MNIST, off for digits).")] = None,
    test_time_shift: Annotated[int | None, typer.Option(
        "--test-time-shift", help="CNN: also answer from copies moved N pixels left and right (Fashion-MNIST: 1; 0: none).")] = None,
    epochs: Annotated[int | None, typer.Option(help="Passes over the training set.")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Images per step.")] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Learning rate (the peak for onecycle).")] = None,
    optimizer: Annotated[str | None, typer.Option(help="adam, adamw, sgd or adadelta.")] = None,
    schedule: Annotated[str | None, typer.Option(help="none, linear, notebook-linear, onecycle, cosine or step.")] = None,
    warmup: Annotated[float | None, typer.Option("--warmup", help="onecycle: fraction of the steps rising to --lr (0 to 1).")] = None,
    weight_decay: Annotated[float | None, typer.Option("--weight-decay", help="L2 penalty.")] = None,
    label_smoothing: Annotated[float | None, typer.Option("--label-smoothing", help="0 to 1.")] = None,
    augment_shift: Annotated[int | None, typer.Option("--augment-shift", help="Shift images by up to N whole pixels.")] = None,
    augment: Annotated[str | None, typer.Option("--augment", help="Random changes per batch, comma separated: shift, rotate, "
                                                "scale, elastic, noise, invert, thickness, mirror (left-right: clothing, not digits); "
                                                "shifts up to 3 px, turns up to 15 degrees.")] = None,
    time_budget: Annotated[float | None, typer.Option("--time-budget", help="Stop after this many seconds of training.")] = None,
    notebook_faithful: Annotated[bool, typer.Option("--notebook-faithful", help="The course's exact setup: sigmoid/softmax "
                                                    "outputs into CrossEntropyLoss, Adam lr=0.01, batch 512 (simple, complex).")] = False,
    augmented: Annotated[bool, typer.Option("--augmented", help="The augmented setup (mlp, cnn): random shifts, turns and "
                                            "zooms every batch, more epochs, a wider CNN: the most accurate, slower.")] = False,
    dataset: DatasetOption = DEFAULT,
    limit: Annotated[int | None, typer.Option(help="Use only the first N training and N test images (quick runs).")] = None,
    validation: Annotated[int, typer.Option(help="Hold out N training images to measure validation accuracy.")] = 0,
    seed: SeedOption = 0,
    device: DeviceOption = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Checkpoint folder (default: runs/MODEL-DATASET).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the interrupted run saved in --out.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace a checkpoint already in --out.")] = False,
    storage: StorageOption = None,
    data_dir: DataDirOption = None,
    cache_dir: CacheDirOption = None,
) -> None:
    name = ModelName(model).value
    hidden_widths, channel_widths = _all_widths(ctx, hidden, channels)
    out = out or Path("runs") / f"{name}-{dataset.value}"
    if resume:
        saved = load_network(out) if has_checkpoint(out) else None
        if saved is None or saved.spec is None:
            raise DigitlabError(f"nothing to resume in {out}: no checkpoint of a digitlab train run there (start with digitlab train --out {out})")
        spec = spec_on_device(saved.spec, device)
        err_console.print(f"Resuming the run in {out} with its own settings; other options are ignored.")
        _run_training(spec, out, True, data_dir, cache_dir, storage)
        return
    if has_checkpoint(out) and not force:
        raise DigitlabError(f"{out} already holds a checkpoint: pass --resume to continue it, --force to replace it, or another --out")
    if notebook_faithful and name not in NOTEBOOK_MODELS:
        raise DigitlabError(f"--notebook-faithful reproduces the course's simple and complex networks, not {name}")
    if notebook_faithful and augmented:
        raise DigitlabError("--notebook-faithful and --augmented are two different setups: choose one")
    given = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "optimizer": optimizer, "schedule": schedule, "warmup": warmup,
             "weight_decay": weight_decay, "label_smoothing": label_smoothing, "augment_shift": augment_shift,
             "augment": augment, "time_budget": time_budget}
    config = ExperimentConfig(
        dataset=dataset.value, kind="network", model=name,
        preset="notebook" if notebook_faithful else "augmented" if augmented else "recommended",
        model_options=model_overrides(name, hidden_widths, activation, dropout, channel_widths, notebook_faithful=False,
                                      kernel_size=_widths([kernel_size] if kernel_size else None, "--kernel-size"), padding=padding,
                                      test_time_mirror=test_time_mirror, test_time_shift=test_time_shift),
        train_options={key: value for key, value in given.items() if value is not None},
        train_limit=limit, test_limit=limit, validation_size=validation, seed=seed)
    spec = resolve(config, device)  # bad settings fail here, before anything is written
    if not spec.trains:
        raise DigitlabError("--epochs must be at least 1")
    if spec.model_config.get("test_time_mirror") and not trains_on_mirror_images(spec.train_config):
        err_console.print("note: this CNN answers from mirror images too but trains without them (an --augment without "
                          "mirror): add mirror to --augment, or pass --no-test-time-mirror")
    _run_training(spec, out, False, data_dir, cache_dir, storage)


@app.command("evaluate")
def evaluate_command(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint folder written by digitlab train.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for the figures (default: CHECKPOINT/evaluation).")] = None,
    limit: Annotated[int | None, typer.Option(help="Evaluate on the first N test images only.")] = None,
    data_dir: DataDirOption = None,
    cache_dir: CacheDirOption = None,
) -> None:
    """Accuracy (micro and macro), per-class report, and figures: curves, confusion, galleries, worst mistakes."""
    saved = load_network(checkpoint)
    if saved.dataset is None:
        raise DigitlabError(f"checkpoint {checkpoint} does not say which dataset it was trained on")
    test = load(saved.dataset, data_dir=data_dir, cache_dir=cache_dir).test.head(limit)
    classes = saved.classes
    result = assess(predict_proba(saved.model, test.images), test, classes, f"{saved.model_name} on {saved.dataset}", saved.history)
    console.print(f"{saved.model_name} on {saved.dataset} test ({result.test_images:,} images)")
    console.print(f"accuracy        {result.accuracy * PERCENT:.2f}%  (micro: the fraction of all test images classified correctly)")
    console.print(f"macro accuracy  {result.macro_accuracy * PERCENT:.2f}%  (the mean of the per-class accuracies: what the notebook's "
                  f"MulticlassAccuracy(num_classes={len(classes)}) reports by default)")
    table = Table("class", "precision", "recall", "f1", "support")
    for index, name in enumerate(classes):
        table.add_row(name, *(f"{result.report[key][index]:.3f}" for key in ("precision", "recall", "f1")), str(result.report["support"][index]))
    console.print(table)
    out = out or Path(checkpoint) / "evaluation"
    for file_name, figure in result.figures.items():
        save_figure(figure, out / file_name, dpi=FIGURE_DPI)
    atomic_write_text(out / "evaluation.json", json.dumps(result.metrics(), indent=2) + "\n")
    console.print(f"figures and evaluation.json in {out}: {', '.join(sorted(result.figures))}")


def read_image(path: Path, dataset: str | None) -> torch.Tensor:
    """A picture file -> uint8 image prepared like ``dataset``'s training data (digitlab.preprocess)."""
    from digitlab.preprocess import prepare_for, read_image_file

    data = read_image_file(path)  # a regular file of bounded size: never /dev/zero until memory runs out
    try:
        prepared = prepare_for(data, dataset or DEFAULT_DATASET)  # checkpoints without a dataset are MNIST runs
    except DigitlabError as error:
        raise DigitlabError(f"{path}: {error}") from error
    return torch.from_numpy(prepared.image)


def _label(classes: tuple[str, ...], index) -> str:  # noqa: ANN001 (a tensor index)
    """The class name of an output; its number when the checkpoint names fewer classes than outputs."""
    return classes[int(index)] if int(index) < len(classes) else str(int(index))


@app.command("predict")
def predict_command(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint folder written by digitlab train.")],
    images: Annotated[list[Path], typer.Argument(help="Image files (PNG, JPEG, ...): one digit or garment each.")],
    top: Annotated[int, typer.Option(min=1, help="How many classes to list per image.")] = 3,
) -> None:
    """Classify image files with a trained network."""
    saved = load_network(checkpoint)
    probabilities = predict_proba(saved.model, torch.stack([read_image(path, saved.dataset) for path in images]))  # (N, classes)
    table = Table("image", "predicted", "probability", f"top {top}")
    for path, row in zip(images, probabilities, strict=True):
        best = row.topk(min(top, len(row)))
        ranked = ", ".join(f"{_label(saved.classes, i)} {float(p) * PERCENT:.1f}%" for p, i in zip(best.values, best.indices, strict=True))
        table.add_row(str(path), _label(saved.classes, best.indices[0]), f"{float(best.values[0]) * PERCENT:.1f}%", ranked)
    console.print(table)


@app.command("summary", context_settings={"allow_extra_args": True})
def summary_command(
    ctx: typer.Context,
    model: Annotated[ModelName, typer.Argument(help=", ".join(MODEL_NAMES) + ".")],
    hidden: Annotated[list[str] | None, typer.Option("--hidden", help="Hidden widths: --hidden 512,512.")] = None,
    activation: Annotated[str | None, typer.Option(help="MLP activation.")] = None,
    dropout: Annotated[float | None, typer.Option(help="Dropout probability.")] = None,
    channels: Annotated[list[str] | None, typer.Option("--channels", help="CNN channels per block: --channels 16,32.")] = None,
    kernel_size: Annotated[str | None, typer.Option("--kernel-size", help="CNN kernel size(s): 3, or 5,3 per block.")] = None,
    padding: Annotated[str | None, typer.Option("--padding", help="CNN padding: valid or same.")] = None,
    notebook_faithful: Annotated[bool, typer.Option("--notebook-faithful", help="The course's output layer.")] = False,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Also show output shapes for a batch this big.")] = None,
) -> None:
    """The torchinfo table of a network (the notebook prints the same for SimpleNetwork and ComplexNetwork)."""
    hidden_widths, channel_widths = _all_widths(ctx, hidden, channels)
    name = ModelName(model).value
    overrides = model_overrides(name, hidden_widths, activation, dropout, channel_widths, notebook_faithful,
                                kernel_size=_widths([kernel_size] if kernel_size else None, "--kernel-size"), padding=padding)
    console.print(summary(build(name, **overrides), batch_size=batch_size), highlight=False)
