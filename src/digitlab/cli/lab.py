"""``digitlab lab``: the main job. Fetch the data, run the notebook's experiments, write the report."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import optuna
import typer
from rich.table import Table

from digitlab.cli.common import (
    DEFAULT_CHOICE,
    CacheDirOption,
    DataDirOption,
    DatasetChoiceOption,
    DeviceOption,
    LangOption,
    StorageOption,
    console,
    err_console,
    out_option,
)
from digitlab.cli.interrupts import still_running_note, watch
from digitlab.cli.paths import MODELS, OUTPUT_ROOT, REPORTS
from digitlab.cli.progress import Eta, progress_bar
from digitlab.datasets import fetch
from digitlab.experiments import open_storage
from digitlab.experiments.runner import cached_dataset
from digitlab.experiments.sweep import QUICK_MODELS, LabProgress, lab_plan, pending, run_lab
from digitlab.report import build_report, comparison_rows
from digitlab.report.i18n import report_language
from digitlab.report.links import count, percent, seconds, train_seconds


def lab(
    dataset: DatasetChoiceOption = DEFAULT_CHOICE,
    quick: Annotated[bool, typer.Option("--quick", help="Small subsets and one epoch: a minute instead of many.")] = False,
    configs: Annotated[Path | None, typer.Option(
        "--configs", help="Folder of sweep TOML files [default: the ones shipped with digitlab, digitlab/lab/sweeps].")] = None,
    out: Annotated[Path, out_option("Where the lab writes: OUT/reports/<dataset>/index.html and the headline models' "
                                    "checkpoints in OUT/models (--quick's in OUT/models/quick; digitlab serve finds both below runs).")
                   ] = OUTPUT_ROOT,
    storage: StorageOption = None,
    device: DeviceOption = None,
    data_dir: DataDirOption = None,
    cache_dir: CacheDirOption = None,
    lang: LangOption = None,
) -> None:
    """Work through the course notebook: data, every assignment's experiments, the report and a final table.

    Runs already in the store are reused, so a second run takes seconds and an interrupted one resumes.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    names, reports, models = dataset.names(), out / REPORTS, out / MODELS
    store = open_storage(storage)  # a store that cannot be written fails here, before the data is fetched
    plan = lab_plan(names, quick, configs, device)
    sweeps = [planned_sweep.sweep for planned_sweep in plan]
    for name in names:
        with err_console.status(f"Fetching {name}..."):
            found = fetch(name, data_dir=data_dir, cache_dir=cache_dir)
        console.print(f"[green]✓[/green] {name}: verified, from {found.source} → {found.cached_at or data_dir}")
    watch(store, [sweep.study_name for sweep in sweeps])  # a Ctrl-C says how many runs are kept
    to_do = pending(store, plan)
    started = time.perf_counter()
    console.print(f"{sum(to_do.values())} of {sum(len(s.points()) for s in sweeps)} runs to do "
                  f"({len(sweeps)} sweeps; the rest are reused from {store.url})")
    eta = Eta(sum(to_do.values()))
    with progress_bar(err_console) as progress:
        overall = progress.add_task("lab", total=sum(to_do.values()))
        epochs = progress.add_task("", total=1, visible=False)

        def on_start(config, params) -> None:  # noqa: ANN001
            label = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in params.items())
            total_epochs = config.train_config.get("epochs") or 1 if config.kind == "network" else 1
            progress.update(epochs, description=f"  {config.dataset} {config.model if config.kind == 'network' else 'k-NN'} {label}",
                            total=total_epochs, completed=0, visible=True)

        def on_done(run) -> None:  # noqa: ANN001
            progress.advance(overall)
            if not err_console.is_terminal:  # a log (CI, nohup) gets a line per run instead of a bar
                done = int(progress.tasks[overall].completed)
                err_console.print(f"[{done}/{int(progress.tasks[overall].total or 0)}] {progress.tasks[overall].description} "
                                  f"run {run.id}: test {percent(run.metrics.get('test_accuracy'))}, "
                                  f"train {seconds(train_seconds(run))}, {eta.after(done)}", highlight=False, markup=False)

        hooks = LabProgress(on_sweep=lambda sweep: progress.update(overall, description=f"{sweep.base.dataset}: {sweep.name}"),
                            on_start=on_start, on_epoch=lambda record: progress.update(epochs, completed=record["epoch"]),
                            on_done=on_done)
        run_lab(plan, store, models / QUICK_MODELS if quick else models, data_dir=data_dir, cache_dir=cache_dir, progress=hooks)
    console.print(f"experiments done in {time.perf_counter() - started:.0f} s")
    if note := still_running_note(store, [sweep.study_name for sweep in sweeps]):
        err_console.print(f"[yellow]{note}[/yellow]", highlight=False)
    for name in names:
        dataset_loaded = cached_dataset(name, str(data_dir) if data_dir else None, str(cache_dir) if cache_dir else None)
        path = build_report(store, name, reports / name, dataset=dataset_loaded, lang=report_language(name, lang))
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
