"""A student edition and a teacher's edition, both generated from the one companion notebook.

The companion notebook (``digitlab/lab/introductie-deep-learning.ipynb``) is the single source. Its cells
follow nbgrader-like conventions, written into the cells' metadata so that JupyterLab shows them as tags:

- a code cell tagged ``student`` holds a solution between ``### BEGIN SOLUTION`` and ``### END SOLUTION``;
  the student edition keeps the code around it (the ``class`` line, a docstring) and replaces the region
  by the placeholder ``todo()`` (digitlab.course): it lets a Run All go on, raises ``NotImplementedError``
  where a function still holding it is called, and makes a cell left open recognisable when graded;
- a markdown cell tagged ``student`` is a written answer; the student edition replaces it whole;
- a code cell tagged ``check`` tests an assignment; it stays in both editions, so a student sees at once
  whether a cell works, and the grader puts the original back before it runs a student's copy;
- a cell tagged ``teacher`` (notes for the teacher: the grading guide) is left out of the student edition;
- a cell tagged ``demo`` only shows something (training runs, figures); grading may skip it.

Every ``student`` and ``check`` cell names its assignment in ``metadata["digitlab"]["assignment"]``; the
assignments themselves (id and the title the course gives them) are listed in the notebook's metadata
``metadata["digitlab"]["assignments"]``. The notebook is plain JSON (nbformat 4): editions are made with
the json module, so ``digitlab notebook --student`` needs no Jupyter package.

Markdown cells never type a setting or a measured figure: they name it, ``{{mlp.epochs}}``, and an edition
is rendered with the values the caller passes (``digitlab.course.facts()``: the presets and the published
benchmark runs), so the notebook cannot drift from them.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path

from digitlab.atomic import atomic_write_text
from digitlab.errors import DigitlabError
from digitlab.packaged import notebook_file

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
CODE_PLACEHOLDER = ("# JOUW CODE HIER", "todo()")  # todo: digitlab.course.placeholder
ANSWER_PLACEHOLDER = "*Schrijf hier je antwoord.*"
STUDENT, CHECK, TEACHER, DEMO = "student", "check", "teacher", "demo"
STUDENT_NAME = "introductie-deep-learning.ipynb"  # what students receive (the name `digitlab notebook` uses)
TEACHER_NAME = "introductie-deep-learning-uitwerkingen.ipynb"  # "uitwerkingen": the worked answers
_MARKER = re.compile(rf"^(?P<indent>[ \t]*)(?P<marker>{BEGIN}|{END})[ \t]*$")
_FACT = re.compile(r"\{\{\s*(?P<name>[\w.-]+)\s*\}\}")  # {{mlp.epochs}} in a markdown cell
EDITIONS = ("student", "teacher", "full")  # "full": the companion notebook itself, solutions and markers kept


@dataclass(frozen=True)
class Assignment:
    """One thing a student hands in: code checked by check cells, or a written answer a teacher reads."""

    id: str  # stable name, used in cell metadata and as the CSV column ("simple-network")
    title: str  # how the course names it ("Stap 3: SimpleNetwork")
    kind: str  # "code" (checked by the check cells) or "answer" (written, read by the teacher)


def source_of(cell: dict) -> str:
    """A cell's source as one string (nbformat stores it as a string or a list of lines)."""
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def tags_of(cell: dict) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def assignment_of(cell: dict) -> str | None:
    """The assignment a ``student`` or ``check`` cell belongs to, or None."""
    return cell.get("metadata", {}).get("digitlab", {}).get("assignment")


def read_notebook(path: Path | None = None) -> dict:
    """The notebook at ``path`` (the packaged companion notebook by default) as a dict."""
    path = notebook_file() if path is None else Path(path)
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise DigitlabError(f"cannot read the notebook {path}: {error.strerror or error}") from error
    except ValueError as error:
        raise DigitlabError(f"{path} is not a notebook (not valid JSON: {error}); give the .ipynb file") from error
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list) or \
            not all(isinstance(cell, dict) for cell in notebook["cells"]):
        raise DigitlabError(f"{path} is not a Jupyter notebook (no list of cells); give the .ipynb file")
    for cell in notebook["cells"]:  # one string per source: what nbclient and the editions work on
        cell["source"] = source_of(cell)
    return notebook


def assignments(notebook: dict) -> list[Assignment]:
    """The assignments the notebook declares, in the course's order."""
    declared = notebook.get("metadata", {}).get("digitlab", {}).get("assignments", [])
    return [Assignment(item["id"], item["title"], item["kind"]) for item in declared]


def strip_solution(source: str) -> str:
    """``source`` with every BEGIN/END SOLUTION region replaced by the placeholder, at the region's indent."""
    lines, out, inside = source.split("\n"), [], False
    for number, line in enumerate(lines, start=1):
        match = _MARKER.match(line)
        if match and match["marker"] == BEGIN:
            if inside:
                raise DigitlabError(f"line {number}: {BEGIN} inside another solution; close it with {END} first")
            inside = True
            out.extend(match["indent"] + placeholder for placeholder in CODE_PLACEHOLDER)
        elif match:
            if not inside:
                raise DigitlabError(f"line {number}: {END} without a {BEGIN} before it")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise DigitlabError(f"a {BEGIN} is never closed with {END}")
    return "\n".join(out)


def drop_markers(source: str) -> str:
    """``source`` with its solutions kept and only the marker lines removed (the teacher's edition)."""
    return "\n".join(line for line in source.split("\n") if not _MARKER.match(line))


def _with_source(cell: dict, source: str) -> dict:
    cell = copy.deepcopy(cell)
    cell["source"] = source
    if cell.get("cell_type") == "code":
        cell["outputs"], cell["execution_count"] = [], None
    return cell


def _where(cell: dict, index: int) -> str:
    return f"cell {index} ({assignment_of(cell) or 'no assignment'})"


def student_edition(notebook: dict) -> dict:
    """The notebook with every ``student`` cell left open and the ``teacher`` cells left out."""
    cells = []
    for index, cell in enumerate(notebook["cells"]):
        tags = tags_of(cell)
        if TEACHER in tags:
            continue
        if STUDENT not in tags:
            cells.append(_with_source(cell, source_of(cell)) if cell.get("cell_type") == "code" else copy.deepcopy(cell))
        elif cell.get("cell_type") == "markdown":
            cells.append(_with_source(cell, ANSWER_PLACEHOLDER))
        elif BEGIN in source_of(cell):
            try:
                cells.append(_with_source(cell, strip_solution(source_of(cell))))
            except DigitlabError as error:
                raise DigitlabError(f"{_where(cell, index)}: {error}") from None
        else:
            raise DigitlabError(f"{_where(cell, index)} is tagged {STUDENT!r} but has no {BEGIN} ... {END} region")
    return {**copy.deepcopy({k: v for k, v in notebook.items() if k != "cells"}), "cells": cells}


def teacher_edition(notebook: dict) -> dict:
    """The full worked notebook: every solution and answer in place, the marker lines removed."""
    cells = [_with_source(cell, drop_markers(source_of(cell))) if cell.get("cell_type") == "code" else copy.deepcopy(cell)
             for cell in notebook["cells"]]
    return {**copy.deepcopy({k: v for k, v in notebook.items() if k != "cells"}), "cells": cells}


def is_open(cell: dict) -> bool:
    """True when a ``student`` cell still holds nothing but what the student edition put there."""
    text = source_of(cell).strip()
    if cell.get("cell_type") == "markdown":
        return text in ("", ANSWER_PLACEHOLDER)
    # the placeholder still raises: whatever else the cell holds, it cannot run (nbgrader's rule too)
    return any(line.strip() == CODE_PLACEHOLDER[1] for line in text.split("\n"))


def fill(notebook: dict, answers: dict[str, str]) -> dict:
    """A copy of a student edition with the open cells of the named assignments filled in.

    ``answers`` maps an assignment id to the code (or text) that replaces the placeholder: the code replaces
    the placeholder lines of the assignment's first open code cell, keeping their indent; an answer replaces
    the whole markdown cell. This is how a reference solution (or a deliberately wrong one) is put into a
    student edition, for testing the checks and for a teacher's dry run.
    """
    notebook, todo = copy.deepcopy(notebook), dict(answers)
    for cell in notebook["cells"]:
        name = assignment_of(cell)
        if STUDENT not in tags_of(cell) or name not in todo or not is_open(cell):
            continue
        if cell.get("cell_type") == "markdown":
            cell["source"] = todo.pop(name)
            continue
        lines, indent = source_of(cell).split("\n"), None
        for line in lines:
            if line.strip() == CODE_PLACEHOLDER[0]:
                indent = line[: len(line) - len(line.lstrip())]
                break
        body = "\n".join(indent + line if line else line for line in todo.pop(name).strip("\n").split("\n"))
        kept = [line for line in lines if line.strip() not in CODE_PLACEHOLDER]
        at = next(i for i, line in enumerate(lines) if line.strip() == CODE_PLACEHOLDER[0])
        cell["source"] = "\n".join(kept[:at] + [body] + kept[at:])
    if todo:
        raise DigitlabError(f"no open cell for {', '.join(sorted(todo))}; the assignments are "
                            f"{', '.join(a.id for a in assignments(notebook))}")
    return notebook


def write_notebook(notebook: dict, target: Path, overwrite: bool = False) -> Path:
    """Write ``notebook`` to ``target`` atomically; an existing file (a student's edited copy) is kept."""
    target = Path(target)
    if target.exists() and not overwrite:
        raise DigitlabError(f"{target} exists already (your own copy, perhaps edited); "
                            "pass --force to replace it, or choose another folder")
    try:
        atomic_write_text(target, json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    except OSError as error:
        raise DigitlabError(f"cannot write the notebook to {target}: {error.strerror or error}") from error
    return target


def fact_names(notebook: dict) -> set[str]:
    """Every ``{{name}}`` the notebook's markdown cells use."""
    return {match["name"] for cell in notebook["cells"] if cell.get("cell_type") == "markdown"
            for match in _FACT.finditer(source_of(cell))}


def render(notebook: dict, facts: dict[str, str]) -> dict:
    """A copy of ``notebook`` with every ``{{name}}`` in its markdown cells replaced by ``facts[name]``."""
    unknown = sorted(fact_names(notebook) - set(facts))
    if unknown:
        raise DigitlabError(f"the notebook names {', '.join(unknown)}, which no fact gives; the facts are {', '.join(sorted(facts))}")
    notebook = copy.deepcopy(notebook)
    for cell in notebook["cells"]:
        if cell.get("cell_type") == "markdown":
            cell["source"] = _FACT.sub(lambda match: facts[match["name"]], source_of(cell))
    return notebook


def write_edition(edition: str, folder: Path, facts: dict[str, str], overwrite: bool = False) -> Path:
    """Write an edition of the companion notebook into ``folder``, its ``{{names}}`` rendered with ``facts``.

    ``edition`` is ``"student"`` (open cells and checks), ``"teacher"`` (worked answers and the grading
    guide) or ``"full"`` (the companion notebook itself, as the course's author edits it).
    """
    source = read_notebook()
    if edition == "student":
        return write_notebook(render(student_edition(source), facts), Path(folder) / STUDENT_NAME, overwrite)
    if edition == "teacher":
        return write_notebook(render(teacher_edition(source), facts), Path(folder) / TEACHER_NAME, overwrite)
    if edition == "full":
        return write_notebook(render(source, facts), Path(folder) / STUDENT_NAME, overwrite)
    raise DigitlabError(f"unknown edition {edition!r}: choose one of {', '.join(EDITIONS)}")
