"""Sweeps on Optuna: a grid for the notebook's assignments, a TPE search with pruning for tuning, and the lab.

Grid points are *enqueued* as waiting trials once, under a lock, and workers pop them with
``study.ask()`` (atomic in the RDB storage): several processes on one PostgreSQL study share the
work and no point runs twice. A run that was interrupted (Ctrl-C: marked failed at once; kill:
its heartbeat goes stale) is enqueued again by the next worker, so a sweep resumes where it stopped
and finished runs are never recomputed.

A run is computed once per store: a grid point whose resolved spec equals a finished run's is that
run (:func:`reusing`). Sweeps overlap on purpose: the lab's CNN part and its robustness part train the
same network with the same preset; the hidden-size and depth sweeps share their 512-512 point. The
spec decides every number a run produces (seeded inside the run pipeline), so a second computation
could only repeat the first: on a laptop CPU it would cost the lab a minute. A reused run's result is
the earlier run's, timings and environment included, plus ``reused_from``: the run it came from.

The lab is the notebook's experiments as sweep files (one TOML per assignment, shipped in
``digitlab/lab/sweeps/``), run against the store, quick or full. ``--quick`` shrinks every sweep to
small subsets and one epoch (for tests and a first look); quick runs are different configs, so they
land in their own studies and never mix with full results.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import RDBStorage
from optuna.trial import Trial, TrialState

from digitlab.errors import DigitlabError
from digitlab.experiments.config import ExperimentConfig, SweepSpec, load_sweep_file
from digitlab.experiments.spec import RunSpec, resolve
from digitlab.experiments.store import (
    CONFIG_ATTR,
    RESULT_ATTR,
    REUSED_FROM,
    SWEEP_ATTR,
    Run,
    finished_by_spec,
    list_runs,
    open_study,
    readable_attrs,
    run_from_trial,
    spec_key,
    study_lock,
)
from digitlab.packaged import sweep_dir

FIXED_PARAMS_ATTR = "fixed_params"  # where Optuna keeps an enqueued trial's params
PRIMITIVE = (bool, int, float, str, type(None))
QUICK_TRAIN_LIMIT = 2000  # training images per quick run (validation comes out of these)
QUICK_TEST_LIMIT = 1000  # test images per quick run
QUICK_VALIDATION_SIZE = 500  # held-out images per quick run
QUICK_EPOCHS = 1
QUICK_MODELS = "quick"  # the quick lab keeps its models in this subfolder of the full lab's, apart from them


def encode(value: Any) -> Any:
    """Optuna params must be primitives: lists and dicts travel as canonical JSON strings (the store's params; the
    grid point itself is looked up by them, never decoded)."""
    return value if isinstance(value, PRIMITIVE) else json.dumps(value, sort_keys=True)


def encoded(point: dict[str, Any]) -> dict[str, Any]:
    return {path: encode(value) for path, value in point.items()}


# An evaluation gets the config and a callback to report (step, validation accuracy); the callback
# returns True when the run should stop early (pruned). It returns the result dict to store, whose
# "objective" entry is the number Optuna maximises.
Report = Callable[[int, float], bool]
Evaluate = Callable[[ExperimentConfig, Report], dict[str, Any]]
SpecEvaluate = Callable[[RunSpec, Report], dict[str, Any]]  # the same, given the config's resolved spec


def plan_specs(sweep: SweepSpec, device: str | None = None) -> dict[str, RunSpec]:
    """Every grid point's resolved spec, by its config's digest; a misspelt setting fails here, before anything runs."""
    configs = [sweep.base.with_params(point) for point in sweep.points()]
    return {config.digest(): resolve(config, device) for config in configs}


def planned(evaluate: SpecEvaluate, specs: dict[str, RunSpec]) -> Evaluate:
    """``evaluate`` for :func:`run_grid`: each grid point runs the spec :func:`plan_specs` resolved for it."""
    return lambda config, report: evaluate(specs[config.digest()], report)


def resolving(evaluate: SpecEvaluate, device: str | None = None) -> Evaluate:
    """``evaluate`` for :func:`run_search`: each suggested config resolved once, on ``device``."""
    return lambda config, report: evaluate(resolve(config, device), report)


def reusing(evaluate: SpecEvaluate, storage: RDBStorage) -> SpecEvaluate:
    """``evaluate`` that first looks for a finished run with the same resolved spec in ``storage``.

    The store is read once, when this is called: the lab calls it before each sweep, so every sweep
    sees the runs of the sweeps before it.
    """
    index = finished_by_spec(storage)

    def evaluate_or_reuse(spec: RunSpec, report: Report) -> dict[str, Any]:
        earlier = index.get(spec_key(spec))
        if earlier is None:
            return evaluate(spec, report)
        return {**earlier.result, REUSED_FROM: {"run": earlier.id, "study": earlier.study}}

    return evaluate_or_reuse


@dataclass
class SweepProgress:
    """Callbacks for whoever shows progress (the CLI); all optional."""

    on_start: Callable[[ExperimentConfig, dict[str, Any]], None] | None = None
    on_done: Callable[[Run], None] | None = None


def _key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True)


def enqueue_missing(study: optuna.Study, sweep: SweepSpec) -> int:
    """Enqueue every grid point that is neither finished, waiting nor running; returns how many."""
    live = (TrialState.COMPLETE, TrialState.WAITING, TrialState.RUNNING)
    present = set()
    for trial in study.get_trials(deepcopy=False, states=live):
        present.add(_key(trial.params or trial.system_attrs.get(FIXED_PARAMS_ATTR, {})))
    added = 0
    for point in sweep.points():
        if _key(encoded(point)) not in present:
            study.enqueue_trial(encoded(point))
            added += 1
    return added


def _waiting(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))


def pending_count(storage: RDBStorage, sweep: SweepSpec) -> int:
    """How many grid points still have no finished run (0: the sweep is done and will be reused)."""
    finished = {_key(run.params) for run in list_runs(storage, None, ("COMPLETE",)) if run.study == sweep.study_name}
    return sum(_key(encoded(point)) not in finished for point in sweep.points())


def _grid_objective(sweep: SweepSpec, evaluate: Evaluate, progress: SweepProgress, started: list[int]) -> Callable[[Trial], float]:
    points = {_key(encoded(point)): point for point in sweep.points()}

    def objective(trial: Trial) -> float:
        started.append(trial.number)
        if FIXED_PARAMS_ATTR not in trial.storage.get_trial_system_attrs(trial._trial_id):
            raise optuna.TrialPruned("another worker took the last grid point")
        params = points[_key({path: trial.suggest_categorical(path, [encode(v) for v in values]) for path, values in sweep.grid.items()})]
        config = sweep.base.with_params(params)
        trial.set_user_attr(CONFIG_ATTR, config.to_dict())
        if progress.on_start:
            progress.on_start(config, params)
        result = evaluate(config, lambda step, value: False)
        trial.set_user_attr(RESULT_ATTR, result)
        for key, value in readable_attrs(params, result).items():  # what optuna-dashboard lists first
            trial.set_user_attr(key, value)
        return float(result["objective"])

    return objective


def run_grid(sweep: SweepSpec, storage: RDBStorage, evaluate: Evaluate, progress: SweepProgress | None = None,
             max_runs: int | None = None) -> list[Run]:
    """Run every grid point of ``sweep`` that the store does not have yet; return all its finished runs."""
    progress = progress or SweepProgress()
    study = open_study(storage, sweep.study_name)
    with study_lock(storage, sweep.study_name), warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
        enqueue_missing(study, sweep)
        if SWEEP_ATTR not in study.user_attrs:
            study.set_user_attr(SWEEP_ATTR, {"name": sweep.name, "description": sweep.description,
                                          "grid": sweep.grid, "base": sweep.base.to_dict()})
            study.set_user_attr("description", sweep.description or sweep.name)  # a plain line for optuna-dashboard
    started: list[int] = []  # trial numbers, in the order the objective took them
    objective = _grid_objective(sweep, evaluate, progress, started)
    done = 0
    while _waiting(study) and (max_runs is None or done < max_runs):
        study.optimize(objective, n_trials=1, catch=())
        done += 1
        # The trial just run is not the newest one: the grid's points were all enqueued up front.
        ran = [trial for trial in study.get_trials(deepcopy=False) if started and trial.number == started[-1]]
        if progress.on_done and ran and ran[0].state == TrialState.COMPLETE:
            progress.on_done(run_from_trial(sweep.study_name, ran[0]))
    return list_runs(storage, sweep.study_name)


SearchSpace = dict[str, Callable[[Trial, str], Any]]  # dotted setting -> how to suggest it


def run_search(name: str, base: ExperimentConfig, space: SearchSpace, storage: RDBStorage, evaluate: Evaluate,
               n_trials: int, seed: int = 0, progress: SweepProgress | None = None) -> optuna.Study:
    """TPE search over ``space`` maximising validation accuracy, pruning runs that fall behind per epoch."""
    progress = progress or SweepProgress()
    study = open_study(storage, f"{name}@{base.dataset}#{base.digest()[:8]}",
                       sampler=optuna.samplers.TPESampler(seed=seed),
                       pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1))

    def objective(trial: Trial) -> float:
        params = {path: suggest(trial, path) for path, suggest in space.items()}
        config = base.with_params(params)
        trial.set_user_attr(CONFIG_ATTR, config.to_dict())
        if progress.on_start:
            progress.on_start(config, params)

        def report(step: int, value: float) -> bool:
            trial.report(value, step)
            return trial.should_prune()

        result = evaluate(config, report)
        trial.set_user_attr(RESULT_ATTR, result)
        for key, value in readable_attrs(params, result).items():
            trial.set_user_attr(key, value)
        if result.get("stopped_early"):
            raise optuna.TrialPruned(f"pruned after epoch {len(result.get('history', []))}")
        return float(result["objective"])

    finished = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))
    for _ in range(max(0, n_trials - finished)):
        study.optimize(objective, n_trials=1, catch=())
        last = study.get_trials(deepcopy=False)[-1]
        if progress.on_done and last.state == TrialState.COMPLETE:
            progress.on_done(run_from_trial(study.study_name, last))
    return study


def lab_sweeps(dataset: str, config_dir: Path | None = None) -> list[SweepSpec]:
    """The lab's sweeps for ``dataset``, in file-name order."""
    folder = Path(config_dir) if config_dir else sweep_dir()  # package data: found after a plain install too
    paths = sorted(folder.glob("*.toml"))
    if not paths:
        raise DigitlabError(f"no sweep files (*.toml) in {folder}; pass --configs with a folder of them")
    return [load_sweep_file(path, dataset=dataset) for path in paths]


def quicken(sweep: SweepSpec) -> SweepSpec:
    """The same sweep on small subsets and one epoch: seconds instead of minutes."""
    base = sweep.base.with_params({"train_limit": QUICK_TRAIN_LIMIT, "test_limit": QUICK_TEST_LIMIT,
                                   "validation_size": min(sweep.base.validation_size, QUICK_VALIDATION_SIZE)})
    if base.train_config.get("epochs", QUICK_EPOCHS) != 0:
        base = base.with_params({"train_config.epochs": QUICK_EPOCHS})
    grid = dict(sweep.grid)
    if "train_config.epochs" in grid:
        grid["train_config.epochs"] = sorted({min(value, QUICK_EPOCHS) for value in grid["train_config.epochs"]})
    if "train_limit" in grid:
        grid["train_limit"] = [value for value in grid["train_limit"] if value <= QUICK_TRAIN_LIMIT] or [QUICK_TRAIN_LIMIT]
    return replace(sweep, base=base, grid=grid)


@dataclass(frozen=True)
class PlannedSweep:
    """A sweep of the lab with every grid point resolved: the specs its runs run."""

    sweep: SweepSpec
    specs: dict[str, RunSpec]  # config digest -> resolved spec (:func:`plan_specs`)


def lab_plan(datasets: list[str], quick: bool = False, config_dir: Path | None = None,
             device: str | None = None) -> list[PlannedSweep]:
    """Every sweep the lab runs on ``datasets`` (quickened with ``quick``), each point resolved on ``device`` before
    anything runs: a misspelt setting fails now, not an hour in."""
    sweeps = [sweep for name in datasets for sweep in lab_sweeps(name, config_dir)]
    sweeps = [quicken(sweep) for sweep in sweeps] if quick else sweeps
    return [PlannedSweep(sweep, plan_specs(sweep, device)) for sweep in sweeps]


def pending(storage: RDBStorage, plan: list[PlannedSweep]) -> dict[str, int]:
    """Study name -> grid points still to run (the rest are reused from the store)."""
    return {planned_sweep.sweep.study_name: pending_count(storage, planned_sweep.sweep) for planned_sweep in plan}


@dataclass
class LabProgress:
    """Callbacks for whoever shows the lab's progress (the CLI); all optional."""

    on_sweep: Callable[[SweepSpec], None] | None = None  # a sweep starts
    on_start: Callable[[ExperimentConfig, dict[str, Any]], None] | None = None  # a run starts: its config and grid point
    on_epoch: Callable[[dict[str, Any]], None] | None = None  # an epoch of that run ended
    on_done: Callable[[Run], None] | None = None  # a run finished and is stored


def run_lab(plan: list[PlannedSweep], storage: RDBStorage, models_dir: Path | None, *, data_dir: Path | None = None,
            cache_dir: Path | None = None, progress: LabProgress | None = None) -> None:
    """Run every sweep's missing points through the run pipeline; a sweep file's ``save_model`` keeps its
    checkpoint in ``models_dir/<dataset>-<sweep>`` (what ``digitlab serve`` shows; None: keep none). A point
    whose resolved spec a finished run already ran is that run (:func:`reusing`)."""
    from digitlab.experiments.runner import evaluator  # torch: only when something runs

    progress = progress or LabProgress()
    hooks = SweepProgress(on_start=progress.on_start, on_done=progress.on_done)
    for sweep, specs in ((planned_sweep.sweep, planned_sweep.specs) for planned_sweep in plan):
        if progress.on_sweep:
            progress.on_sweep(sweep)
        keep = Path(models_dir) / f"{sweep.base.dataset}-{sweep.name}" if sweep.save_model and models_dir else None
        evaluate = evaluator(data_dir=data_dir, cache_dir=cache_dir, on_epoch=progress.on_epoch, checkpoint_dir=keep)
        if keep is None:  # a sweep that keeps its models trains them itself; any other reuses a finished equal spec
            evaluate = reusing(evaluate, storage)
        run_grid(sweep, storage, planned(evaluate, specs), hooks)
