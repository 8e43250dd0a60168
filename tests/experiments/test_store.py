"""The store: on SQLite, claiming a waiting trial is atomic between workers."""

from __future__ import annotations

import threading
import time

import optuna
import pytest
from optuna.storages._rdb import models
from optuna.trial import TrialState

from digitlab.experiments.store import SQLiteStorage, open_storage, open_study

CLAIM_WINDOW_S = 0.2  # how long a claim pauses between reading a trial's state and writing it


@pytest.fixture
def slow_claims(monkeypatch):
    """Widen the gap between reading a trial's state and writing RUNNING, where two claims can interleave."""
    find = models.TrialModel.find_or_raise_by_id

    def find_then_pause(*args, **kwargs):
        trial = find(*args, **kwargs)
        time.sleep(CLAIM_WINDOW_S)
        return trial

    monkeypatch.setattr(models.TrialModel, "find_or_raise_by_id", find_then_pause)


def claims_of_one_waiting_trial(url: str, workers: int) -> list[bool]:
    """Each worker (own storage, own connection) tries to claim the same waiting trial at the same time."""
    study = open_study(open_storage(url), "claims")
    study.enqueue_trial({"x": 1})
    trial_id = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))[0]._trial_id
    storages = [open_storage(url) for _ in range(workers)]
    outcomes: list[bool] = []
    start = threading.Barrier(workers)

    def claim(storage) -> None:
        start.wait()
        outcomes.append(storage.set_trial_state_values(trial_id, TrialState.RUNNING))

    threads = [threading.Thread(target=claim, args=(storage,)) for storage in storages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_sqlite_stores_claim_trials_under_a_lock(tmp_path):
    assert isinstance(open_storage(f"sqlite:///{tmp_path / 'runs.sqlite3'}"), SQLiteStorage)


def test_only_one_of_two_simultaneous_claims_wins_on_sqlite(tmp_path, slow_claims):
    outcomes = claims_of_one_waiting_trial(f"sqlite:///{tmp_path / 'runs.sqlite3'}", workers=2)
    assert sorted(outcomes) == [False, True]


def test_without_the_lock_both_claims_win(tmp_path, slow_claims, monkeypatch):
    """The race the lock closes is real: plain RDBStorage on SQLite lets both workers claim the trial."""
    monkeypatch.setattr(SQLiteStorage, "set_trial_state_values", optuna.storages.RDBStorage.set_trial_state_values)
    outcomes = claims_of_one_waiting_trial(f"sqlite:///{tmp_path / 'runs.sqlite3'}", workers=2)
    assert outcomes == [True, True]
