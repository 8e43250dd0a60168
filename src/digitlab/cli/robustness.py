"""``digitlab robustness``: score trained networks (and a k-NN) on shifted, turned, noisy... test sets."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from digitlab.atomic import atomic_write_text
from digitlab.cli.common import (
    DEFAULT,
    CacheDirOption,
    DataDirOption,
    DatasetOption,
    LangOption,
    SeedOption,
    console,
    err_console,
    out_option,
    save_figure,
    under,
)
from digitlab.cli.progress import progress_bar
from digitlab.datasets import load
from digitlab.errors import DigitlabError
from digitlab.i18n import class_names, current, dataset_language, speaking
from digitlab.knn.pipeline import QUICK_TRAIN_LIMIT, KNNPipelineConfig
from digitlab.robustness.evaluate import (
    DEFAULT_TRANSFORMS,
    checkpoint_predictor,
    first_of_class,
    knn_predictor,
    mean_accuracy,
    parse_transforms,
    robustness_table,
    sweep_strengths,
)
from digitlab.robustness.figures import example_figure, robustness_figure

PERCENT = 100
EXAMPLE_CLASS = 3  # the notebook's pictures follow one handwritten 3

CheckpointsArgument = Annotated[
    list[Path] | None,
    typer.Argument(metavar="CHECKPOINT", help="Checkpoint folders (from `digitlab train --out`).", show_default=False),
]
KnnOption = Annotated[bool, typer.Option("--knn", help=f"Also score the default k-NN ({KNNPipelineConfig().label()}).")]
KnnTrainLimitOption = Annotated[int, typer.Option("--knn-train-limit", min=1, help="Training images the k-NN compares against.")]
TransformsOption = Annotated[
    str, typer.Option("--transforms", "-t", help="Comma-separated: shift, rotate, scale, invert, noise, background, elastic."),
]
TestLimitOption = Annotated[int | None, typer.Option("--test-limit", min=1, help="Use only the first N test images (quick runs).",
                                                     show_default="all")]
OutOption = Annotated[Path, out_option("Folder for robustness.csv, robustness.png and examples.png.")]


def _transforms(text: str) -> tuple[str, ...]:
    try:
        return parse_transforms(text)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--transforms") from error


def _load_predictors(checkpoints: list[Path], dataset: str, num_classes: int) -> dict:
    """Name -> predictor per checkpoint; a checkpoint of another dataset is an error naming both."""
    from digitlab.inference import load_network  # torch: load only when needed

    predictors = {}
    for path in checkpoints:
        checkpoint = load_network(path)
        if checkpoint.dataset != dataset:
            raise DigitlabError(f"checkpoint {path} was trained on {checkpoint.dataset}, not {dataset}; "
                                f"pass --dataset {checkpoint.dataset} or a {dataset} checkpoint")
        if checkpoint.classes and len(checkpoint.classes) != num_classes:
            raise DigitlabError(f"checkpoint {path} predicts {len(checkpoint.classes)} classes, {dataset} has {num_classes}")
        name = checkpoint.model_name if checkpoint.model_name not in predictors else f"{checkpoint.model_name} ({path})"
        predictors[name] = checkpoint_predictor(checkpoint)
    return predictors


def robustness(
    checkpoints: CheckpointsArgument = None,
    knn: KnnOption = False,
    knn_train_limit: KnnTrainLimitOption = QUICK_TRAIN_LIMIT,
    dataset: DatasetOption = DEFAULT,
    transforms: TransformsOption = ",".join(DEFAULT_TRANSFORMS),
    test_limit: TestLimitOption = None,
    seed: SeedOption = 0,
    out: OutOption = under("robustness"),
    data_dir: DataDirOption = None,
    cache_dir: CacheDirOption = None,
    lang: LangOption = None,
) -> None:
    """Score models on test images shifted, turned, scaled, inverted, noisy or warped, at growing strength.

    Every model sees the same changed images. Prints accuracy per transform and strength, and writes a CSV,
    accuracy-vs-strength curves and one test digit under every change with each model's guess.

    Example: digitlab robustness runs/mlp runs/cnn --knn --transforms shift,rotate --test-limit 2000
    """
    names = _transforms(transforms)
    if not checkpoints and not knn:
        raise typer.BadParameter("name at least one checkpoint folder, or pass --knn", param_hint="CHECKPOINT")
    data = load(dataset.value, data_dir=data_dir, cache_dir=cache_dir)
    predictors = _load_predictors(list(checkpoints or []), data.name, data.num_classes)
    if knn:
        with err_console.status(f"fitting k-NN ({KNNPipelineConfig().label()}) on {min(knn_train_limit, len(data.train)):,} training images..."):
            predictors["knn"] = knn_predictor(data, train_limit=knn_train_limit)
    test = data.test.head(test_limit)
    strengths = sweep_strengths(names)
    with progress_bar(err_console) as progress:
        task = progress.add_task(names[0], total=sum(len(values) for values in strengths.values()))
        rows = robustness_table(predictors, test, names, strengths, seed=seed,
                                on_step=lambda name, strength: progress.update(task, advance=1, description=f"{name} {strength:g}"))
    _print_tables(rows, list(predictors), data.name, len(test))
    with speaking(dataset_language(data.name, lang)):  # the figures' words; the printed tables stay English
        _write_outputs(rows, predictors, data, test, names, seed, out)


def _print_tables(rows: list[dict], models: list[str], dataset: str, count: int) -> None:
    table = Table(title=f"Test accuracy (%) on {count:,} changed {dataset} test images")
    for column in ("transform", "strength", *models):
        table.add_column(column, justify="left" if column == "transform" else "right")
    by_step: dict[tuple[str, float], dict[str, float]] = {}
    for row in rows:
        by_step.setdefault((row["transform"], row["strength"]), {})[row["model"]] = row["accuracy"]
    for (transform, strength), scores in by_step.items():
        table.add_row(transform, f"{strength:g}", *(f"{scores[model] * PERCENT:.2f}" for model in models))
    console.print(table)
    summary = mean_accuracy(rows)
    transforms = list(dict.fromkeys(row["transform"] for row in rows))
    overview = Table(title="Mean accuracy (%) over each sweep's strengths: higher is more robust")
    for column in ("model", *transforms):
        overview.add_column(column, justify="left" if column == "model" else "right")
    for model in models:
        overview.add_row(model, *(f"{summary[model][name] * PERCENT:.1f}" for name in transforms))
    console.print(overview)


def _write_outputs(rows, predictors, data, test, names, seed: int, out: Path) -> None:
    lines = io.StringIO()
    writer = csv.DictWriter(lines, fieldnames=["model", "transform", "strength", "accuracy"])
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(out / "robustness.csv", lines.getvalue())
    tr = current()
    title = tr("figure.robustness_title", name=data.name, count=tr.numbers.integer(len(test)))
    save_figure(robustness_figure(rows, chance=1 / data.num_classes, title=title), out / "robustness.png")
    index = first_of_class(test, EXAMPLE_CLASS)
    figure = example_figure(predictors, test.images[index], int(test.labels[index]), class_names(data.name, data.classes), names, seed=seed)
    save_figure(figure, out / "examples.png")
    console.print(f"[green]✓[/green] wrote {out / 'robustness.csv'}, {out / 'robustness.png'} and {out / 'examples.png'}")
