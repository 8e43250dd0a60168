"""The results store: Optuna's RDB storage (SQLite by default, any SQLAlchemy URL such as PostgreSQL).

Every experiment is an Optuna trial: its grid params are the trial's params, its whole config and
results live in the trial's user attributes. So the store is both what sweeps coordinate through
(several workers on one PostgreSQL study) and what ``digitlab runs`` and the report read.

Every study a grid creates carries the user attribute ``sweep`` = {name, description, grid, base}. The
report asks for sweeps by that name and the base config's dataset (:func:`load_sweeps`); when a sweep was
run more than once with different settings (several studies share name and dataset), the study finished
most recently wins, since that is what the lab ran last.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import optuna
from filelock import FileLock
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from digitlab.errors import DigitlabError
from digitlab.experiments.spec import RunSpec

STORAGE_ENV = "DIGITLAB_STORAGE"
DEFAULT_STORAGE_PATH = Path("runs") / "digitlab.sqlite3"  # in the project directory: nothing to install
HEARTBEAT_INTERVAL_S = 5  # a running trial writes a heartbeat this often...
HEARTBEAT_GRACE_S = 30  # ...and counts as dead (then retried) after this long without one
OPEN_ATTEMPTS = 5  # creating a new store's tables can race with another worker doing the same
OPEN_RETRY_S = 0.5
MAX_RETRIES = 3  # a run killed this many times is left failed rather than retried forever
CONFIG_ATTR = "config"  # user attribute holding ExperimentConfig.to_dict()
RESULT_ATTR = "result"  # user attribute holding the run's results
SWEEP_ATTR = "sweep"  # study user attribute {name, description, grid, base}: the report finds the lab's sweeps by it
MISSING = object()  # a setting a config does not have
REUSED_FROM = "reused_from"  # result key: {"run": store id, "study": name} of the run whose result this is
DAMAGED_HINT = f"move the file away ({DEFAULT_STORAGE_PATH} unless --storage says otherwise) and run again to start a new one"


def default_storage_url() -> str:
    """``$DIGITLAB_STORAGE``, else an SQLite file ``runs/digitlab.sqlite3`` in the current folder."""
    return os.environ.get(STORAGE_ENV) or f"sqlite:///{DEFAULT_STORAGE_PATH}"


def open_storage(url: str | None = None) -> RDBStorage:
    """Open (and create the tables of) the store at ``url``, with heartbeats so killed runs get retried."""
    url = url or default_storage_url()
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(OPEN_ATTEMPTS):
        try:
            with warnings.catch_warnings():  # heartbeats are marked experimental, and have been since 2021
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                storage_class = SQLiteStorage if url.startswith("sqlite:///") else RDBStorage
                return storage_class(
                    url,
                    heartbeat_interval=HEARTBEAT_INTERVAL_S,
                    grace_period=HEARTBEAT_GRACE_S,
                    heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES),
                    engine_kwargs={"pool_pre_ping": True},
                )
        except Exception as error:  # SQLAlchemy raises many kinds: bad URL, no driver, server down
            # Two workers creating the tables of a new store at once: one loses, then finds them made.
            if "UNIQUE" in str(error) or "already exists" in str(error) or "duplicate key" in str(error):
                if attempt + 1 < OPEN_ATTEMPTS:
                    time.sleep(OPEN_RETRY_S)
                    continue
            damaged = "malformed" in str(error) or "not a database" in str(error)
            raise DigitlabError(f"cannot open the results store {url!r}: {error}" + (f"; {DAMAGED_HINT}" if damaged else "")) from error
    raise AssertionError("unreachable")


SUMMARY_ATTR = "summary"  # one readable line per run, for optuna-dashboard's trial table
READABLE_METRICS = ("test_accuracy", "val_accuracy", "train_seconds", "predict_seconds")  # scalars shown beside it


def readable_attrs(params: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """What optuna-dashboard shows first for a run: a line of settings and results, and plain numbers.

    The full ``config`` and ``result`` stay in their own attributes (the report reads those).
    """
    metrics = result.get("metrics", {}) if isinstance(result, dict) else {}
    settings = ", ".join(f"{key.split('.')[-1]}={value}" for key, value in params.items()) or "defaults"
    scores = [f"{key.removesuffix('_accuracy')} {metrics[key]:.2%}" for key in ("val_accuracy", "test_accuracy")
              if isinstance(metrics.get(key), float)]
    attrs: dict[str, Any] = {SUMMARY_ATTR: f"{settings}: {', '.join(scores) or 'no scores'}"}
    attrs.update({key: metrics[key] for key in READABLE_METRICS if isinstance(metrics.get(key), int | float)})
    return attrs


def describe_store_error(error: BaseException) -> str | None:
    """One line for a store that cannot be read (a damaged SQLite file, a dropped server), else None."""
    import sqlalchemy.exc

    if not isinstance(error, optuna.exceptions.StorageInternalError | sqlalchemy.exc.SQLAlchemyError):
        return None
    cause = error.__cause__ or error
    reason = getattr(cause, "orig", None) or cause  # SQLAlchemy wraps the driver's own error
    return f"the results store cannot be read ({' '.join(str(reason).split())[:200]}); if it is damaged, {DAMAGED_HINT}"


def open_study(storage: RDBStorage, name: str, sampler: optuna.samplers.BaseSampler | None = None,
               pruner: optuna.pruners.BasePruner | None = None) -> optuna.Study:
    return optuna.create_study(storage=storage, study_name=name, direction="maximize", load_if_exists=True,
                               sampler=sampler, pruner=pruner)


def sqlite_lock_path(url: str, suffix: str) -> Path:
    """A lock file beside the SQLite database of ``url``, for filelock's ``FileLock``: the operating system's lock
    (``flock`` on Linux and macOS, ``msvcrt.locking`` on Windows) between processes, and one lock object per use keeps
    threads apart as well."""
    return Path(url.removeprefix("sqlite:///")).expanduser().with_suffix(suffix)


class SQLiteStorage(RDBStorage):
    """Optuna's RDB storage, with claiming a waiting trial made atomic between workers on SQLite.

    A worker claims an enqueued grid point by reading that its trial is WAITING and writing RUNNING.
    PostgreSQL locks the row in between (SELECT ... FOR UPDATE); SQLite ignores that, so two workers
    could both claim one point and run it twice (seen once under heavy load: the second to finish
    failed with "Cannot tell a COMPLETE trial"). A file lock around the claim closes that gap.
    """

    def set_trial_state_values(self, trial_id: int, state: TrialState, values: Any = None) -> bool:
        if state != TrialState.RUNNING:
            return super().set_trial_state_values(trial_id, state, values)
        with FileLock(sqlite_lock_path(self.url, ".claim.lock")):  # not study_lock's file: no self-deadlock
            return super().set_trial_state_values(trial_id, state, values)


@contextlib.contextmanager
def study_lock(storage: RDBStorage, study_name: str) -> Iterator[None]:
    """Serialise set-up steps (enqueueing a grid) between workers of one study.

    SQLite: a file lock beside the database. PostgreSQL: a session advisory lock.
    Other databases: no lock (a second worker starting at the same instant could enqueue twice).
    """
    url = storage.url
    if url.startswith("sqlite:///"):
        with FileLock(sqlite_lock_path(url, ".lock")):
            yield
    elif url.startswith("postgresql"):
        from sqlalchemy import text

        key = int.from_bytes(hashlib.sha256(study_name.encode()).digest()[:8], "big", signed=True)
        with storage.engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    else:
        yield


@dataclass(frozen=True)
class Run:
    """One experiment as stored: identity, state, params, config and results."""

    id: int  # unique in the store (Optuna's trial id): what the report links to
    study: str
    number: int  # position within its study
    state: str  # COMPLETE, RUNNING, WAITING, FAIL, PRUNED
    params: dict[str, Any]
    value: float | None  # the objective: validation accuracy (test accuracy when there is no validation set)
    config: dict[str, Any]
    result: dict[str, Any]
    started: datetime | None
    finished: datetime | None

    @property
    def metrics(self) -> dict[str, Any]:
        return self.result.get("metrics", {})

    @cached_property  # read once per run: the report asks for its settings many times
    def spec(self) -> RunSpec | None:
        """The resolved spec the run ran, read back from its result (None while the run has no result)."""
        spec = self.result.get("spec")
        return RunSpec.from_dict(spec) if spec else None


def run_from_trial(study_name: str, trial: FrozenTrial) -> Run:
    return Run(
        id=trial._trial_id,
        study=study_name,
        number=trial.number,
        state=trial.state.name,
        params=dict(trial.params) or dict(trial.system_attrs.get("fixed_params", {})),
        value=trial.value if trial.state == TrialState.COMPLETE else None,
        config=trial.user_attrs.get(CONFIG_ATTR, {}),
        result=trial.user_attrs.get(RESULT_ATTR, {}),
        started=trial.datetime_start,
        finished=trial.datetime_complete,
    )


def record_run(storage: RDBStorage, study_name: str, config: dict[str, Any], result: dict[str, Any]) -> Run:
    """Store one run made outside a sweep (``digitlab train``) as a finished run of ``study_name``."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "new study created" line on the terminal
    try:
        with warnings.catch_warnings():  # heartbeats guard long optimize() loops; one ask and tell needs none
            warnings.simplefilter("ignore", UserWarning)
            study = open_study(storage, study_name)
            trial = study.ask()
            trial.set_user_attr(CONFIG_ATTR, config)
            trial.set_user_attr(RESULT_ATTR, result)
            for key, value in readable_attrs({}, result).items():
                trial.set_user_attr(key, value)
            return run_from_trial(study_name, study.tell(trial, float(result["objective"])))
    finally:
        optuna.logging.set_verbosity(verbosity)


def list_studies(storage: RDBStorage) -> list[str]:
    return sorted(summary.study_name for summary in optuna.get_all_study_summaries(storage, include_best_trial=False))


def list_runs(storage: RDBStorage, study: str | None = None, states: tuple[str, ...] | None = ("COMPLETE",)) -> list[Run]:
    """Runs of one study (or all), in order; by default only the finished ones."""
    names = [study] if study else list_studies(storage)
    runs = []
    for name in names:
        try:
            loaded = optuna.load_study(study_name=name, storage=storage)
        except KeyError:
            raise DigitlabError(f"no study named {name!r} in the store; 'digitlab runs list' shows them") from None
        runs += [run_from_trial(name, t) for t in loaded.get_trials(deepcopy=False)]
    return [r for r in runs if states is None or r.state in states]


def get_run(storage: RDBStorage, run_id: int) -> Run:
    """The run with store-wide id ``run_id``."""
    for study in storage.get_all_studies():  # Optuna has no public trial -> study lookup; stores are small
        for trial in storage.get_all_trials(study._study_id, deepcopy=False):
            if trial._trial_id == run_id:
                return run_from_trial(study.study_name, trial)
    raise DigitlabError(f"no run with id {run_id} in the store; 'digitlab runs list' shows them")


def spec_key(spec: RunSpec) -> str:
    """One string per resolved spec: equal strings, equal runs."""
    return json.dumps(spec.to_dict(), sort_keys=True)


def finished_by_spec(storage: RDBStorage) -> dict[str, Run]:
    """Every finished run that ran all of its spec (no budget or pruning cut it short, not itself reused), by
    :func:`spec_key`: a point whose resolved spec is among them is that run (digitlab.experiments.sweep.reusing)."""
    index: dict[str, Run] = {}
    for run in list_runs(storage, None, ("COMPLETE",)):
        if run.spec is not None and run.result.get("stopped") is None and REUSED_FROM not in run.result:
            index.setdefault(spec_key(run.spec), run)
    return index


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
