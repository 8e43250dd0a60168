"""What the grader writes, after every sandbox is gone: the class CSV and one feedback page per student.

Both are written atomically by the grader process alone; no sandbox can see their folder. The CSV has, per
assignment, its status and the reason (what the check saw); a row graded without a sandbox says so. The
feedback page (HTML, in the notebook's language) shows per assignment the verdict, what the check saw and
the hint, and lists the written answers for the teacher to read.
"""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path

from digitlab.atomic import atomic_write_text
from digitlab.errors import DigitlabError
from digitlab.notebooks.catalog import say
from digitlab.notebooks.checks import ANSWERED, FAILED, NOT_ANSWERED, PASSED
from digitlab.notebooks.editions import Assignment
from digitlab.notebooks.grading import Grade
from digitlab.notebooks.sandbox import NONE

STATUSES = (PASSED, FAILED, NOT_ANSWERED, ANSWERED)
STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.5rem;text-align:left;vertical-align:top}
.passed{color:#1a7f37}.failed{color:#cf222e}.open{color:#9a6700}.answered{color:#0969da}
.warning{background:#fff3cd;padding:.5rem}blockquote{white-space:pre-wrap;border-left:3px solid #ddd;margin:0;padding:.25rem 1rem}"""
CSS_CLASS = {PASSED: "passed", FAILED: "failed", NOT_ANSWERED: "open", ANSWERED: "answered"}


def counts(graded: Grade) -> dict[str, int]:
    return {status: sum(outcome.status == status for outcome in graded.outcomes) for status in STATUSES}


def class_table(grades: list[Grade], items: list[Assignment]) -> tuple[list[str], list[list[str]]]:
    """The whole class: one row per notebook; per assignment its status and reason; totals; the sandbox."""
    header = ["notebook"]
    for item in items:
        header += [item.id, f"{item.id} reason"]
    header += [*STATUSES, "seconds", "sandbox", "problem"]
    rows = []
    for graded in grades:
        outcomes = {outcome.assignment: outcome for outcome in graded.outcomes}
        row = [str(graded.path)]
        for item in items:
            outcome = outcomes.get(item.id)
            row += [outcome.status, outcome.saw] if outcome else ["", ""]
        tally = counts(graded)
        sandboxed = "UNSANDBOXED" if graded.sandbox == NONE else graded.sandbox
        row += [*(str(tally[status]) for status in STATUSES), f"{graded.seconds:.1f}", sandboxed, graded.problem]
        rows.append(row)
    return header, rows


def write_class_csv(grades: list[Grade], path: Path, items: list[Assignment]) -> Path:
    """Write :func:`class_table` as CSV, atomically (a spreadsheet open on the old file sees it whole)."""
    header, rows = class_table(grades, items)
    lines = io.StringIO()
    writer = csv.writer(lines)
    writer.writerow(header)
    writer.writerows(rows)
    return _write(Path(path), lines.getvalue(), "the class table")


def page(graded: Grade, items: list[Assignment]) -> str:
    """One student's feedback page as HTML, in the notebook's language."""
    lang, e = graded.language, html.escape
    outcomes = {outcome.assignment: outcome for outcome in graded.outcomes}
    title = say("page.title", lang, notebook=graded.path.name)
    parts = [f"<!doctype html><html lang='{lang}'><meta charset='utf-8'><title>{e(title)}</title><style>{STYLE}</style>",
             f"<h1>{e(title)}</h1><p>{e(say('page.intro', lang))}</p>"]
    if graded.sandbox == NONE:
        parts.append(f"<p class='warning'>{e(say('unsandboxed', lang))}</p>")
    if graded.problem:
        parts.append(f"<p class='warning'>{e(say('page.problem', lang))}: {e(graded.problem)}</p>")
    parts.append(f"<table><tr><th>{e(say('page.assignment', lang))}</th><th>{e(say('page.status', lang))}</th>"
                 f"<th>{e(say('page.saw', lang))}</th><th>{e(say('page.hint', lang))}</th></tr>")
    for item in items:
        outcome = outcomes.get(item.id)
        if outcome is None or item.kind == "answer":
            continue
        parts.append(f"<tr><td>{e(item.title)}</td><td class='{CSS_CLASS[outcome.status]}'>{e(say(outcome.status, lang))}</td>"
                     f"<td>{e(outcome.saw)}</td><td>{e(outcome.hint)}</td></tr>")
    parts.append(f"</table><h2>{e(say('page.answers', lang))}</h2>")
    for item in items:
        outcome = outcomes.get(item.id)
        if outcome is not None and (item.kind == "answer" or outcome.answer):  # code without a check: read by the teacher too
            text = f"<blockquote>{e(outcome.answer)}</blockquote>" if outcome.answer else f"<p class='open'>{e(say(NOT_ANSWERED, lang))}</p>"
            parts.append(f"<h3>{e(item.title)}</h3>{text}")
    return "\n".join(parts) + "\n</html>\n"


def write_feedback(grades: list[Grade], folder: Path, items: list[Assignment]) -> list[Path]:
    """One page per notebook in ``folder`` (named after the notebook; the same names twice get the folder too)."""
    folder = Path(folder)
    names = [graded.path.stem for graded in grades]
    written = []
    for graded, name in zip(grades, names, strict=True):
        if names.count(name) > 1:
            name = f"{graded.path.parent.name}-{name}"
        written.append(_write(folder / f"{name}.html", page(graded, items), "a feedback page"))
    return written


def _write(path: Path, text: str, what: str) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, text)
    except OSError as error:
        raise DigitlabError(f"cannot write {what} to {path}: {error.strerror or error}") from error
    return path
