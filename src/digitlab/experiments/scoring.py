"""Accuracy on changed test sets, scored the same way for every run that asks for it (network or k-NN alike).

The plain test scores (accuracy, macro accuracy, confusion, per-image predictions) come from
:func:`digitlab.evaluation.scores.score_split`.
"""

from __future__ import annotations

import time
from typing import Any

from digitlab.datasets import Split
from digitlab.experiments.spec import RunSpec
from digitlab.robustness.evaluate import Predictor, parse_transforms, robustness_table

ROBUSTNESS_SEED = 0  # every run of every sweep is scored on the same changed test images, whatever its own seed


def robustness_result(spec: RunSpec, predict: Predictor, test: Split) -> dict[str, Any]:
    """``{"robustness": {transform: {strength: accuracy}}, "robustness_size": n, "robustness_seconds": s}`` for
    ``spec.robustness`` ("" = none), the changed sets made of the first ``spec.robustness_limit`` test images (None: all).

    A lab scores dozens of changed sets per run (38 for the six transforms): on a laptop CPU a few
    thousand images per set draw the curves to a few tenths of a point at a fraction of the cost.
    """
    if not spec.robustness:
        return {}
    started = time.perf_counter()
    test = test.head(spec.robustness_limit)
    rows = robustness_table({"model": predict}, test, parse_transforms(spec.robustness), seed=ROBUSTNESS_SEED)
    measured: dict[str, dict[str, float]] = {}
    for row in rows:
        measured.setdefault(row["transform"], {})[f"{row['strength']:g}"] = row["accuracy"]
    return {"robustness": measured, "robustness_size": len(test), "robustness_seconds": time.perf_counter() - started}
