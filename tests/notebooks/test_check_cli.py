"""`digitlab check` on the command line: the table per notebook, the class CSV, and bad input."""

from __future__ import annotations

import csv

from digitlab.cli.main import main
from digitlab.notebooks.editions import assignments, read_notebook, student_edition, write_notebook


def test_check_prints_each_assignment_and_writes_the_class_csv(tmp_path, capsys):
    # An untouched student edition needs no kernel: every assignment is simply not answered.
    handout = write_notebook(student_edition(read_notebook()), tmp_path / "anna.ipynb")
    assert main(["check", str(handout), "--csv", str(tmp_path / "class.csv"), "--timeout", "60"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    titles = [a.title for a in assignments(read_notebook())]
    assert f"0 passed, 0 failed, {len(titles)} not answered" in out
    assert all(title in out for title in titles)
    rows = list(csv.reader((tmp_path / "class.csv").read_text().splitlines()))
    assert rows[0][0] == "notebook" and rows[1][0] == str(handout) and set(rows[1][1:len(titles) + 1]) == {"not answered"}


def test_check_names_a_missing_notebook(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nobody.ipynb")]) == 1
    assert "no such notebook" in capsys.readouterr().err
