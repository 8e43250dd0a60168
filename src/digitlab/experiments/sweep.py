"""Sweeps on Optuna: a grid for the notebook's assignments, a TPE search with pruning for tuning.

Grid points are *enqueued* as waiting trials once, under a lock, and workers pop them with
``study.ask()`` (atomic in the RDB storage): several processes on one PostgreSQL study share the
work and no point runs twice. A run that was interrupted (Ctrl-C: marked failed at once; kill:
its heartbeat goes stale) is enqueued again by the next worker, so a sweep resumes where it stopped
and finished runs are never recomputed.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.storages import RDBStorage
from optuna.trial import Trial, TrialState

from digitlab.experiments.config import ExperimentConfig, SweepSpec
from digitlab.experiments.spec import RunSpec, resolve
from digitlab.experiments.store import CONFIG_ATTR, RESULT_ATTR, Run, list_runs, open_study, readable_attrs, run_from_trial, study_lock

FIXED_PARAMS_ATTR = "fixed_params"  # where Optuna keeps an enqueued trial's params
PRIMITIVE = (bool, int, float, str, type(None))


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
        if "sweep" not in study.user_attrs:
            study.set_user_attr("sweep", {"name": sweep.name, "description": sweep.description,
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
