"""``digitlab check``: run students' notebooks and say per assignment passed / failed / not answered."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from digitlab.cli.common import console
from digitlab.errors import DigitlabError
from digitlab.notebooks.editions import assignments, read_notebook
from digitlab.notebooks.grading import ANSWERED, FAILED, NOT_ANSWERED, PASSED, Grade, Limits, grade_all, write_class_csv

STYLE = {PASSED: "green", FAILED: "red", NOT_ANSWERED: "yellow", ANSWERED: "cyan"}


def _print(graded: Grade, titles: dict[str, str]) -> None:
    counts = {status: sum(o.status == status for o in graded.outcomes) for status in (PASSED, FAILED, NOT_ANSWERED, ANSWERED)}
    console.print(f"[bold]{escape(str(graded.path))}[/bold]  {counts[PASSED]} passed, {counts[FAILED]} failed, "
                  f"{counts[NOT_ANSWERED]} not answered, {counts[ANSWERED]} written answers to read  ({graded.seconds:.1f} s)",
                  highlight=False)
    if graded.problem:
        console.print(f"  [red]{escape(graded.problem)}[/red]", highlight=False)
    for outcome in graded.outcomes:
        detail = f"  {escape(outcome.detail)}" if outcome.detail else ""
        status = f"[{STYLE[outcome.status]}]{outcome.status:12s}[/{STYLE[outcome.status]}]"
        console.print(f"  {status} {escape(titles.get(outcome.assignment, outcome.assignment))}{detail}", highlight=False)


def check(
    notebooks: Annotated[list[Path], typer.Argument(help="The students' notebooks (.ipynb).", metavar="NOTEBOOK...")],
    timeout: Annotated[int, typer.Option("--timeout", min=1, help="Seconds one notebook may run in all.")] = Limits.total_s,
    cell_timeout: Annotated[int, typer.Option("--cell-timeout", min=1, help="Seconds one cell may run.")] = Limits.cell_s,
    csv: Annotated[Path | None, typer.Option("--csv", help="Write the whole class as one CSV table here.")] = None,
    full: Annotated[bool, typer.Option("--full", help="Run on all the data, not the notebook's quick mode.")] = False,
    all_cells: Annotated[bool, typer.Option("--all-cells", help="Also run the demo cells (training runs, figures).")] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Notebooks to run at once (each its own kernel).")] = 1,
) -> None:
    """Run each notebook in a fresh Jupyter kernel (offline, time-limited) with the companion notebook's checks."""
    missing = [str(path) for path in notebooks if not path.is_file()]
    if missing:
        raise DigitlabError(f"no such notebook: {', '.join(missing)}; give the students' .ipynb files")
    titles = {a.id: a.title for a in assignments(read_notebook())}
    limits = Limits(cell_s=min(cell_timeout, timeout), total_s=timeout, quick=not full, all_cells=all_cells)
    grades = grade_all(notebooks, limits, on_graded=lambda graded: _print(graded, titles), jobs=jobs)
    if csv is not None:
        write_class_csv(grades, csv)
        console.print(f"[green]✓[/green] {len(grades)} notebooks: {csv}", highlight=False)
