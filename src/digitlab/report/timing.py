"""Honest timings: was a run timed on a busy machine?

Every run stores how busy the machine was while it ran (``experiments/environment.py``: CPU seconds
against wall seconds, the load average at its start and end, the cores and torch's threads). Two
identical runs on a shared 2-core machine can take 12 s and 21 s; the report marks timings taken under
contention and draws no timing conclusion from them (it drops the comparison and says so: repeat the
runs on a quiet machine to draw it). A run whose
environment lacks the load (a system without ``os.getloadavg``) is judged by its CPU time alone.
"""

from __future__ import annotations

from digitlab.experiments.store import Run
from digitlab.i18n import current

# A run is contended when the runnable processes clearly outnumber the cores at its start or end ... The load counts
# the run's own threads: a quiet 2-core machine running one 2-thread run reads 2.0-2.2 (short-lived processes come and
# go; a Fashion-MNIST lab, alone on the machine, had 46 of its timings between 2.0 and 2.1), while a second heavy job
# brings it to 3-4. A quarter core of slack per core tells the two apart.
LOAD_PER_CORE = 1.25
# ... or when its process got far less CPU than its threads could use: under this share of threads x wall time.
# (A quiet 2-core machine gives a 2-thread run a ratio of about 1-2; 0.35 x 2 = 0.7 means over half the time off-core.)
CPU_SHARE = 0.35
MIN_WALL_SECONDS = 1.0  # shorter runs' ratios are dominated by start-up: judged by load only


def contention(run: Run) -> str | None:
    """Why the run's timings are not trustworthy ('load 5.2 on 2 cores', 'CPU 0.4 s per second with 2 threads'), or None."""
    env = run.result.get("environment") or {}
    cores, threads = env.get("cpu_count"), env.get("torch_threads") or env.get("cpu_count")
    loads = [value for value in (env.get("load_start"), env.get("load_end")) if isinstance(value, int | float)]
    if cores and loads and max(loads) > LOAD_PER_CORE * cores:
        return current()("timing.load", load=current().numbers.decimal(max(loads), 1), cores=cores)
    ratio, wall = env.get("cpu_per_wall"), env.get("wall_seconds") or 0.0
    if threads and isinstance(ratio, int | float) and wall >= MIN_WALL_SECONDS and ratio < CPU_SHARE * min(threads, cores or threads):
        return current()("timing.cpu", ratio=current().numbers.decimal(ratio), threads=min(threads, cores or threads))
    return None


def timings_comparable(*runs: Run) -> bool:
    """True when none of the runs was timed under contention: only then does the report compare their times."""
    return all(contention(run) is None for run in runs)
