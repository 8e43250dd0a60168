"""Runs as flat rows (CSV) or full records (JSON), for spreadsheets and other tools."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from digitlab.experiments.store import Run

SUMMARY_METRICS = ("val_accuracy", "test_accuracy", "macro_accuracy", "train_seconds", "predict_seconds", "num_parameters")


def run_record(run: Run) -> dict[str, Any]:
    """Everything stored about a run, JSON-ready."""
    return {
        "id": run.id,
        "study": run.study,
        "number": run.number,
        "state": run.state,
        "value": run.value,
        "params": run.params,
        "config": run.config,  # what was asked for
        "spec": run.result.get("spec"),  # what ran: every setting resolved (RunSpec.to_dict())
        "result": {key: value for key, value in run.result.items() if key != "spec"},
        "started": run.started.isoformat() if run.started else None,
        "finished": run.finished.isoformat() if run.finished else None,
    }


def run_row(run: Run) -> dict[str, Any]:
    """One flat row: identity, params as JSON, and the summary metrics."""
    row: dict[str, Any] = {"id": run.id, "study": run.study, "state": run.state, "value": run.value,
                           "params": json.dumps(run.params, sort_keys=True)}
    row.update({name: run.metrics.get(name) for name in SUMMARY_METRICS})
    row["finished"] = run.finished.isoformat() if run.finished else None
    return row


def to_json(runs: list[Run]) -> str:
    return json.dumps([run_record(run) for run in runs], indent=2)


def to_csv(runs: list[Run]) -> str:
    buffer = io.StringIO()
    rows = [run_row(run) for run in runs]
    fieldnames = list(rows[0]) if rows else ["id", "study", "state", "value", "params", *SUMMARY_METRICS, "finished"]
    writer = csv.DictWriter(buffer, fieldnames=fieldnames)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
