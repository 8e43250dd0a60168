"""``digitlab knn``: evaluate one k-NN setting; ``knn tune`` searches settings; ``knn scaling`` times them.

Registered in main.py with ``app.add_typer(knn.app, name="knn")``. ``digitlab knn`` (and tune's final
test) runs its setting through the run pipeline (:func:`digitlab.experiments.runner.run`) like the
lab's k-NN sweeps; ``tune`` and ``scaling`` call :mod:`digitlab.knn.tuning`; figures come from
:mod:`digitlab.knn.figures`. Each command prints or writes what comes back.
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
from digitlab.cli.lists import choice_list, deskew_choices, float_list, int_list
from digitlab.cli.progress import progress_bar
from digitlab.datasets import Dataset, load
from digitlab.evaluation import confusion_figure
from digitlab.experiments.runner import run
from digitlab.experiments.spec import ExperimentConfig, resolve
from digitlab.i18n import class_names, dataset_language, speaking
from digitlab.knn.choice import KERNELS, set_kernel
from digitlab.knn.classifier import DEFAULT_BATCH_SIZE, WEIGHTS
from digitlab.knn.cost import HD_PIXELS, HD_TEST, HD_TRAIN, scaling_summary
from digitlab.knn.figures import accuracy_vs_k, accuracy_vs_time, scaling_figures
from digitlab.knn.outputs import confusion_csv, result_summary, rows_csv, slug
from digitlab.knn.pipeline import KNNPipelineConfig
from digitlab.knn.search import METRICS
from digitlab.knn.tuning import PIXEL_SCALING_TRAIN, VALIDATION_SIZE, Grid, best_config, scaling, search

app = typer.Typer(rich_markup_mode=None, help="k-nearest neighbours (the notebook's Part III): evaluate, tune, time.", invoke_without_command=True)

PERCENT = 100
DEFAULT_KNN = KNNPipelineConfig()  # the k-NN every command fits unless told otherwise
TOP_ROWS = 15  # rows of the tune table printed; the CSV has all
QUICK_SIZES, QUICK_SIDES = "500,1000,2000", "28,42"


# The choices come from the estimator itself, so the CLI never offers a value it would refuse.
Weights = Enum("Weights", {name: name for name in WEIGHTS}, type=str)
Metric = Enum("Metric", {name: name for name in METRICS}, type=str)
KOption = Annotated[int, typer.Option("--k", "-k", min=1, help="Neighbours that vote.")]
WeightsOption = Annotated[Weights, typer.Option("--weights", help="uniform votes or 1/distance votes.")]
MetricOption = Annotated[Metric, typer.Option("--metric", help="Distance.")]
POption = Annotated[float, typer.Option("--p", min=1, help="Minkowski power (with --metric minkowski).")]
PcaOption = Annotated[int, typer.Option("--pca", min=0, help="Project onto this many principal components first (0: raw pixels).")]
DeskewOption = Annotated[bool, typer.Option("--deskew/--no-deskew", help="Straighten slanted digits first (image moments).")]
BlurOption = Annotated[float, typer.Option("--blur", min=0, help="Gaussian blur sigma in pixels after deskewing (0: none).")]
ShiftsOption = Annotated[int, typer.Option(
    "--shifts", min=0, help="Also store training images shifted by up to N pixels: (2N+1)^2 copies (0: none).")]
ZoomOption = Annotated[float, typer.Option(
    "--zoom", min=1, help="Also store training images enlarged and shrunk by this factor: 2 copies (1: none).")]
DistortionOption = Annotated[int, typer.Option(
    "--distortion", min=0, help="Re-rank the euclidean-nearest candidates by the image distortion model with this window radius (0: none).")]
CandidatesOption = Annotated[int, typer.Option(
    "--candidates", min=1, help="Euclidean-nearest training images the distortion model re-ranks.")]
TrainLimitOption = Annotated[int | None, typer.Option("--train-limit", min=1, help="Use the first N training images.", show_default="all")]
TestLimitOption = Annotated[int | None, typer.Option("--test-limit", min=1, help="Use the first N test images.", show_default="all")]
DeviceOption = Annotated[str, typer.Option("--device", help="auto (CUDA when available), cpu or cuda.")]
BatchOption = Annotated[int, typer.Option("--batch-size", min=1, help="Queries scored at once (memory: batch x train x 4 bytes).")]
KNN_OUT = under("knn")  # each dataset's k-NN results go to runs/knn/DATASET
OutOption = Annotated[Path | None, out_option("Output folder.", default_text=f"{KNN_OUT}/DATASET")]
Kernel = Enum("Kernel", {name: name for name in KERNELS}, type=str)
KernelOption = Annotated[Kernel, typer.Option("--kernel", help="Euclidean distance kernel (all exact): auto measures this "
                                              "machine once (see `digitlab doctor`); also applies to `knn tune` and `knn scaling`.")]


@app.callback()
def knn(
    ctx: typer.Context,
    dataset: DatasetOption = DEFAULT,
    k: KOption = DEFAULT_KNN.n_neighbors,
    weights: WeightsOption = Weights(DEFAULT_KNN.weights),
    metric: MetricOption = Metric(DEFAULT_KNN.metric),
    p: POption = DEFAULT_KNN.p,
    pca: PcaOption = DEFAULT_KNN.pca,
    deskew: DeskewOption = DEFAULT_KNN.deskew,
    blur: BlurOption = DEFAULT_KNN.blur,
    shifts: ShiftsOption = DEFAULT_KNN.shifts,
    zoom: ZoomOption = DEFAULT_KNN.zoom,
    distortion: DistortionOption = DEFAULT_KNN.distortion,
    candidates: CandidatesOption = DEFAULT_KNN.candidates,
    train_limit: TrainLimitOption = None,
    test_limit: TestLimitOption = None,
    device: DeviceOption = "auto",
    batch_size: BatchOption = DEFAULT_BATCH_SIZE,
    out: OutOption = None,
    data_dir: DataDirOption = None,
    cache_dir: CacheDirOption = None,
    kernel: KernelOption = Kernel.auto,
    lang: LangOption = None,
) -> None:
    """Fit one k-NN setting on the training set and score it on the test set; print accuracy and
    seconds, and write the confusion matrix as a heatmap PNG and a CSV."""
    set_kernel(kernel.value)  # for this command and its subcommands
    if ctx.invoked_subcommand is not None:
        return
    config = KNNPipelineConfig(n_neighbors=k, weights=weights.value, metric=metric.value, p=p, deskew=deskew, blur=blur,
                               shifts=shifts, zoom=zoom, pca=pca, distortion=distortion, candidates=candidates)
    source = load(dataset.value, data_dir=data_dir, cache_dir=cache_dir)
    result = _evaluate(config, source, train_limit, test_limit, device, batch_size)
    _print_evaluation(source.name, config, result)
    _write_confusion(config, result, source, out or KNN_OUT / source.name, lang)


@app.command("tune")
def tune_command(
    dataset: DatasetOption = DEFAULT,
    ks: Annotated[str, typer.Option("--ks", help="k values: '1-15' or '1,3,5'.")] = "1-15",
    weights: Annotated[str, typer.Option("--weights", help="Comma-separated: uniform,distance.")] = "uniform,distance",
    metrics: Annotated[str, typer.Option("--metrics", help="Comma-separated: euclidean,cosine,manhattan.")] = "euclidean,cosine",
    pcas: Annotated[str, typer.Option("--pcas", help="PCA sizes, 0 = raw pixels: '0,30,50'.")] = "0,30,50",
    deskew: Annotated[str, typer.Option("--deskew", help="both, yes or no.")] = "both",
    blurs: Annotated[str, typer.Option("--blurs", help="Gaussian blur sigmas, 0 = none: '0,1'.")] = "0",
    shifts: Annotated[str, typer.Option("--shifts", help="Shifted training copies, 0 = none: '0,1' (each step multiplies the search).")] = "0",
    zooms: Annotated[str, typer.Option("--zooms", help="Zoomed training copies (factor), 1 = none: '1,1.1'.")] = "1",
    distortions: Annotated[str, typer.Option("--distortions", help="Image distortion model window radii, 0 = none: '0,1,2'.")] = "0",
    candidates: Annotated[str, typer.Option("--candidates", help="Euclidean-nearest candidates the distortion model re-ranks: '20,50'.")] = "50",
    validation_size: Annotated[int, typer.Option(
        "--validation-size", min=1, help="Validation images carved from the training set.")] = VALIDATION_SIZE,
    folds: Annotated[int, typer.Option("--folds", min=1, help="K-fold cross-validation over the training set (1: one validation split).")] = 1,
    train_limit: TrainLimitOption = None,
    test_limit: TestLimitOption = None,
    quick: Annotated[bool, typer.Option("--quick", help="A small smoke run: 3000 train, 500 test, 500 validation, k 1,3,5, PCA 30.")] = False,
    seed: SeedOption = 0,
    device: DeviceOption = "auto",
    batch_size: BatchOption = DEFAULT_BATCH_SIZE,
    out: OutOption = None,
    data_dir: DataDirOption = None,
    cache_dir: CacheDirOption = None,
    lang: LangOption = None,
) -> None:
    """Search k, weights, metric, PCA size, deskew, blur and shifted copies on validation data carved
    from the training set (never the test set), then evaluate the best setting once on the test set.

    The best MNIST k-NN (docs/knn.md): --deskew yes --blurs 0,1 --shifts 0,1 --pcas 40,60 --metrics euclidean --validation-size 5000."""
    if quick:
        train_limit, test_limit, validation_size = train_limit or 3000, test_limit or 500, min(validation_size, 500)
        ks, pcas = "1,3,5", "30"
    grid = Grid(ks=int_list(ks, "--ks"), weights=choice_list(weights, Weights, "--weights"), metrics=choice_list(metrics, Metric, "--metrics"),
                pcas=int_list(pcas, "--pcas", low=0), deskews=deskew_choices(deskew), blurs=float_list(blurs, "--blurs"),
                shifts=int_list(shifts, "--shifts", low=0), zooms=float_list(zooms, "--zooms", low=1),
                distortions=int_list(distortions, "--distortions", low=0), candidates=int_list(candidates, "--candidates"))
    source = load(dataset.value, data_dir=data_dir, cache_dir=cache_dir)
    data = source.limit(train_limit, test_limit)
    if folds == 1 and not 0 < validation_size < len(data.train):
        raise typer.BadParameter(f"must be below the {len(data.train):,} training images, got {validation_size}", param_hint="--validation-size")
    out = out or KNN_OUT / data.name
    with progress_bar(err_console) as progress:
        task = progress.add_task("tune", total=len(grid.feature_spaces()) * folds)
        rows = search(data.train, grid, validation_size=validation_size, folds=folds, seed=seed, device=device, batch_size=batch_size,
                      progress=lambda done, total, what: progress.update(task, completed=done, total=total, description=what))
    _print_search(rows, data.name)
    atomic_write_text(out / "tune.csv", rows_csv(rows))
    with speaking(dataset_language(data.name, lang)):  # the figures' words; the printed tables stay English
        save_figure(accuracy_vs_k(rows), out / "tune-accuracy-vs-k.png")
        save_figure(accuracy_vs_time(rows), out / "tune-accuracy-vs-time.png")
    best = best_config(rows)
    result = _evaluate(best, source, train_limit, test_limit, device, batch_size, what="best setting on the test set:")
    _print_evaluation(data.name, best, result, heading="Best setting (chosen on validation), evaluated once on test")
    _write_confusion(best, result, data, out, lang)
    console.print(f"[green]✓[/green] wrote {out / 'tune.csv'}, {out / 'tune-accuracy-vs-k.png'}, {out / 'tune-accuracy-vs-time.png'}")


@app.command("scaling")
def scaling_command(
    dataset: DatasetOption = DEFAULT,
    k: KOption = DEFAULT_KNN.n_neighbors,
    weights: WeightsOption = Weights(DEFAULT_KNN.weights),
    metric: MetricOption = Metric(DEFAULT_KNN.metric),
    pca: PcaOption = DEFAULT_KNN.pca,
    deskew: DeskewOption = DEFAULT_KNN.deskew,
    sizes: Annotated[str, typer.Option("--sizes", help="Training-set sizes to time.")] = "1000,2000,5000,10000,20000,40000,60000",
    image_sides: Annotated[str, typer.Option("--image-sides", help=f"Image sides (pixels) to resize to and time, with "
                                                                   f"{PIXEL_SCALING_TRAIN:,} training images; '' for none.")] = "28,56,84,112",
    test_limit: Annotated[int, typer.Option("--test-limit", min=1, help="Queries timed per point.")] = 1000,
    repeats: Annotated[int, typer.Option("--repeats", min=1, help="Time each point this often and keep the fastest.")] = 3,
    quick: Annotated[bool, typer.Option("--quick", help=f"Sizes {QUICK_SIZES}, sides {QUICK_SIDES}, 200 queries, 1 repeat.")] = False,
    device: DeviceOption = "auto",
    batch_size: BatchOption = DEFAULT_BATCH_SIZE,
    out: OutOption = None,
    data_dir: DataDirOption = None,
    cache_dir: CacheDirOption = None,
    lang: LangOption = None,
) -> None:
    """Measure predict time against training-set size and against pixels per image, fit lines, and
    extrapolate to 1920x1080 colour images (the notebook's question)."""
    if quick:
        sizes, image_sides, test_limit, repeats = QUICK_SIZES, QUICK_SIDES, min(test_limit, 200), 1
    config = KNNPipelineConfig(n_neighbors=k, weights=weights.value, metric=metric.value, pca=pca, deskew=deskew)
    data = load(dataset.value, data_dir=data_dir, cache_dir=cache_dir)
    train_sizes = [n for n in int_list(sizes, "--sizes") if n <= len(data.train)]
    sides = int_list(image_sides, "--image-sides") if image_sides.strip() else ()
    pixel_train = data.train.head(min(PIXEL_SCALING_TRAIN, max(train_sizes, default=PIXEL_SCALING_TRAIN)))
    for size in train_sizes:
        _check_k(config.n_neighbors, size)
    test = data.test.head(test_limit)
    out = out or KNN_OUT / data.name
    with progress_bar(err_console) as progress:
        task = progress.add_task("scaling", total=len(train_sizes) + len(sides))
        update = lambda done, total, what: progress.update(task, completed=done, description=what)  # noqa: E731
        rows = scaling(config, data.train, test, train_sizes, (), repeats, device, batch_size, update)
        rows += scaling(config, pixel_train, test, (), sides, repeats, device, batch_size,
                        lambda done, total, what: update(len(train_sizes) + done, None, what))
    _print_scaling(rows, config, data.name, len(test))
    atomic_write_text(out / "scaling.csv", rows_csv(rows))
    with speaking(dataset_language(data.name, lang)):  # the figures' words; the printed tables stay English
        for kind, figure in scaling_figures(rows, config.label(), len(test), data.name).items():
            save_figure(figure, out / f"scaling-{kind.replace('_', '-')}.png")
    console.print(f"[green]✓[/green] wrote {out / 'scaling.csv'} and the scaling-*.png plots")


def _evaluate(config: KNNPipelineConfig, source: Dataset, train_limit: int | None, test_limit: int | None, device: str,
              batch_size: int, what: str = "k-NN") -> dict[str, Any]:
    """One k-NN setting through the run pipeline, like the lab's: fit on the (limited) training set, score the test set."""
    data = source.limit(train_limit, test_limit)
    _check_k(config.n_neighbors, len(data.train))
    spec = resolve(ExperimentConfig(dataset=source.name, kind="knn", knn_config=config.to_dict(), train_limit=train_limit,
                                    test_limit=test_limit, validation_size=0), device)
    with err_console.status(f"{what} {config.label()} on {data.name}: {len(data.train):,} train, {len(data.test):,} test..."):
        return run(spec, dataset=source, knn_batch_size=batch_size)


def _check_k(k: int, n_train: int) -> None:
    if k > n_train:
        raise typer.BadParameter(f"k={k} is larger than the {n_train} training images", param_hint="--k")


def _print_evaluation(dataset: str, config: KNNPipelineConfig, result: dict[str, Any], heading: str = "k-NN") -> None:
    metrics = result["metrics"]
    table = Table("setting", "train", "test", "accuracy", "fit s", "predict s", title=f"{heading} ({dataset})")
    table.add_row(config.label(), f"{metrics['train_size']:,}", f"{metrics['test_size']:,}", f"{metrics['test_accuracy'] * PERCENT:.2f}%",
                  f"{metrics['fit_seconds']:.2f}", f"{metrics['predict_seconds']:.2f}")
    console.print(table)


def _print_search(rows: list[dict], dataset: str) -> None:
    first = rows[0]
    title = (f"k-NN tuning on {dataset}: {len(rows)} settings, validation {first['n_validation']:,} images"
             + (f" x {first['folds']} folds" if first["folds"] > 1 else "") + f" (top {min(TOP_ROWS, len(rows))})")
    table = Table("k", "weights", "metric", "deskew", "blur", "shifts", "zoom", "PCA", "IDM r / M", "val accuracy", "predict s", title=title)
    for row in rows[:TOP_ROWS]:
        spread = f" ± {row['accuracy_std'] * PERCENT:.2f}" if row["folds"] > 1 else ""
        table.add_row(str(row["n_neighbors"]), row["weights"], row["metric"], "yes" if row["deskew"] else "no", f"{row['blur']:g}",
                      str(row["shifts"]), f"{row['zoom']:g}", str(row["pca"] or "raw"),
                      f"{row['distortion']} / {row['candidates']}" if row.get("distortion") else "-",
                      f"{row['accuracy'] * PERCENT:.2f}%{spread}", f"{row['predict_seconds']:.2f}")
    console.print(table)


def _print_scaling(rows: list[dict], config: KNNPipelineConfig, dataset: str, queries: int) -> None:
    table = Table("varied", "train images", "pixels", "predict s", "accuracy",
                  title=f"k-NN predict time, {config.label()}, {queries} queries ({dataset})")
    for row in rows:
        table.add_row(row["kind"].replace("_", " "), f"{row['n_train']:,}", f"{row['pixels']:,}",
                      f"{row['predict_seconds']:.3f}", f"{row['accuracy'] * PERCENT:.2f}%")
    console.print(table)
    summary = scaling_summary(rows, queries)
    if summary["size_line"] is None:
        return
    line = summary["size_line"]
    console.print(f"predict time = {line['intercept']:.3f} s fixed + {line['slope'] * 1000:.4f} s per 1000 training images "
                  f"(least squares, {queries} queries): the search cost grows in proportion to the training set")
    if summary["pixel_line"] is not None:
        pixel_line = summary["pixel_line"]
        console.print(f"and = {pixel_line['intercept']:.3f} s fixed + {pixel_line['slope'] * 1000:.4f} s per 1000 pixels per image "
                      f"({summary['pixel_train']:,} training images)")
    if summary["hd_seconds_per_query"] is None:
        console.print("the timings are too noisy for a slope (try more --repeats, more --test-limit queries or larger --sizes)")
        return
    console.print(f"1920x1080 colour images ({HD_PIXELS:,} values each), {HD_TRAIN:,} training images, cost proportional to both: "
                  f"about {summary['hd_seconds_per_query']:,.0f} s per query, {summary['hd_hours_test_set']:,.0f} hours for a "
                  f"{HD_TEST:,}-image test set")


def _write_confusion(config: KNNPipelineConfig, result: dict[str, Any], data: Dataset, out: Path, lang: str | None) -> None:
    name, metrics = slug(config), result["metrics"]
    atomic_write_text(out / f"confusion-{name}.csv", confusion_csv(result["confusion"], data.classes))
    with speaking(dataset_language(data.name, lang)) as tr:  # the figure's words; the CSV keeps the dataset's own names
        title = tr("figure.knn_confusion_title", label=config.label(), accuracy=tr.numbers.percent(metrics["test_accuracy"]),
                   count=tr.numbers.integer(metrics["test_size"]))
        figure = confusion_figure(result["confusion"], class_names(data.name, data.classes), title=title)
    save_figure(figure, out / f"confusion-{name}.png")
    atomic_write_text(out / f"result-{name}.json", json.dumps(result_summary(result), indent=2) + "\n")
    console.print(f"[green]✓[/green] wrote {out / f'confusion-{name}.png'}, {out / f'confusion-{name}.csv'}, {out / f'result-{name}.json'}")
