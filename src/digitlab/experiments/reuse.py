"""A run is computed once per store: a grid point whose resolved spec equals a finished run's is that run.

Sweeps overlap on purpose. The lab's CNN part and its robustness part train the same network with
the same preset (one is the other's "without augmentation" row); the hidden-size and depth sweeps
share their 512-512 point. The spec decides every number a run produces (seeded inside the
pipeline, :mod:`digitlab.experiments.runner`), so a second computation could only repeat the first:
on a laptop CPU it would cost the lab a minute. A reused run's result is the earlier run's, timings
and environment included (it is that computation), plus ``reused_from``: the run it came from.

A sweep that keeps its models (``save_model``) always trains its own: a reused result has no
checkpoint in that sweep's folder.
"""

from __future__ import annotations

import json
from typing import Any

from optuna.storages import RDBStorage

from digitlab.experiments.spec import RunSpec
from digitlab.experiments.store import Run, list_runs
from digitlab.experiments.sweep import Report, SpecEvaluate

REUSED_FROM = "reused_from"  # result key: {"run": store id, "study": name} of the run whose result this is


def spec_key(spec: dict[str, Any]) -> str:
    """One string per resolved spec (RunSpec.to_dict()): equal strings, equal runs."""
    return json.dumps(spec, sort_keys=True)


def finished_by_spec(storage: RDBStorage) -> dict[str, Run]:
    """Every finished run of the store that ran all of its spec (no budget or pruning cut it short), by its spec's key."""
    index: dict[str, Run] = {}
    for run in list_runs(storage, None, ("COMPLETE",)):
        if run.spec is not None and run.result.get("stopped") is None and REUSED_FROM not in run.result:
            index.setdefault(spec_key(run.spec.to_dict()), run)
    return index


def reusing(evaluate: SpecEvaluate, storage: RDBStorage) -> SpecEvaluate:
    """``evaluate`` that first looks for a finished run with the same resolved spec in ``storage``.

    The store is read once, when this is called: the lab calls it before each sweep, so every sweep
    sees the runs of the sweeps before it.
    """
    index = finished_by_spec(storage)

    def evaluate_or_reuse(spec: RunSpec, report: Report) -> dict[str, Any]:
        earlier = index.get(spec_key(spec.to_dict()))
        if earlier is None:
            return evaluate(spec, report)
        return {**earlier.result, REUSED_FROM: {"run": earlier.id, "study": earlier.study}}

    return evaluate_or_reuse
