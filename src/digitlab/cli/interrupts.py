"""What ``lab`` and ``sweep`` say when they stop early: Ctrl-C, or grid points still marked running.

A command that runs grids calls :func:`watch` with its store and studies; a Ctrl-C anywhere after
that ends in one message (``main`` prints it) saying how many runs are kept and how to resume,
instead of Optuna's warning and a KeyboardInterrupt traceback.
"""

from __future__ import annotations

import logging

import optuna

from digitlab.experiments.store import HEARTBEAT_GRACE_S, list_runs

INTERRUPTED_EXIT_CODE = 130  # what shells report for a command ended by Ctrl-C (128 + SIGINT)
_watched: dict = {}  # the store and studies of the grid command running in this process


def watch(store, studies: list[str]) -> None:  # noqa: ANN001 (an Optuna storage)
    """Remember what a Ctrl-C interrupts; Optuna's per-trial failure log is silenced (digitlab reports it)."""
    optuna.logging.set_verbosity(logging.ERROR)
    _watched.update(store=store, studies=list(dict.fromkeys(studies)))


def interrupted_message() -> str:
    """The line for a Ctrl-C: with the store's count of kept runs when a grid command was watched."""
    store, studies = _watched.get("store"), _watched.get("studies", [])
    if store is None:
        return "interrupted"
    try:
        kept = sum(len(list_runs(store, name)) for name in studies)
    except Exception:  # noqa: BLE001 - the store itself may be what hangs; the message must still come
        return f"interrupted; finished runs are kept in {store.url}: run the same command again to resume"
    return (f"interrupted: {kept} finished run{'s' * (kept != 1)} kept in {store.url}; run the same command "
            "again to resume (finished runs are reused, the interrupted one starts over)")


def still_running_note(store, studies: list[str]) -> str | None:  # noqa: ANN001
    """A line when points of these studies are marked running: another worker's, or a killed run's."""
    running = sum(len(list_runs(store, name, ("RUNNING",))) for name in dict.fromkeys(studies))
    if not running:
        return None
    return (f"{running} point{'s are' if running > 1 else ' is'} still marked running: by another worker, or by a run "
            f"that was killed; a killed run is retried once its heartbeat is {HEARTBEAT_GRACE_S} s old, so run the "
            "same command again in a minute to finish the grid")
