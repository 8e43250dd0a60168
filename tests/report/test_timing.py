"""Honest timings: runs timed on a busy machine are marked, and no timing conclusion is drawn from them."""

from __future__ import annotations

from datetime import datetime

from digitlab.experiments.store import Run
from digitlab.report.links import Links
from digitlab.report.timing import contention, timings_comparable


def run_with(environment: dict, run_id: int = 1) -> Run:
    return Run(id=run_id, study="s", number=0, state="COMPLETE", params={}, value=0.9, config={"kind": "network"},
               result={"metrics": {"train_seconds": 12.4}, "environment": environment}, started=None, finished=datetime(2026, 12, 1))


QUIET = {"cpu_count": 2, "torch_threads": 2, "load_start": 1.6, "load_end": 2.0, "cpu_per_wall": 1.9, "wall_seconds": 12.4}


def test_load_above_the_cores_or_cpu_far_below_the_threads_is_contention():
    assert contention(run_with(QUIET)) is None
    assert contention(run_with({**QUIET, "load_end": 5.2})) == "load 5.2 on 2 cores"
    assert contention(run_with({**QUIET, "load_end": 2.2})) is None  # the run's own two threads and a little more
    assert contention(run_with({**QUIET, "load_start": 2.7})) == "load 2.7 on 2 cores"  # more than the run itself
    assert "0.40 CPU seconds per second with 2 threads" == contention(run_with({**QUIET, "cpu_per_wall": 0.4}))
    assert contention(run_with({**QUIET, "cpu_per_wall": 0.4, "wall_seconds": 0.2})) is None  # too short to judge by CPU
    assert contention(run_with({"cpu_count": 2})) is None  # no load or CPU time recorded: nothing says it was contended
    assert not timings_comparable(run_with(QUIET), run_with({**QUIET, "load_start": 6.0}, 2))


def test_a_contended_time_is_marked_with_its_reason():
    links = Links()
    assert "⚠" not in links.train_time(run_with(QUIET))
    marked = links.train_time(run_with({**QUIET, "load_end": 5.2}))
    assert "12.4 s" in marked and "⚠" in marked and "load 5.2 on 2 cores" in marked
