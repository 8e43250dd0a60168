"""``digitlab train | evaluate | summary``: the neural networks of Part I (and a CNN).

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

import typer
from rich.table import Table

from digitlab.atomic import atomic_write_text
from digitlab.cli.common import (
    DEFAULT,
    OUTPUT_ROOT,
    CacheDirOption,
    DataDirOption,
    DatasetOption,
    DeviceOption,
    LangOption,
    SeedOption,
    StorageOption,
    check_augment,
    command_line_settings,
    console,
    err_console,
    model_default,
    out_option,
    preset_default,
    save_figure,
    under,
    writable_folder,
)
from digitlab.cli.progress import Eta, progress_bar
from digitlab.datasets import load
from digitlab.errors import DigitlabError
from digitlab.evaluation.assess import assess
from digitlab.experiments.runner import check_network_size, run
from digitlab.experiments.spec import ExperimentConfig, RunSpec, resolve, spec_on_device, trains_on_mirror_images
from digitlab.experiments.store import open_storage
from digitlab.i18n import class_names, dataset_language, speaking
from digitlab.images import AUGMENT_KINDS
from digitlab.inference import has_checkpoint, load_network, predict_proba
from digitlab.models import CNNConfig, build, summary
from digitlab.models.registry import MODEL_NAMES
from digitlab.presets import model_changes, preset
from digitlab.presets import table as preset_table

app = typer.Typer(rich_markup_mode=None)
PERCENT = 100
FIGURE_DPI = 100
NOTEBOOK_MODELS = ("simple", "complex")  # what --notebook-faithful reproduces
NONE = "none"  # --hidden-sizes none: no hidden layer (a linear MLP, a CNN without its fully connected layer)

ModelName = Enum("ModelName", {name: name for name in MODEL_NAMES}, type=str)  # the registry's models, nothing else
DEFAULT_MODEL = ModelName("mlp")


# The network's options, shared by train and summary; the defaults shown are each model's own.
HiddenSizesOption = Annotated[list[str] | None, typer.Option(
    "--hidden-sizes", help="Widths of the hidden (fully connected) layers: --hidden-sizes 512,512 (or 512 512; none for no "
    "hidden layer).", show_default=model_default("--hidden-sizes"))]
ActivationOption = Annotated[str | None, typer.Option(help="MLP activation: relu, gelu, silu, leaky_relu, tanh, sigmoid.",
                                                      show_default=model_default("--activation"))]
DropoutOption = Annotated[float | None, typer.Option(help="Dropout probability (mlp, cnn).", show_default=model_default("--dropout"))]
ChannelsOption = Annotated[list[str] | None, typer.Option("--channels", help="CNN channels per block: --channels 16,32.",
                                                          show_default=model_default("--channels"))]
KernelSizeOption = Annotated[str | None, typer.Option("--kernel-size", help="CNN kernel size, one for all blocks or one per block: 5,3.",
                                                      show_default=model_default("--kernel-size"))]
PaddingOption = Annotated[str | None, typer.Option("--padding", help="CNN padding: valid (none) or same.",
                                                   show_default=model_default("--padding"))]


def _widths(values: list[str] | None, option: str) -> list[int] | None:
    """'--hidden-sizes 512,512', '--hidden-sizes "512 512"' or '--hidden-sizes 512 --hidden-sizes 512' -> [512, 512];
    'none' -> [] (no hidden layer)."""
    if not values:
        return None
    parts = [part for value in values for part in value.replace(",", " ").split()]
    if [part.lower() for part in parts] == [NONE]:
        return []
    try:
        return [int(part) for part in parts]
    except ValueError:
        raise DigitlabError(f"{option} takes whole numbers such as 512,512; got {' '.join(values)!r}") from None


def _all_widths(ctx: typer.Context, hidden: list[str] | None, channels: list[str] | None) -> tuple[list[int] | None, list[int] | None]:
    """--hidden-sizes and --channels widths, also written as '--hidden-sizes 512 512' (click passes the second 512 as an extra
    argument)."""
    hidden_widths, channel_widths = _widths(hidden, "--hidden-sizes"), _widths(channels, "--channels")
    if ctx.args:
        if (hidden_widths is None) == (channel_widths is None):
            raise DigitlabError(f"unexpected arguments {' '.join(ctx.args)}; write widths with commas: --hidden-sizes 512,512")
        extra = _widths(ctx.args, "--hidden-sizes" if hidden_widths else "--channels")
        if hidden_widths:
            return hidden_widths + extra, None
        return None, channel_widths + extra
    return hidden_widths, channel_widths


def model_overrides(model: str, notebook_faithful: bool, **given: Any) -> dict[str, Any]:
    """The model settings given on the command line ({field: value}, None: not given), and the course's output layer
    with ``notebook_faithful``."""
    settings = command_line_settings(model, given)
    return {**(model_changes(preset(model, name="notebook").model_config) if notebook_faithful else {}), **settings}


def _test_time_views(spec: RunSpec) -> int:
    """How many views of an image the trained network scores (CNN test-time augmentation; 1 for the others)."""
    return len(spec.model_config.test_time_views) if isinstance(spec.model_config, CNNConfig) else 1


def _header(spec: RunSpec) -> str:
    """Every training setting that changes the result, in one line."""
    config = spec.training()
    return (f"{spec.model} on {spec.dataset}: {config.describe()}"
            + (f", answers from {views} views of each image" if (views := _test_time_views(spec)) > 1 else "")
            + f", seed {config.seed}, on {spec.device}")


def _run_training(spec: RunSpec, out: Path, resume: bool, data_dir, cache_dir, storage: str | None = None) -> None:  # noqa: ANN001
    config = spec.training()
    err_console.print(_header(spec), highlight=False)
    eta = Eta(config.epochs)
    with progress_bar(err_console, stats=True) as progress:
        tasks: dict[int, Any] = {}

        def on_batch(info: dict[str, Any]) -> None:
            if info["epoch"] not in tasks:
                tasks[info["epoch"]] = progress.add_task(f"epoch {info['epoch']}/{config.epochs}", total=info["batches"], stats="")
            stats = f"loss {info['loss']:.4f}  acc {info['accuracy'] * PERCENT:5.2f}%"
            progress.update(tasks[info["epoch"]], completed=info["batch"], stats=stats)

        def on_epoch(record: dict[str, Any]) -> None:  # one plain line per epoch, on a terminal and in a log alike
            extra = f"  val {record['val_accuracy'] * PERCENT:.2f}%" if "val_accuracy" in record else ""
            progress.update(tasks[record["epoch"]], visible=False)
            progress.console.print(f"epoch {record['epoch']}/{config.epochs}  loss {record['train_loss']:.4f}  "
                                   f"train {record['train_accuracy'] * PERCENT:.2f}%{extra}  test {record['test_accuracy'] * PERCENT:.2f}%  "
                                   f"{record['seconds']:.1f} s  {eta.after(record['epoch'])}", highlight=False)

        result = run(spec, data_dir=data_dir, cache_dir=cache_dir, on_batch=on_batch, on_epoch=on_epoch, checkpoint_dir=out,
                     resume=resume, store=open_storage(storage))
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
    console.print(f"checkpoint: {out}    next: digitlab evaluate {out}")
    console.print(f"run {result['stored_run']} in the store: digitlab runs show {result['stored_run']}")


TRAIN_HELP = ("Train a network, showing a progress bar per epoch, and save a checkpoint after every epoch.\n\n"
              "The defaults shown are the recommended preset of each model on MNIST; --augmented and --notebook-faithful choose "
              "the other presets, and Fashion-MNIST changes a few (the training's first line prints every setting). "
              "The presets (digitlab.presets):\n\n\b\n" + "\n".join(preset_table()))


@app.command("train", context_settings={"allow_extra_args": True}, help=TRAIN_HELP)
def train_command(
    ctx: typer.Context,
    model: Annotated[ModelName, typer.Option("--model", "-m", help="Which network.")] = DEFAULT_MODEL,
    hidden_sizes: HiddenSizesOption = None,
    activation: ActivationOption = None,
    dropout: DropoutOption = None,
    channels: ChannelsOption = None,
    kernel_size: KernelSizeOption = None,
    padding: PaddingOption = None,
    test_time_mirror: Annotated[bool | None, typer.Option(
        "--test-time-mirror/--no-test-time-mirror", help="CNN: answer from each image and its left-right mirror.",
        show_default="on for Fashion-MNIST, off for digits")] = None,
    test_time_shift: Annotated[int | None, typer.Option(
        "--test-time-shift", help="CNN: also answer from copies moved N pixels left and right (0: none).",
        show_default="1 for Fashion-MNIST, 0 for digits")] = None,
    epochs: Annotated[int | None, typer.Option(help="Passes over the training set.", show_default=preset_default("epochs"))] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Images per step.", show_default=preset_default("batch_size"))] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Learning rate (the peak for onecycle).", show_default=preset_default("lr"))] = None,
    optimizer: Annotated[str | None, typer.Option(help="adam, adamw, sgd or adadelta.", show_default=preset_default("optimizer"))] = None,
    schedule: Annotated[str | None, typer.Option(help="none, linear, notebook-linear, onecycle, cosine or step.",
                                                 show_default=preset_default("schedule"))] = None,
    warmup: Annotated[float | None, typer.Option("--warmup", help="onecycle: fraction of the steps rising to --lr (0 to 1).",
                                                 show_default=preset_default("warmup"))] = None,
    weight_decay: Annotated[float | None, typer.Option("--weight-decay", help="L2 penalty.", show_default=preset_default("weight_decay"))] = None,
    label_smoothing: Annotated[float | None, typer.Option("--label-smoothing", help="0 to 1.",
                                                          show_default=preset_default("label_smoothing"))] = None,
    augment: Annotated[str | None, typer.Option("--augment", help="Random changes per batch, comma separated: " + ", ".join(AUGMENT_KINDS)
                                                + " (mirror: left-right, for clothing, not digits); turns up to 15 degrees.",
                                                show_default=preset_default("augment"))] = None,
    augment_max_shift: Annotated[float | None, typer.Option(
        "--augment-max-shift", help="shift: move images up to this many pixels each way (whole pixels when shift is the only "
        "change of position or shape, else within the one resampling).", show_default=preset_default("augment_max_shift"))] = None,
    time_budget: Annotated[float | None, typer.Option("--time-budget", help="Stop after this many seconds of training.",
                                                      show_default="no limit")] = None,
    notebook_faithful: Annotated[bool, typer.Option("--notebook-faithful", help="The course's exact setup: sigmoid/softmax "
                                                    "outputs into CrossEntropyLoss, Adam lr=0.01, batch 512 (simple, complex).")] = False,
    augmented: Annotated[bool, typer.Option("--augmented", help="The augmented setup (mlp, cnn): random shifts, turns and "
                                            "zooms every batch, more epochs, a wider CNN: the most accurate, slower.")] = False,
    dataset: DatasetOption = DEFAULT,
    limit: Annotated[int | None, typer.Option(help="Use only the first N training and N test images (quick runs).", show_default="all")] = None,
    validation_size: Annotated[int, typer.Option("--validation-size", help="Hold out N training images to measure validation "
                                                 "accuracy.")] = 0,
    seed: SeedOption = 0,
    device: DeviceOption = None,
    out: Annotated[Path | None, out_option("Checkpoint folder.", default_text=f"{OUTPUT_ROOT}/MODEL-DATASET")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the interrupted run saved in --out.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace a checkpoint already in --out.")] = False,
    storage: StorageOption = None,
    data_dir: DataDirOption = None,
    cache_dir: CacheDirOption = None,
) -> None:
    name = ModelName(model).value
    hidden_widths, channel_widths = _all_widths(ctx, hidden_sizes, channels)
    out = out or writable_folder(under(f"{name}-{dataset.value}"))
    if resume:
        saved = load_network(out) if has_checkpoint(out) else None
        if saved is None:
            raise DigitlabError(f"nothing to resume in {out}: no checkpoint of a digitlab train run there "
                                f"(start with digitlab train --out {out})")
        spec = spec_on_device(saved.spec, device)
        err_console.print(f"Resuming the run in {out} with its own settings; other options are ignored.")
        _run_training(spec, out, True, data_dir, cache_dir, storage)
        return
    if has_checkpoint(out) and not force:
        raise DigitlabError(f"{out} already holds a checkpoint: pass --resume to continue it, --force to replace it, or another --out")
    if augment is not None:
        check_augment(augment)  # before the settings are resolved and printed
    if notebook_faithful and name not in NOTEBOOK_MODELS:
        raise DigitlabError(f"--notebook-faithful reproduces the course's simple and complex networks, not {name}")
    if notebook_faithful and augmented:
        raise DigitlabError("--notebook-faithful and --augmented are two different setups: choose one")
    given = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "optimizer": optimizer, "schedule": schedule, "warmup": warmup,
             "weight_decay": weight_decay, "label_smoothing": label_smoothing, "augment": augment,
             "augment_max_shift": augment_max_shift, "time_budget": time_budget}
    config = ExperimentConfig(
        dataset=dataset.value, kind="network", model=name,
        preset="notebook" if notebook_faithful else "augmented" if augmented else "recommended",
        model_config=model_overrides(name, False, hidden_sizes=hidden_widths, activation=activation, dropout=dropout,
                                     channels=channel_widths, kernel_size=_widths([kernel_size] if kernel_size else None, "--kernel-size"),
                                     padding=padding, test_time_mirror=test_time_mirror, test_time_shift=test_time_shift),
        train_config={key: value for key, value in given.items() if value is not None},
        train_limit=limit, test_limit=limit, validation_size=validation_size, seed=seed)
    spec = resolve(config, device)  # bad settings fail here, before anything is written
    if not spec.trains:
        raise DigitlabError("--epochs must be at least 1")
    check_network_size(spec)  # before the settings are printed (run() checks again for every other caller)
    if getattr(spec.model_config, "test_time_mirror", False) and not trains_on_mirror_images(spec.training()):
        err_console.print("note: this CNN answers from mirror images too but trains without them (an --augment without "
                          "mirror): add mirror to --augment, or pass --no-test-time-mirror")
    _run_training(spec, out, False, data_dir, cache_dir, storage)


@app.command("evaluate")
def evaluate_command(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint folder written by digitlab train.")],
    out: Annotated[Path | None, out_option("Folder for the figures.", default_text="CHECKPOINT/evaluation")] = None,
    test_limit: Annotated[int | None, typer.Option("--test-limit", min=1, help="Evaluate on the first N test images only.",
                                                   show_default="all")] = None,
    data_dir: DataDirOption = None,
    cache_dir: CacheDirOption = None,
    lang: LangOption = None,
) -> None:
    """Accuracy (micro and macro), per-class report, and figures: curves, confusion, galleries, worst mistakes."""
    saved = load_network(checkpoint)
    out = out or writable_folder(Path(checkpoint) / "evaluation")
    if saved.dataset is None:
        raise DigitlabError(f"checkpoint {checkpoint} does not say which dataset it was trained on")
    test = load(saved.dataset, data_dir=data_dir, cache_dir=cache_dir).test.head(test_limit)
    classes = saved.classes
    with speaking(dataset_language(saved.dataset, lang)) as tr:  # the figures' words; the printed text stays English
        title = tr("figure.model_on_dataset", model=saved.model_name, dataset=saved.dataset)
        result = assess(predict_proba(saved.model, test.images), test, class_names(saved.dataset, classes), title, saved.history)
    console.print(f"{saved.model_name} on {saved.dataset} test ({result.test_images:,} images)")
    console.print(f"accuracy        {result.accuracy * PERCENT:.2f}%  (micro: the fraction of all test images classified correctly)")
    console.print(f"macro accuracy  {result.macro_accuracy * PERCENT:.2f}%  (the mean of the per-class accuracies: what the notebook's "
                  f"MulticlassAccuracy(num_classes={len(classes)}) reports by default)")
    table = Table("class", "precision", "recall", "f1", "support")
    for index, name in enumerate(classes):
        table.add_row(name, *(f"{result.report[key][index]:.3f}" for key in ("precision", "recall", "f1")), str(result.report["support"][index]))
    console.print(table)
    for file_name, figure in result.figures.items():
        save_figure(figure, out / file_name, dpi=FIGURE_DPI)
    atomic_write_text(out / "evaluation.json", json.dumps(result.metrics(), indent=2) + "\n")
    console.print(f"figures and evaluation.json in {out}: {', '.join(sorted(result.figures))}")


@app.command("summary", context_settings={"allow_extra_args": True})
def summary_command(
    ctx: typer.Context,
    model: Annotated[ModelName, typer.Argument(help=", ".join(MODEL_NAMES) + ".")],
    hidden_sizes: HiddenSizesOption = None,
    activation: ActivationOption = None,
    dropout: DropoutOption = None,
    channels: ChannelsOption = None,
    kernel_size: KernelSizeOption = None,
    padding: PaddingOption = None,
    notebook_faithful: Annotated[bool, typer.Option("--notebook-faithful", help="The course's output layer.")] = False,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Also show output shapes for a batch this big.",
                                                   show_default="no batch")] = None,
) -> None:
    """The torchinfo table of a network (the notebook prints the same for SimpleNetwork and ComplexNetwork)."""
    hidden_widths, channel_widths = _all_widths(ctx, hidden_sizes, channels)
    name = ModelName(model).value
    overrides = model_overrides(name, notebook_faithful, hidden_sizes=hidden_widths, activation=activation, dropout=dropout,
                                channels=channel_widths, kernel_size=_widths([kernel_size] if kernel_size else None, "--kernel-size"),
                                padding=padding)
    console.print(summary(build(name, **overrides), batch_size=batch_size), highlight=False)
