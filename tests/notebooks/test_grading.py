"""`digitlab check`'s grader on a real class in real bubblewrap sandboxes: fair, unforgeable, contained.

One class is graded once (module fixture, two sandboxes at a time): a notebook with a common mistake per
assignment (an endless loop among them), a forging one, and an unusual-but-right one that also tries every
escape from inside a student's cell and reports what it reached. Each notebook costs one
sandbox start (Python, torch, the notebook's setup) plus its checks.
"""

from __future__ import annotations

import csv
import os
import shutil
import socket
import time
from pathlib import Path

import pytest

from digitlab.notebooks import sandbox
from digitlab.notebooks.checks import ANSWERED, CHECKS, FAILED, NOT_ANSWERED, PASSED
from digitlab.notebooks.editions import assignments, read_notebook, write_notebook
from digitlab.notebooks.feedback import write_class_csv, write_feedback
from digitlab.notebooks.grading import Limits, grade_all
from tests.notebooks import grading_class as students

pytestmark = [pytest.mark.realdata, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed (scripts/system-deps.sh installs it)")]

CELL_S = 20  # a student cell or a check: the slowest here trains the 3-layer network one epoch (seconds)
MEMORY = 2 * 2**30  # the sandbox's cap in these tests; the hostile notebook asks for more
LIMITS = Limits(cell_s=CELL_S, total_s=240, memory_bytes=MEMORY)
CODE = [a.id for a in assignments(read_notebook()) if a.kind == "code"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    outside = tmp_path_factory.mktemp("teacher")
    secret = outside / "secret.txt"
    secret.write_text("the answers")
    secret.chmod(0o644)
    listener = socket.create_server(("127.0.0.1", 0))  # a service on the grader's loopback
    probes = []
    original_run = sandbox.run

    def recording_run(*args, **kwargs):
        finished = original_run(*args, **kwargs)
        probes.extend(line for line in finished.channel.decode().splitlines() if '"probe"' in line)
        return finished

    hostile = {"OTHER_NOTEBOOK": str(folder / "mistakes.ipynb"), "SECRET_FILE": str(secret), "OUTSIDE_FILE": str(outside / "escaped.txt"),
               "HOST_PORT": listener.getsockname()[1], "MEMORY_BYTES": MEMORY + 2**30, "CSV_FILE": str(outside / "class.csv")}
    notebooks = {"hostile": students.hostile(hostile), "mistakes": students.mistakes(), "forgery": students.forgery()}
    paths = [write_notebook(notebook, folder / f"{name}.ipynb") for name, notebook in notebooks.items()]
    os.environ["DIGITLAB_TEST_SECRET"] = "grader-only"
    sandbox.run = recording_run
    try:
        grades = grade_all(paths, LIMITS, jobs=2)
    finally:
        sandbox.run = original_run
        os.environ.pop("DIGITLAB_TEST_SECRET")
        listener.close()
    items = assignments(read_notebook())
    csv_path = write_class_csv(grades, outside / "class.csv", items)
    written = csv_path.read_text()
    pages = write_feedback(grades, outside / "feedback", items)
    return {"grades": {graded.path.stem: graded for graded in grades}, "probes": probes, "outside": outside, "secret": secret,
            "csv": csv_path, "csv_text": written, "pages": pages}


def _outcomes(graded, name):
    return {outcome.assignment: outcome for outcome in graded["grades"][name].outcomes}


def test_unusual_but_right_solutions_pass(graded):
    outcomes = _outcomes(graded, "hostile")  # its solutions are the unusual ones; its escapes come after them
    assert {a: outcomes[a].status for a in CODE} == dict.fromkeys(CODE, PASSED), {a: outcomes[a].saw for a in CODE}
    assert "k=5" in outcomes["knn"].saw  # scikit-learn's default KNeighborsClassifier(), found under the name clf
    assert _outcomes(graded, "hostile")["untrained-accuracy"].status == ANSWERED


def test_each_common_mistake_fails_with_its_dutch_hint(graded):
    outcomes = _outcomes(graded, "mistakes")
    assert {a: outcomes[a].status for a in CODE} == dict.fromkeys(CODE, FAILED)
    assert "9 uitgangen" in outcomes["simple-network"].hint
    assert "softmax" in outcomes["complex-network"].saw and "logits" in outcomes["complex-network"].hint
    assert "plaatjes plat te slaan" in outcomes["knn"].hint
    assert "je lus stopt niet: wordt je teller opgehoogd?" in outcomes["training-loop"].hint.lower()  # stopped after CELL_S
    assert graded["grades"]["mistakes"].seconds < LIMITS.total_s
    assert "zero_grad" in _outcomes(graded, "forgery")["training-loop"].hint


def test_forged_work_fails_every_assignment(graded):
    outcomes = _outcomes(graded, "forgery")
    assert {a: outcomes[a].status for a in CODE} == {**dict.fromkeys(CODE, FAILED), "complex-network": NOT_ANSWERED}


def test_hostile_code_reaches_nothing_outside_its_sandbox(graded):
    assert len(graded["probes"]) == 1, "the hostile cell did not run"
    import json

    found = json.loads(graded["probes"][0])["found"]
    expected_blocked = ["read_other", "other_jobs", "read_secret", "environment", "proc_1_environ", "write_outside", "patch_package", "socket",
                        "raw_socket", "reloaded_socket", "urllib", "udp", "curl", "system", "memory", "fill_tmp", "processes"]
    assert {name: found[name] for name in expected_blocked if not found[name].startswith("blocked")} == {}
    assert found["home"] in ("['.pyenv']", "[]") or found["home"].startswith("blocked")
    assert not (graded["outside"] / "escaped.txt").exists() and graded["secret"].read_text() == "the answers"
    import digitlab

    assert "# patched" not in Path(digitlab.__file__).read_text()


def test_no_sandbox_process_outlives_its_notebook_nor_rewrites_the_csv(graded):
    time.sleep(5)  # the hostile notebook's setsid child meant to write the CSV 4 s after it started
    uids = {sandbox.FIRST_UID + slot for slot in range(2)}
    alive = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            uid = int(next(line for line in status.read_text().splitlines() if line.startswith("Uid:")).split()[1])
        except (OSError, StopIteration, ValueError):
            continue
        if uid in uids:
            alive.append(status.parent.name)
    assert alive == []
    assert graded["csv"].read_text() == graded["csv_text"]
    assert _outcomes(graded, "hostile")["knn"].status == PASSED  # its own k-NN still graded


def test_the_class_csv_and_feedback_pages(graded):
    rows = list(csv.DictReader(graded["csv_text"].splitlines()))
    assert [Path(row["notebook"]).stem for row in rows] == list(graded["grades"])
    mistakes = next(row for row in rows if Path(row["notebook"]).stem == "mistakes")
    assert mistakes["simple-network"] == FAILED and "parameters" in mistakes["simple-network reason"]
    assert {row["sandbox"] for row in rows} == {"bwrap"}
    page = next(p for p in graded["pages"] if p.stem == "mistakes").read_text()
    assert "<html lang='nl'>" in page and "plaatjes plat te slaan" in page and "Je geschreven antwoorden" in page
    right = next(p for p in graded["pages"] if p.stem == "hostile").read_text()
    assert "Ongeveer 10%" in right


def test_every_code_assignment_has_a_check():
    # the course's code and its experiments' results tables (checks/experiments.py) alike
    assert set(CODE) <= set(CHECKS)
