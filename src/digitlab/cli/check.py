"""``digitlab check``: grade students' notebooks, each in its own sandbox; a summary, a class CSV, feedback pages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from digitlab.cli.common import console, err_console
from digitlab.errors import DigitlabError
from digitlab.notebooks.catalog import say
from digitlab.notebooks.checks import ANSWERED, FAILED, NOT_ANSWERED, PASSED
from digitlab.notebooks.editions import assignments, read_notebook
from digitlab.notebooks.feedback import counts, write_class_csv, write_feedback
from digitlab.notebooks.grading import Grade, Limits, grade_all
from digitlab.notebooks.sandbox import AUTO, KINDS, NONE

STYLE = {PASSED: "green", FAILED: "red", NOT_ANSWERED: "yellow", ANSWERED: "cyan"}
UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}
MIN_MEMORY = 512 * 2**20  # below this not even Python with torch starts


def memory_bytes(text: str) -> int:
    """'4G', '1500M' or a number of bytes, as bytes; a one-line error for anything else."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?)B?\s*", text.upper())
    if not match:
        raise DigitlabError(f"--memory {text}: give a size like 4G or 1500M")
    value = int(float(match[1]) * UNITS[match[2]])
    if value < MIN_MEMORY:
        raise DigitlabError(f"--memory {text}: at least 512M (Python with torch needs that much to start)")
    return value


def _print(graded: Grade, titles: dict[str, str]) -> None:
    lang, tally = graded.language, counts(graded)
    summary = say("summary", lang, passed=tally[PASSED], failed=tally[FAILED], open=tally[NOT_ANSWERED],
                  answered=tally[ANSWERED], seconds=graded.seconds)
    console.print(f"[bold]{escape(str(graded.path))}[/bold]  {escape(summary)}", highlight=False)
    if graded.problem:
        console.print(f"  [red]{escape(graded.problem)}[/red]", highlight=False)
    for outcome in graded.outcomes:
        words = " ".join(part for part in (outcome.saw, outcome.hint) if part)
        status = f"[{STYLE[outcome.status]}]{say(outcome.status, lang):14s}[/{STYLE[outcome.status]}]"
        console.print(f"  {status} {escape(titles.get(outcome.assignment, outcome.assignment))}  {escape(words)}", highlight=False)


def check(
    notebooks: Annotated[list[Path], typer.Argument(help="The students' notebooks (.ipynb).", metavar="NOTEBOOK...")],
    timeout: Annotated[int, typer.Option("--timeout", min=1, help="Seconds one notebook may take in all.")] = Limits.total_s,
    cell_timeout: Annotated[int, typer.Option("--cell-timeout", min=1, help="Seconds one cell or one check may take.")] = Limits.cell_s,
    csv: Annotated[Path | None, typer.Option("--csv", help="Write the whole class as one CSV table here.")] = None,
    feedback: Annotated[Path | None, typer.Option("--feedback", help="Write one feedback page (HTML) per student into this folder.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Notebooks to check at once (each in its own sandbox).")] = 1,
    sandbox: Annotated[str, typer.Option("--sandbox", help=f"Isolation: {', '.join(KINDS)} (auto: bubblewrap, else Docker, else Podman).")] = AUTO,
    memory: Annotated[str, typer.Option("--memory", help="Memory one sandboxed process may use (4G, 1500M).")] = "4G",
) -> None:
    """Check each notebook's code in its own sandbox (no network, own files only, limited memory and time).

    Verdicts are decided outside the sandbox; the console summary and feedback pages are in the notebook's language.
    """
    missing = [str(path) for path in notebooks if not path.is_file()]
    if missing:
        raise DigitlabError(f"no such notebook: {', '.join(missing)}; give the students' .ipynb files")
    if sandbox == NONE:
        err_console.print("[bold red]warning:[/bold red] --sandbox none runs the students' code unconfined, with your files "
                          "and network; every CSV row is marked UNSANDBOXED", highlight=False)
    reference = read_notebook()
    items = assignments(reference)
    titles = {item.id: item.title for item in items}
    limits = Limits(cell_s=min(cell_timeout, timeout), total_s=timeout, memory_bytes=memory_bytes(memory), sandbox=sandbox)
    grades = grade_all(notebooks, limits, on_graded=lambda graded: _print(graded, titles), jobs=jobs, reference=reference)
    if csv is not None:
        write_class_csv(grades, csv, items)
        console.print(f"[green]✓[/green] {len(grades)} notebooks: {escape(str(csv))}", highlight=False)
    if feedback is not None:
        pages = write_feedback(grades, feedback, items)
        console.print(f"[green]✓[/green] {len(pages)} feedback pages: {escape(str(feedback))}", highlight=False)
