"""Which runs the report shows: the lab's sweeps for one dataset, found by name in the store.

Every study the lab creates carries a user attribute ``sweep`` = {name, description, grid, base}.
The report asks for sweeps by that name and the base config's dataset; when a sweep was run more
than once with different settings (several studies share name and dataset), the study finished
most recently wins, since that is what the lab ran last.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import optuna
from optuna.storages import RDBStorage

from digitlab.experiments.store import Run, list_runs

SWEEP_ATTR = "sweep"  # the study user attribute written by experiments.sweep.run_grid
MISSING = object()  # a setting a config does not have


def config_value(config: dict[str, Any], path: str, default: Any = None) -> Any:
    """A dotted setting of a stored config: ``config_value(c, "train_config.epochs")``."""
    value: Any = config
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return default
        value = value[part]
    return value


@dataclass
class SweepRuns:
    """One sweep's finished runs as stored, with the sweep's own description of itself."""

    name: str
    description: str
    grid: dict[str, list[Any]]  # dotted setting -> the values the sweep went through
    base: dict[str, Any]  # the config every run shares (ExperimentConfig.to_dict())
    study: str
    runs: list[Run] = field(default_factory=list)  # finished runs, in the order they were made

    def find(self, settings: dict[str, Any]) -> Run | None:
        """The first run whose config has these dotted settings ({"train_config.epochs": 10}), or None."""
        return next(iter(self.matching(settings)), None)

    def matching(self, settings: dict[str, Any]) -> list[Run]:
        """Every run whose config has these dotted settings: one setting over its seeds."""
        return [run for run in self.runs if all(config_value(run.config, path, MISSING) == value for path, value in settings.items())]

    def best(self) -> Run:
        """The run with the highest objective (validation accuracy: the test set does not choose)."""
        return max(self.runs, key=lambda run: (run.value if run.value is not None else float("-inf"), -run.id))

    @property
    def last_finished(self) -> datetime:
        return max((run.finished for run in self.runs if run.finished), default=datetime.min)


def load_sweeps(storage: RDBStorage, dataset: str) -> dict[str, SweepRuns]:
    """Every sweep with finished runs on ``dataset``, by sweep name (latest study per name)."""
    found: dict[str, SweepRuns] = {}
    for summary in optuna.get_all_study_summaries(storage, include_best_trial=False):
        spec = summary.user_attrs.get(SWEEP_ATTR)
        if not isinstance(spec, dict) or spec.get("base", {}).get("dataset") != dataset:
            continue
        runs = sorted(list_runs(storage, summary.study_name), key=lambda run: run.number)
        if not runs:
            continue  # created but nothing finished yet: as good as not run
        sweep = SweepRuns(name=spec.get("name", summary.study_name), description=spec.get("description", ""),
                          grid=spec.get("grid", {}), base=spec.get("base", {}), study=summary.study_name, runs=runs)
        previous = found.get(sweep.name)
        if previous is None or sweep.last_finished > previous.last_finished:
            found[sweep.name] = sweep
    return found
