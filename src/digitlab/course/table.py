"""A student's results table, read the way the student wrote it, and shown as one table.

The course asks for "a table of your runs"; students write that in many ways. Accepted: a list (or tuple)
of :class:`~digitlab.course.runs.Score` objects or of dicts (``{"epochs": 5, "batch_size": 64,
"accuracy": 0.92, ...}``), a dict whose values are those, or a pandas DataFrame. An accuracy may be a
fraction (0.92) or a percentage (92.0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from digitlab.course.facts import NUMBERS
from digitlab.course.runs import Score

ACCURACY_KEYS = ("accuracy", "acc", "test_accuracy", "nauwkeurigheid")  # what a student may call the accuracy
PERCENT_ABOVE = 1.0  # an accuracy above this is a percentage


class TableError(ValueError):
    """The table cannot be read as rows of settings and an accuracy; the message (Dutch) says why."""


def _row(item: Any, number: int) -> dict[str, Any]:
    if isinstance(item, Score):
        return item.row()
    if isinstance(item, Mapping):
        row = dict(item)
        key = next((key for key in ACCURACY_KEYS if key in row), None)
        if key is None:
            raise TableError(f"rij {number} heeft geen accuracy: geef elke rij een 'accuracy' (de uitkomst van je run)")
        value = row.pop(key)
        if isinstance(value, Score):  # {"epochs": 5, "accuracy": train_and_score(...)}
            row.update(value.settings)
            value = value.accuracy
        try:
            accuracy = float(value)
        except (TypeError, ValueError):
            raise TableError(f"rij {number}: de accuracy {value!r} is geen getal") from None
        row["accuracy"] = accuracy / 100 if accuracy > PERCENT_ABOVE else accuracy
        return row
    raise TableError(f"rij {number} is een {type(item).__name__}; zet in je tabel per run de uitkomst van "
                     "train_and_score / knn_and_score, of een dict met de instellingen en de accuracy")


def rows_of(table: Any) -> list[dict[str, Any]]:
    """The table as a list of dicts, each with an ``accuracy`` fraction and the run's settings."""
    if hasattr(table, "to_dict") and hasattr(table, "columns"):  # a pandas DataFrame
        table = table.to_dict("records")
    elif isinstance(table, Mapping):
        table = list(table.values())
    if not isinstance(table, list | tuple):
        raise TableError(f"je tabel is een {type(table).__name__}; maak er een lijst van, met één rij per run")
    return [_row(item, number) for number, item in enumerate(table, start=1)]


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return NUMBERS.short(value)
    if isinstance(value, tuple):
        return "-".join(map(str, value))
    return "" if value is None else str(value)


SHOWN = ("dataset", "model", "layers", "parameters", "epochs", "batch_size", "k", "metric", "weights", "on", "train_size")


def show_table(table: Any) -> str:
    """The table as aligned text (settings that vary, accuracy in %, seconds); printed by the notebook."""
    rows = rows_of(table)
    if not rows:
        return "(nog geen runs in deze tabel)"
    columns = [key for key in SHOWN if any(key in row for row in rows) and len({repr(row.get(key)) for row in rows}) > 1]
    columns = columns or [key for key in SHOWN if key in rows[0]][:2]
    header = [*columns, "accuracy", "seconden"]
    body = [[*(_cell(row.get(key)) for key in columns), NUMBERS.percent(row["accuracy"]),
             "" if row.get("seconds") is None else NUMBERS.decimal(row["seconds"], 1)] for row in rows]
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(len(header))]
    return "\n".join("  ".join(str(value).rjust(width) for value, width in zip(line, widths, strict=True)) for line in [header, *body])
