"""``digitlab lab``: the main job. Fetch the data, run the notebook's experiments, write the report."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import optuna
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from digitlab.cli import data
from digitlab.cli.interrupts import still_running_note, watch
from digitlab.cli.common import CacheDirOption, DataDirOption, DatasetChoice, StorageOption, console, err_console
from digitlab.experiments import SweepProgress, open_storage, pending_count, run_grid
from digitlab.experiments.lab import SAVED_MODEL_SWEEPS, lab_sweeps, quicken
from digitlab.experiments.knn_runs import NeighborCache
from digitlab.experiments.runner import check_config, run_experiment
from digitlab.report.links import count, percent, seconds, train_seconds

DeviceOption = Annotated[str | None, typer.Option("--device", help="cuda, mps or cpu [default: the best available].")]


def lab(
    dataset: Annotated[DatasetChoice, typer.Option("--dataset", "-d", help="mnist, fashion-mnist or all.")] = DatasetChoice.mnist,
    quick: Annotated[bool, typer.Option("--quick", help="Small subsets and one epoch: a minute instead of many.")] = False,
    configs: Annotated[Path | None, typer.Option("--configs", help="Folder of sweep TOML files [default: the ones shipped with digitlab, digitlab/lab/sweeps].")] = None,
    reports: Annotated[Path, typer.Option("--reports", help="Where reports/<dataset>/index.html go.")] = Path("reports"),
    models: Annotated[Path, typer.Option("--models", help="Where the headline models' checkpoints go ('digitlab serve' finds them there).")] = Path("runs/models"),
    storage: StorageOption = None,
    device: DeviceOption = None,
    data_dir: DataDirOption = None,
    cache_dir: CacheDirOption = None,
) -> None:
    """Work through the course notebook: data, every assignment's experiments, the report and a final table.

    Runs already in the store are reused, so a second run takes seconds and an interrupted one resumes.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data.fetch_command(dataset, data_dir=data_dir, cache_dir=cache_dir)
    store = open_storage(storage)
    sweeps = [sweep for name in dataset.names() for sweep in lab_sweeps(name, configs)]
    sweeps = [quicken(sweep) for sweep in sweeps] if quick else sweeps
    for sweep in sweeps:
        for point in sweep.points():
            check_config(sweep.base.with_params(point))
    watch(store, [sweep.study_name for sweep in sweeps])  # a Ctrl-C says how many runs are kept
    pending = {sweep.study_name: pending_count(store, sweep) for sweep in sweeps}
    started = time.perf_counter()
    console.print(f"{sum(pending.values())} of {sum(len(s.points()) for s in sweeps)} runs to do "
                  f"({len(sweeps)} sweeps; the rest are reused from {store.url})")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        overall = progress.add_task("lab", total=sum(pending.values()))
        epochs = progress.add_task("", total=1, visible=False)

        def on_start(config, params) -> None:  # noqa: ANN001
            label = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in params.items())
            total_epochs = config.train_options.get("epochs") or 1 if config.kind == "network" else 1
            progress.update(epochs, description=f"  {config.dataset} {config.model if config.kind == 'network' else 'k-NN'} {label}",
                            total=total_epochs, completed=0, visible=True)

        def on_epoch(record) -> None:  # noqa: ANN001
            progress.update(epochs, completed=record["epoch"])

        def on_done(run) -> None:  # noqa: ANN001
            progress.advance(overall)
            if not err_console.is_terminal:  # a log (CI, nohup) gets a line per run instead of a bar
                done = int(progress.tasks[overall].completed)
                err_console.print(f"[{done}/{int(progress.tasks[overall].total or 0)}] {progress.tasks[overall].description} "
                                  f"run {run.id}: test {percent(run.metrics.get('test_accuracy'))}, "
                                  f"train {seconds(train_seconds(run))}", highlight=False, markup=False)

        for sweep in sweeps:
            progress.update(overall, description=f"{sweep.base.dataset}: {sweep.name}")
            save = Path(models) / f"{sweep.base.dataset}-{sweep.name}" if sweep.name in SAVED_MODEL_SWEEPS and not quick else None

            def evaluate(config, report, save=save, searches=NeighborCache()):  # noqa: ANN001, ANN202 (one cache per sweep)
                return run_experiment(config, report, data_dir=data_dir, cache_dir=cache_dir, device=device,
                                      on_epoch=on_epoch, checkpoint_dir=save, neighbor_cache=searches)

            run_grid(sweep, store, evaluate, SweepProgress(on_start=on_start, on_done=on_done))
    console.print(f"experiments done in {time.perf_counter() - started:.0f} s")
    if note := still_running_note(store, [sweep.study_name for sweep in sweeps]):
        err_console.print(f"[yellow]{note}[/yellow]", highlight=False)
    _write_reports(store, dataset.names(), reports, data_dir, cache_dir)


def _write_reports(store, names: list[str], reports: Path, data_dir, cache_dir) -> None:  # noqa: ANN001
    from digitlab.experiments.runner import cached_dataset
    from digitlab.report import build_report, comparison_rows

    for name in names:
        dataset = cached_dataset(name, str(data_dir) if data_dir else None, str(cache_dir) if cache_dir else None)
        path = build_report(store, name, reports / name, dataset=dataset)
        rows = comparison_rows(store, name)
        if rows:
            console.print(comparison_table(rows, f"{name}: the best run of each sweep (chosen on validation data)"))
        console.print(f"[green]✓[/green] report: {path}")


def comparison_table(rows: list[dict], title: str) -> Table:
    """The final table: model, accuracy, train/fit and predict seconds, parameters, settings and run."""
    table = Table("model", "test accuracy", "train / fit", "predict (test set)", "parameters", "settings", "run", title=title)
    for row in rows:
        table.add_row(row["model"], percent(row["test_accuracy"]), seconds(row["train_seconds"]), seconds(row["predict_seconds"]),
                      count(row["num_parameters"]), row["settings"], str(row["run_id"]))
    return table
