"""``digitlab runs``: read the results store (tables in the terminal, CSV/JSON export)."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from digitlab.atomic import atomic_write_text
from digitlab.cli.common import StorageOption, console, writable_file
from digitlab.experiments import get_run, list_runs, open_storage
from digitlab.experiments.export import SUMMARY_METRICS, run_record, to_csv, to_json
from digitlab.experiments.store import Run

app = typer.Typer(rich_markup_mode=None, help="List, show, compare and export the runs in the results store.", no_args_is_help=True)

StudyOption = Annotated[str | None, typer.Option("--study", help="Only this study (see 'runs list').", show_default="every study")]
AllOption = Annotated[bool, typer.Option("--all", help="Include unfinished, failed and pruned runs.")]


PERCENT_FIELDS = ("accuracy",)  # fractions shown as percentages; seconds, losses and rates stay numbers


def _format(value: Any, name: str = "") -> str:
    """A number for a table: a percentage only for accuracy-like fields (0.16 s is no "16.00%")."""
    if value is None:
        return "–"
    if isinstance(value, float):
        if any(part in name for part in PERCENT_FIELDS) and 0 <= value <= 1:
            return f"{value * 100:.2f}%"
        return f"{value:.4g}" if abs(value) < 1 else f"{value:.2f}"
    return str(value)


def _params(run: Run) -> str:
    return ", ".join(f"{key.split('.')[-1]}={value}" for key, value in run.params.items())


@app.command("list", help="One line per run: id, study, params, validation and test accuracy, seconds.")
def list_command(study: StudyOption = None, all_states: AllOption = False, storage: StorageOption = None) -> None:
    runs = list_runs(open_storage(storage), study, None if all_states else ("COMPLETE",))
    table = Table("id", "study", "state", "params", "val acc", "test acc", "train s", title=f"{len(runs)} runs")
    for run in runs:
        metrics = run.metrics
        table.add_row(str(run.id), run.study, run.state, _params(run), _format(metrics.get("val_accuracy"), "val_accuracy"),
                      _format(metrics.get("test_accuracy"), "test_accuracy"), _format(metrics.get("train_seconds"), "train_seconds"))
    console.print(table)


@app.command("show", help="Everything stored about one run: its config, the resolved spec it ran, metrics, per-epoch history.")
def show_command(run_id: Annotated[int, typer.Argument(help="Run id from 'runs list'.")], storage: StorageOption = None) -> None:
    run = get_run(open_storage(storage), run_id)
    record = run_record(run)
    history = record["result"].pop("history", [])
    record["result"].pop("confusion", None)
    console.print_json(json.dumps(record, default=str))
    if history:
        table = Table(*history[0].keys(), title="history")
        for epoch in history:
            table.add_row(*(_format(value, name) for name, value in epoch.items()))
        console.print(table)


@app.command("compare", help="Runs side by side: params and summary metrics.")
def compare_command(run_ids: Annotated[list[int], typer.Argument(help="Two or more run ids.")], storage: StorageOption = None) -> None:
    store = open_storage(storage)
    runs = [get_run(store, run_id) for run_id in run_ids]
    table = Table("", *(f"run {run.id}" for run in runs))
    keys = sorted({key for run in runs for key in run.params})
    for key in keys:
        table.add_row(key, *(str(run.params.get(key, "–")) for run in runs))
    for name in SUMMARY_METRICS:
        table.add_row(name, *(_format(run.metrics.get(name), name) for run in runs))
    console.print(table)


class ExportFormat(str, Enum):
    csv = "csv"
    json = "json"


def _writable_file(value: Path) -> Path:
    """--out checked while the command line is parsed (a typer callback takes the value alone)."""
    return writable_file(value)


@app.command("export", help="Write runs as CSV (one flat row each) or JSON (everything).")
def export_command(
    out: Annotated[Path, typer.Option("--out", "-o", callback=_writable_file, metavar="FILE", help="File to write.")],
    format: Annotated[ExportFormat, typer.Option("--format", "-f", help="csv or json.")] = ExportFormat.csv,  # noqa: A002
    study: StudyOption = None,
    all_states: AllOption = False,
    storage: StorageOption = None,
) -> None:
    runs = list_runs(open_storage(storage), study, None if all_states else ("COMPLETE",))
    atomic_write_text(out, to_csv(runs) if format is ExportFormat.csv else to_json(runs))
    console.print(f"[green]✓[/green] wrote {len(runs)} runs to {out}")
