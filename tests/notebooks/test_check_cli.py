"""`digitlab check` on the command line: the summary per notebook in its language, the class CSV, feedback pages, bad input."""

from __future__ import annotations

import csv
import shutil

import pytest

from digitlab.cli.main import main
from digitlab.notebooks.editions import assignments, read_notebook, student_edition, write_notebook


def test_check_prints_each_assignment_and_writes_the_class_csv_and_feedback(tmp_path, capsys):
    # An untouched student edition needs no sandbox: every assignment is simply not answered.
    handout = write_notebook(student_edition(read_notebook()), tmp_path / "anna.ipynb")
    assert main(["check", str(handout), "--csv", str(tmp_path / "class.csv"), "--feedback", str(tmp_path / "pages"),
                 "--sandbox", "none"]) == 0
    captured = capsys.readouterr()
    out = " ".join(captured.out.split())
    titles = [a.title for a in assignments(read_notebook())]
    assert f"0 goed, 0 fout, {len(titles)} niet ingevuld" in out  # the notebook's language: Dutch
    assert all(title in out for title in titles)
    assert "UNSANDBOXED" in captured.err
    rows = list(csv.DictReader((tmp_path / "class.csv").read_text().splitlines()))
    assert rows[0]["notebook"] == str(handout) and rows[0]["sandbox"] == "UNSANDBOXED"
    assert {rows[0][a.id] for a in assignments(read_notebook())} == {"not answered"}
    page = (tmp_path / "pages" / "anna.html").read_text()
    assert "ZONDER SANDBOX" in page and "niet ingevuld" in page


def test_check_names_a_missing_notebook_and_a_bad_memory_size(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nobody.ipynb")]) == 1
    assert "no such notebook" in capsys.readouterr().err
    handout = write_notebook(student_edition(read_notebook()), tmp_path / "anna.ipynb")
    assert main(["check", str(handout), "--memory", "lots", "--sandbox", "none"]) == 1
    assert "--memory lots" in capsys.readouterr().err


def test_auto_refuses_with_an_install_hint_when_no_sandbox_exists(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    handout = write_notebook(student_edition(read_notebook()), tmp_path / "anna.ipynb")
    assert main(["check", str(handout)]) == 1
    assert "install bubblewrap" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed (scripts/system-deps.sh installs it)")
def test_auto_picks_bubblewrap_where_installed():
    from digitlab.notebooks.grading import choose_sandbox
    from digitlab.notebooks.sandbox import BWRAP

    assert choose_sandbox("auto") == BWRAP
