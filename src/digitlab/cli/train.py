"""``digitlab train | evaluate | predict | summary``: the neural networks of Part I (and a CNN).

Each command parses its options, calls the library (digitlab.models, .training, .evaluation)
and prints or writes what comes back. Registered in main.py with ``app.add_typer(train.app)``.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import torch
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from digitlab.atomic import atomic_write_bytes, atomic_write_text
from digitlab.cli.common import CacheDirOption, DataDirOption, DatasetName, DatasetOption, SeedOption, console, err_console
from digitlab.datasets import load, train_validation_split
from digitlab.errors import DigitlabError
from digitlab.models import build, notebook_overrides, summary
from digitlab.training import TrainConfig, load_checkpoint, notebook, predict_proba, recommended, seed_everything, train
from digitlab.training.checkpoint import has_checkpoint

app = typer.Typer(rich_markup_mode=None)
RUN_FILE = "run.json"  # the command-line settings of a run, so that --resume can rebuild it
GALLERY_SIZE = 9  # a 3x3 grid, as in the notebook
PERCENT = 100


class ModelName(str, Enum):
    simple = "simple"
    complex = "complex"
    mlp = "mlp"
    cnn = "cnn"


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
                    channels: list[int] | None, notebook_faithful: bool) -> dict[str, Any]:
    """The model settings given on the command line, checked against what ``model`` has."""
    overrides: dict[str, Any] = notebook_overrides(model) if notebook_faithful else {}
    given = {"--hidden": hidden, "--activation": activation, "--dropout": dropout, "--channels": channels}
    allowed = {"simple": set(), "complex": {"--hidden"}, "mlp": {"--hidden", "--activation", "--dropout"},
               "cnn": {"--hidden", "--dropout", "--channels"}}[model]
    wrong = [name for name, value in given.items() if value is not None and name not in allowed]
    if wrong:
        raise DigitlabError(f"{', '.join(wrong)} does not apply to --model {model} (it takes {', '.join(sorted(allowed)) or 'no such options'})")
    if hidden is not None:
        if model == "complex":
            if len(set(hidden)) != 1:
                raise DigitlabError(f"ComplexNetwork has two equally wide hidden layers: give one width, not {hidden}")
            overrides["hidden_size"] = hidden[0]
        elif model == "cnn":
            if len(hidden) != 1:
                raise DigitlabError(f"the CNN has one hidden fully connected layer: give one width (0 for none), not {hidden}")
            overrides["hidden"] = hidden[0]
        else:
            overrides["hidden"] = hidden
    for key, value in (("activation", activation), ("dropout", dropout), ("channels", channels)):
        if value is not None:
            overrides[key] = value
    return overrides


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[stats]}"),
                    TimeElapsedColumn(), console=err_console)


def _run_training(run: dict[str, Any], out: Path, device: str | None, resume: bool, data_dir, cache_dir) -> None:
    dataset = load(run["dataset"], data_dir=data_dir, cache_dir=cache_dir).limit(train=run["limit"], test=run["limit"])
    validation = None
    if run["validation"]:
        train_split, validation = train_validation_split(dataset.train, run["validation"], seed=run["train_config"]["seed"])
        dataset = replace(dataset, train=train_split)
    config = TrainConfig.from_dict(run["train_config"])
    seed_everything(config.seed)  # the same seed draws the same initial weights
    model = build(run["model"], **run["model_config"])
    err_console.print(f"{run['model']} ({model.num_parameters():,} parameters) on {dataset.name}: {len(dataset.train):,} training, "
                      f"{len(dataset.test):,} test images; {config.epochs} epochs of batch {config.batch_size}, "
                      f"{config.optimizer} lr={config.lr:g}, schedule {config.schedule}" + (", notebook-faithful" if config.notebook_faithful else ""))
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

        result = train(model, dataset, config, device=device, validation=validation, on_batch=on_batch, on_epoch=on_epoch,
                       checkpoint_dir=out, resume=resume)
    done = len(result.history)
    if result.interrupted:
        where = f"the checkpoint of epoch {done} is in {out}" if done else "no epoch was completed, so nothing was saved"
        err_console.print(f"[yellow]Stopped by Ctrl-C during epoch {done + 1}[/yellow]: {where}.")
        if done:
            err_console.print(f"Resume with: digitlab train --out {out} --resume")
        raise typer.Exit(130)  # the shell's code for 'ended by SIGINT'
    if result.stopped == "time_budget":
        err_console.print(f"Time budget of {config.time_budget:g} s spent during epoch {done}.")
    console.print(f"test accuracy {result.test_accuracy * PERCENT:.2f}% after {done} epochs, {result.train_seconds:.1f} s of training "
                  f"on {result.device}")
    console.print(f"checkpoint: {out}    next: digitlab evaluate {out}")


@app.command("train", context_settings={"allow_extra_args": True})
def train_command(
    ctx: typer.Context,
    model: Annotated[ModelName, typer.Option("--model", "-m", help="Which network.")] = ModelName.mlp,
    hidden: Annotated[list[str] | None, typer.Option("--hidden", help="Hidden widths: --hidden 512 512 (or 512,512).")] = None,
    activation: Annotated[str | None, typer.Option(help="MLP activation: relu, gelu, silu, leaky_relu, tanh, sigmoid.")] = None,
    dropout: Annotated[float | None, typer.Option(help="Dropout probability (mlp, cnn).")] = None,
    channels: Annotated[list[str] | None, typer.Option("--channels", help="CNN channels per block: --channels 32,64.")] = None,
    epochs: Annotated[int | None, typer.Option(help="Passes over the training set.")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Images per step.")] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Learning rate (the peak for onecycle).")] = None,
    optimizer: Annotated[str | None, typer.Option(help="adam, adamw, sgd or adadelta.")] = None,
    schedule: Annotated[str | None, typer.Option(help="none, linear, notebook-linear, onecycle, cosine or step.")] = None,
    weight_decay: Annotated[float | None, typer.Option("--weight-decay", help="L2 penalty.")] = None,
    label_smoothing: Annotated[float | None, typer.Option("--label-smoothing", help="0 to 1.")] = None,
    augment_shift: Annotated[int | None, typer.Option("--augment-shift", help="Shift images by up to N whole pixels.")] = None,
    augment: Annotated[str | None, typer.Option("--augment", help="Random changes per batch, comma separated: shift, rotate, "
                                                "scale, elastic, noise, invert (shifts up to 3 px, turns up to 15 degrees).")] = None,
    time_budget: Annotated[float | None, typer.Option("--time-budget", help="Stop after this many seconds of training.")] = None,
    notebook_faithful: Annotated[bool, typer.Option("--notebook-faithful", help="The course's exact setup: sigmoid/softmax "
                                                    "outputs into CrossEntropyLoss, Adam lr=0.01, batch 512 (simple, complex).")] = False,
    dataset: DatasetOption = DatasetName.mnist,
    limit: Annotated[int | None, typer.Option(help="Use only the first N training and N test images (quick runs).")] = None,
    validation: Annotated[int, typer.Option(help="Hold out N training images to measure validation accuracy.")] = 0,
    seed: SeedOption = 0,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda, cuda:N or mps (auto: CUDA, then MPS, then CPU).")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Checkpoint folder (default: runs/MODEL-DATASET).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the interrupted run saved in --out.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace a checkpoint already in --out.")] = False,
    data_dir: DataDirOption = None,
    cache_dir: CacheDirOption = None,
) -> None:
    """Train a network, showing a progress bar per epoch, and save a checkpoint after every epoch."""
    name = model.value
    hidden_widths, channel_widths = _all_widths(ctx, hidden, channels)
    out = out or Path("runs") / f"{name}-{dataset.value}"
    if resume:
        if not (out / RUN_FILE).is_file():
            raise DigitlabError(f"nothing to resume in {out}: no {RUN_FILE} there (start with digitlab train --out {out})")
        run = json.loads((out / RUN_FILE).read_text(encoding="utf-8"))
        err_console.print(f"Resuming the run in {out} with its own settings; other options are ignored.")
        _run_training(run, out, device, True, data_dir, cache_dir)
        return
    if has_checkpoint(out) and not force:
        raise DigitlabError(f"{out} already holds a checkpoint: pass --resume to continue it, --force to replace it, or another --out")
    if notebook_faithful and name not in ("simple", "complex"):
        raise DigitlabError(f"--notebook-faithful reproduces the course's simple and complex networks, not {name}")
    given = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "optimizer": optimizer, "schedule": schedule,
             "weight_decay": weight_decay, "label_smoothing": label_smoothing, "augment_shift": augment_shift,
             "augment": augment, "time_budget": time_budget, "seed": seed}
    given = {key: value for key, value in given.items() if value is not None}
    config = notebook(name, **given) if notebook_faithful else recommended(name, dataset.value, **given)
    run = {"model": name, "model_config": model_overrides(name, hidden_widths, activation, dropout, channel_widths, notebook_faithful),
           "train_config": config.to_dict(), "dataset": dataset.value, "limit": limit, "validation": validation}
    build(name, **run["model_config"])  # fail on bad model settings before anything is written
    atomic_write_text(out / RUN_FILE, json.dumps(run, indent=2) + "\n")
    _run_training(run, out, device, False, data_dir, cache_dir)



def _save_figure(figure, path: Path) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    atomic_write_bytes(path, buffer.getvalue())


@app.command("evaluate")
def evaluate_command(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint folder written by digitlab train.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for the figures (default: CHECKPOINT/evaluation).")] = None,
    limit: Annotated[int | None, typer.Option(help="Evaluate on the first N test images only.")] = None,
    data_dir: DataDirOption = None,
    cache_dir: CacheDirOption = None,
) -> None:
    """Accuracy (micro and macro), per-class report, and figures: curves, confusion, galleries, worst mistakes."""
    from digitlab.evaluation import (classification_report, confusion_figure, confusion_matrix, correct_and_incorrect,
                                     gallery_figure, history_figure, macro_accuracy, most_confident_mistakes)
    from digitlab.evaluation import accuracy as micro_accuracy

    saved = load_checkpoint(checkpoint)
    if saved.dataset is None:
        raise DigitlabError(f"checkpoint {checkpoint} does not say which dataset it was trained on")
    test = load(saved.dataset, data_dir=data_dir, cache_dir=cache_dir).test.head(limit)
    classes, labels = saved.classes, test.labels
    probabilities = predict_proba(saved.model, test.images)  # (N, classes)
    predicted = probabilities.argmax(dim=1)
    report = classification_report(predicted, labels, len(classes))
    micro, macro = micro_accuracy(predicted, labels), macro_accuracy(predicted, labels, len(classes))
    console.print(f"{saved.model_name} on {saved.dataset} test ({len(labels):,} images)")
    console.print(f"accuracy        {micro * PERCENT:.2f}%  (micro: the fraction of all test images classified correctly)")
    console.print(f"macro accuracy  {macro * PERCENT:.2f}%  (the mean of the per-class accuracies: what the notebook's "
                  f"MulticlassAccuracy(num_classes={len(classes)}) reports by default)")
    table = Table("class", "precision", "recall", "f1", "support")
    for index, name in enumerate(classes):
        table.add_row(name, *(f"{report[key][index]:.3f}" for key in ("precision", "recall", "f1")), str(report["support"][index]))
    console.print(table)

    out = out or Path(checkpoint) / "evaluation"
    right, wrong = correct_and_incorrect(predicted, labels)
    mistakes = most_confident_mistakes(probabilities, labels, GALLERY_SIZE)
    title = f"{saved.model_name} on {saved.dataset}"
    figures = {
        "confusion.png": confusion_figure(confusion_matrix(predicted, labels, len(classes)), classes, f"{title}: confusion matrix"),
        "correct.png": gallery_figure(test.images, predicted, labels, classes, right[:GALLERY_SIZE], "correctly predicted"),
        "incorrect.png": gallery_figure(test.images, predicted, labels, classes, wrong[:GALLERY_SIZE], "incorrectly predicted"),
        "mistakes.png": gallery_figure(test.images, predicted, labels, classes, mistakes, "most confident mistakes"),
    }
    if saved.history:
        figures["curves.png"] = history_figure(saved.history)
    for file_name, figure in figures.items():
        _save_figure(figure, out / file_name)
    metrics = {"accuracy": micro, "macro_accuracy": macro, "test_images": len(labels), "report": report}
    atomic_write_text(out / "evaluation.json", json.dumps(metrics, indent=2) + "\n")
    console.print(f"figures and evaluation.json in {out}: {', '.join(sorted(figures))}")


def read_image(path: Path, dataset: str | None) -> torch.Tensor:
    """A picture file -> (28, 28) uint8 prepared like the training data (digitlab.preprocess)."""
    from digitlab.preprocess import DIGIT_BOX, FIT_SIZES, preprocess_image, read_image_file

    data = read_image_file(path)  # a regular file of bounded size: never /dev/zero until memory runs out
    try:
        prepared = preprocess_image(data, fit_size=FIT_SIZES.get(dataset or "", DIGIT_BOX))
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
    saved = load_checkpoint(checkpoint)
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
    model: Annotated[ModelName, typer.Argument(help="simple, complex, mlp or cnn.")],
    hidden: Annotated[list[str] | None, typer.Option("--hidden", help="Hidden widths: --hidden 512,512.")] = None,
    activation: Annotated[str | None, typer.Option(help="MLP activation.")] = None,
    dropout: Annotated[float | None, typer.Option(help="Dropout probability.")] = None,
    channels: Annotated[list[str] | None, typer.Option("--channels", help="CNN channels per block: --channels 32,64.")] = None,
    notebook_faithful: Annotated[bool, typer.Option("--notebook-faithful", help="The course's output layer.")] = False,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Also show output shapes for a batch this big.")] = None,
) -> None:
    """The torchinfo table of a network (the notebook prints the same for SimpleNetwork and ComplexNetwork)."""
    hidden_widths, channel_widths = _all_widths(ctx, hidden, channels)
    overrides = model_overrides(model.value, hidden_widths, activation, dropout, channel_widths, notebook_faithful)
    console.print(summary(build(model.value, **overrides), batch_size=batch_size), highlight=False)
