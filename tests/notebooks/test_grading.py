"""`digitlab check`'s grader on a small generated class: right, wrong, empty, crashing, endless and hung notebooks.

The notebooks are generated from a tiny reference notebook (no data, no training), so each one costs
a kernel start and little else; the companion notebook itself is graded in test_student_edition.py.
"""

from __future__ import annotations

import csv
import time
import uuid

import pytest

from digitlab.errors import DigitlabError
from digitlab.notebooks.editions import BEGIN, END, fill, student_edition, write_notebook
from digitlab.notebooks.grading import ANSWERED, FAILED, NOT_ANSWERED, PASSED, Limits, class_table, grade, grade_all, write_class_csv

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

LIMITS = Limits(cell_s=4, total_s=30)  # the cells here need milliseconds; the endless ones are cut at 4 s
# The notebook limit counts from a started kernel: starting and stopping one take seconds more on a busy machine
KERNEL_START_STOP_S = 20
BOUND_S = LIMITS.total_s + KERNEL_START_STOP_S


def _code(source, *tags, assignment=None):
    metadata = {"tags": list(tags), **({"digitlab": {"assignment": assignment}} if assignment else {})}
    return {"cell_type": "code", "id": uuid.uuid4().hex[:8], "source": source, "metadata": metadata, "outputs": [], "execution_count": None}


def _markdown(source, *tags, assignment=None):
    metadata = {"tags": list(tags), **({"digitlab": {"assignment": assignment}} if assignment else {})}
    return {"cell_type": "markdown", "id": uuid.uuid4().hex[:8], "source": source, "metadata": metadata}


REFERENCE = {
    "nbformat": 4, "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                 "digitlab": {"assignments": [{"id": "add", "title": "Opdracht 1: optellen", "kind": "code"},
                                              {"id": "offline", "title": "Opdracht 2: offline", "kind": "code"},
                                              {"id": "why", "title": "Vraag", "kind": "answer"}]}},
    "cells": [
        _code("import socket\nbase = 10"),
        _code(f"def add(a, b):\n    {BEGIN}\n    return a + b\n    {END}", "student", assignment="add"),
        _code("assert add(2, 3) == 5, f'add(2, 3) gaf {add(2, 3)}, verwacht 5'\nprint('ok')", "check", assignment="add"),
        _code(f"{BEGIN}\ntry:\n    socket.create_connection(('192.0.2.1', 80), timeout=2)\n    blocked = False\n"
              f"except OSError as error:\n    blocked = 'offline' in str(error)\n{END}", "student", assignment="offline"),
        _code("assert blocked, 'the network was reachable'", "check", assignment="offline"),
        _markdown("Omdat het kan.", "student", assignment="why"),
        _code("time_wasted = sum(range(10**6))", "demo"),
    ],
}
OFFLINE = ("try:\n    socket.create_connection(('192.0.2.1', 80), timeout=2)\n    blocked = False\n"
           "except OSError as error:\n    blocked = 'offline' in str(error)")


def _student(**answers):
    return fill(student_edition(REFERENCE), answers)


def _statuses(graded):
    return {outcome.assignment: outcome.status for outcome in graded.outcomes}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    wrong = _student(add="return a - b", offline=OFFLINE)
    for cell in wrong["cells"]:  # a student who "fixes" the check: the reference check is run anyway
        if "check" in cell["metadata"]["tags"] and cell["metadata"]["digitlab"]["assignment"] == "add":
            cell["source"] = "pass"
    notebooks = {
        "right": _student(add="return a + b", offline=OFFLINE, why="Omdat een sigmoid ..."),
        "wrong": wrong,
        "empty": student_edition(REFERENCE),
        "crashing": _student(add="import os\nos._exit(1)", offline=OFFLINE),
        "endless": _student(add="while True:\n    pass", offline=OFFLINE),
        "noisy": _student(add="while True:\n    print('x' * 10_000)", offline=OFFLINE),
        "hung": _student(add="import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass", offline=OFFLINE),
    }
    paths = {name: write_notebook(notebook, folder / f"{name}.ipynb") for name, notebook in notebooks.items()}
    (folder / "broken.ipynb").write_text("{not json")
    paths["broken"] = folder / "broken.ipynb"
    results = {}
    for name, path in paths.items():
        if name not in ("right", "wrong"):  # those two are graded together, two at a time, below
            started = time.monotonic()
            results[name] = (grade(path, REFERENCE, LIMITS), time.monotonic() - started)
    right, wrong = grade_all([paths["right"], paths["wrong"]], LIMITS, jobs=2, reference=REFERENCE)
    results["right"], results["wrong"] = (right, right.seconds), (wrong, wrong.seconds)
    return results


def test_a_right_notebook_passes_and_runs_offline(graded_class):
    graded, _ = graded_class["right"]
    assert _statuses(graded) == {"add": PASSED, "offline": PASSED, "why": ANSWERED} and not graded.problem


def test_a_wrong_notebook_fails_with_the_reference_check_s_message(graded_class):
    graded, _ = graded_class["wrong"]
    assert _statuses(graded) == {"add": FAILED, "offline": PASSED, "why": NOT_ANSWERED}
    (add,) = [o for o in graded.outcomes if o.assignment == "add"]
    assert "AssertionError" in add.detail and "add(2, 3) gaf -1" in add.detail


def test_an_empty_notebook_is_not_answered_without_starting_a_kernel(graded_class):
    graded, seconds = graded_class["empty"]
    assert set(_statuses(graded).values()) == {NOT_ANSWERED} and seconds < 1


def test_a_crashing_kernel_fails_its_notebook_only(graded_class):
    graded, seconds = graded_class["crashing"]
    statuses = _statuses(graded)
    assert statuses["add"] == FAILED and statuses["offline"] == FAILED
    assert "died" in next(o.detail for o in graded.outcomes if o.assignment == "add")
    assert seconds < BOUND_S


def test_an_endless_cell_is_interrupted_and_the_rest_still_graded(graded_class):
    graded, seconds = graded_class["endless"]
    assert _statuses(graded) == {"add": FAILED, "offline": PASSED, "why": NOT_ANSWERED}
    assert "time limit" in next(o.detail for o in graded.outcomes if o.assignment == "add")
    assert seconds < BOUND_S


def test_an_endless_print_loop_is_cut_off_like_any_endless_cell(graded_class):
    graded, seconds = graded_class["noisy"]
    assert _statuses(graded)["add"] == FAILED and _statuses(graded)["offline"] == PASSED
    assert "time limit" in next(o.detail for o in graded.outcomes if o.assignment == "add")
    assert seconds < BOUND_S


def test_a_kernel_that_ignores_the_interrupt_is_killed_in_time(graded_class):
    graded, seconds = graded_class["hung"]
    statuses = _statuses(graded)
    assert statuses["add"] == FAILED and statuses["offline"] == FAILED
    assert "killed" in next(o.detail for o in graded.outcomes if o.assignment == "offline")
    assert seconds < LIMITS.cell_s + 10 + 20  # the cell's limit, the probe's, and a kernel start on a busy machine


def test_an_unreadable_notebook_is_one_line_not_a_crash(graded_class):
    graded, _ = graded_class["broken"]
    assert "not valid JSON" in graded.problem and _statuses(graded)["add"] == FAILED


def test_the_class_table_has_one_row_per_notebook(graded_class, tmp_path):
    grades = [graded for graded, _ in graded_class.values()]
    header, rows = class_table(grades, REFERENCE)
    assert header[:4] == ["notebook", "add", "offline", "why"] and len(rows) == len(grades)
    right = next(row for row in rows if row[0].endswith("right.ipynb"))
    assert right[1:8] == [PASSED, PASSED, ANSWERED, "2", "0", "0", "1"]
    written = write_class_csv(grades, tmp_path / "class.csv", REFERENCE)
    assert list(csv.reader(written.read_text().splitlines())) == [header, *rows]
    with pytest.raises(DigitlabError, match="cannot write the class table"):
        write_class_csv(grades, tmp_path)  # a folder, not a file
