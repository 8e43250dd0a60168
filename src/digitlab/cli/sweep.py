"""``digitlab sweep`` (a grid from a TOML file) and ``digitlab tune`` (a TPE search with pruning)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import optuna
import typer
from rich.table import Table

from digitlab.cli.common import (
    DEFAULT,
    CacheDirOption,
    DataDirOption,
    DatasetName,
    DatasetOption,
    DeviceOption,
    StorageOption,
    console,
    dataset_option,
    err_console,
)
from digitlab.cli.interrupts import still_running_note, watch
from digitlab.cli.progress import progress_bar
from digitlab.errors import DigitlabError
from digitlab.experiments import SweepProgress, load_sweep_file, open_storage, pending_count, run_grid, run_search
from digitlab.experiments.runner import evaluator
from digitlab.experiments.search_spaces import SEARCH_SPACES, search_base
from digitlab.experiments.sweep import plan_specs, planned, quicken, resolving, reusing

MAX_GRID_POINTS = 10_000  # more points than a class runs in a week; checking each costs ~1 ms, so a huge grid is refused up front


def sweep(
    config: Annotated[Path, typer.Argument(
        help="Sweep file: name, [base] settings and a [grid] of values (examples: digitlab/lab/sweeps/ in the package).")],
    dataset: Annotated[DatasetName | None, dataset_option("Override the file's dataset.", show_default="the file's")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Small subsets and one epoch.")] = False,
    max_runs: Annotated[int | None, typer.Option("--max-runs", min=1, help="Stop after this many runs (resume later).", show_default="all")] = None,
    storage: StorageOption = None,
    device: DeviceOption = None,
    data_dir: DataDirOption = None,
    cache_dir: CacheDirOption = None,
) -> None:
    """Run every point of a grid that the store does not have yet (several workers on one --storage share it; Ctrl-C loses no finished run)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = load_sweep_file(config, dataset=dataset.value if dataset else None)
    spec = quicken(spec) if quick else spec
    sizes = [len(values) for values in spec.grid.values()]
    if (count := math.prod(sizes)) > MAX_GRID_POINTS:
        raise DigitlabError(f"{config} has a grid of {count:,} points ({' x '.join(map(str, sizes))}); at most {MAX_GRID_POINTS:,}: "
                            "split it into smaller sweep files, or search it with digitlab tune")
    err_console.print(f"{spec.name}: {count:,} grid points", highlight=False)
    specs = plan_specs(spec, device)  # a misspelt setting fails before anything runs
    store = open_storage(storage)
    watch(store, [spec.study_name])  # a Ctrl-C says how many runs are kept
    with progress_bar(err_console) as progress:
        task = progress.add_task(spec.name, total=pending_count(store, spec))
        hooks = SweepProgress(on_start=lambda c, p: progress.update(task, description=f"{spec.name}: {p}"),
                              on_done=lambda run: progress.advance(task))
        evaluate = reusing(evaluator(data_dir=data_dir, cache_dir=cache_dir), store)
        runs = run_grid(spec, store, planned(evaluate, specs), hooks, max_runs=max_runs)
    table = Table("run", *spec.grid, "val acc", "test acc", "train s", title=f"{spec.study_name}: {len(runs)} of {len(spec.points())} runs")
    for run in sorted(runs, key=lambda r: r.number):
        metrics = run.metrics
        table.add_row(str(run.id), *(str(run.params.get(k)) for k in spec.grid), _percent(metrics.get("val_accuracy")),
                      _percent(metrics.get("test_accuracy")), f"{metrics.get('train_seconds', 0):.1f}")
    console.print(table)
    if note := still_running_note(store, [spec.study_name]):
        err_console.print(f"[yellow]{note}[/yellow]", highlight=False)


def tune(
    model: Annotated[str, typer.Option("--model", "-m", help=f"What to tune: {', '.join(SEARCH_SPACES)}.")] = "mlp",
    dataset: DatasetOption = DEFAULT,
    trials: Annotated[int, typer.Option("--trials", "-n", min=1, help="How many settings to try in total (resumes).")] = 20,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Epochs per trial (networks).")] = 5,
    train_limit: Annotated[int | None, typer.Option("--train-limit", min=100, help="Use only the first N training images (quick).",
                                                    show_default="all")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seeds the sampler and every run.")] = 0,
    storage: StorageOption = None,
    device: DeviceOption = None,
    data_dir: DataDirOption = None,
    cache_dir: CacheDirOption = None,
) -> None:
    """Search hyperparameters with Optuna's TPE on a validation split (never the test set), pruning weak trials per epoch."""
    if model not in SEARCH_SPACES:
        raise typer.BadParameter(f"choose one of {', '.join(SEARCH_SPACES)}", param_hint="--model")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    base, space = search_base(model, dataset.value, seed=seed, limit=train_limit, epochs=epochs), SEARCH_SPACES[model][1]
    store = open_storage(storage)
    with progress_bar(err_console) as progress:
        task = progress.add_task(f"tune {model}", total=trials)
        hooks = SweepProgress(on_done=lambda run: progress.advance(task))
        study = run_search(f"tune-{model}", base, space, store, resolving(evaluator(data_dir=data_dir, cache_dir=cache_dir), device),
                           n_trials=trials, seed=seed, progress=hooks)
    _print_search(study)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.2f}%"


def _print_search(study: optuna.Study) -> None:
    finished = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    table = Table("trial", "state", "params", "val acc", "test acc", title=f"{study.study_name}: {len(finished)} trials")
    for trial in finished:
        metrics = trial.user_attrs.get("result", {}).get("metrics", {})
        params = ", ".join(f"{k.split('.')[-1]}={v:.3g}" if isinstance(v, float) else f"{k.split('.')[-1]}={v}" for k, v in trial.params.items())
        table.add_row(str(trial._trial_id), trial.state.name, params, _percent(metrics.get("val_accuracy")), _percent(metrics.get("test_accuracy")))
    console.print(table)
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    if complete:
        best = study.best_trial
        test = best.user_attrs.get("result", {}).get("metrics", {}).get("test_accuracy")
        console.print(f"best on validation: run {best._trial_id} {best.params} → validation {_percent(best.value)}, "
                      f"test (measured once, not used to choose) {_percent(test)}")
