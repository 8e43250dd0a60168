"""The student and teacher editions come from the one companion notebook: open cells, checks, worked answers."""

from __future__ import annotations

import json
import re

import pytest

from digitlab.cli.main import main
from digitlab.course import facts
from digitlab.errors import DigitlabError
from digitlab.notebooks.editions import (
    ANSWER_PLACEHOLDER,
    BEGIN,
    CHECK,
    CODE_PLACEHOLDER,
    END,
    STUDENT,
    STUDENT_NAME,
    TEACHER_NAME,
    assignment_of,
    assignments,
    fact_names,
    fill,
    is_open,
    read_notebook,
    render,
    source_of,
    strip_solution,
    student_edition,
    tags_of,
    teacher_edition,
)

SOURCE = read_notebook()


def _cells(notebook, tag):
    return [cell for cell in notebook["cells"] if tag in tags_of(cell)]


def test_every_assignment_has_an_open_cell_and_every_code_assignment_a_check():
    declared = {a.id: a.kind for a in assignments(SOURCE)}
    assert {"simple-network", "training-loop", "complex-network", "knn"} <= {k for k, v in declared.items() if v == "code"}
    students = {assignment_of(cell) for cell in _cells(SOURCE, STUDENT)}
    checks = {assignment_of(cell) for cell in _cells(SOURCE, CHECK)}
    assert students == set(declared)
    assert checks == {name for name, kind in declared.items() if kind == "code"}


def test_the_student_edition_leaves_the_solutions_out_and_keeps_the_checks():
    student = student_edition(SOURCE)
    open_cells = _cells(student, STUDENT)
    assert open_cells and all(is_open(cell) for cell in open_cells)
    text = json.dumps(student)
    assert BEGIN not in text and END not in text
    assert "self.fc1 = nn.Linear(784, 10)" not in text and "total_loss +=" not in text  # the solutions' code
    assert "class SimpleNetwork(nn.Module):" in text  # the code around a solution stays
    assert [source_of(c) for c in _cells(student, CHECK)] == [source_of(c) for c in _cells(SOURCE, CHECK)]
    assert all(source_of(c) == ANSWER_PLACEHOLDER for c in open_cells if c["cell_type"] == "markdown")


def test_the_teacher_edition_is_the_source_without_the_markers():
    teacher = teacher_edition(SOURCE)
    assert len(teacher["cells"]) == len(SOURCE["cells"])
    text = json.dumps(teacher)
    lines = [line.strip() for cell in teacher["cells"] for line in source_of(cell).split("\n")]
    assert BEGIN not in text and CODE_PLACEHOLDER[1] not in lines and "self.fc1 = nn.Linear(784, 10)" in text
    assert not any(is_open(cell) for cell in _cells(teacher, STUDENT))


def test_strip_solution_keeps_the_indent_and_rejects_broken_markers():
    source = f"class A:\n    {BEGIN}\n    x = 1\n    {END}\n    y = 2"
    assert strip_solution(source) == f"class A:\n    {CODE_PLACEHOLDER[0]}\n    {CODE_PLACEHOLDER[1]}\n    y = 2"
    for broken, message in [(f"{BEGIN}\nx = 1", "never closed"), (f"x = 1\n{END}", "without a"), (f"{BEGIN}\n{BEGIN}\n{END}", "inside")]:
        with pytest.raises(DigitlabError, match=message):
            strip_solution(broken)


def test_a_student_cell_without_a_solution_region_is_a_clear_error():
    broken = {"cells": [{"cell_type": "code", "source": "x = 1", "metadata": {"tags": [STUDENT], "digitlab": {"assignment": "a"}},
                         "outputs": [], "execution_count": None}], "metadata": {}}
    with pytest.raises(DigitlabError, match="cell 0 \\(a\\).*no ### BEGIN SOLUTION"):
        student_edition(broken)


def test_fill_puts_code_into_the_open_cell_and_refuses_unknown_assignments():
    filled = fill(student_edition(SOURCE), {"simple-network": "def __init__(self):\n    super().__init__()", "opdracht-1": "91%"})
    (cell,) = [c for c in _cells(filled, STUDENT) if assignment_of(c) == "simple-network"]
    assert "    def __init__(self):\n        super().__init__()" in source_of(cell) and not is_open(cell)
    assert any(source_of(c) == "91%" for c in _cells(filled, STUDENT))
    with pytest.raises(DigitlabError, match="no open cell for nope"):
        fill(student_edition(SOURCE), {"nope": "x"})


def test_the_cli_writes_both_editions_and_keeps_an_edited_copy(tmp_path, capsys):
    assert main(["notebook", "--student", str(tmp_path / "s"), "--teacher", str(tmp_path / "t")]) == 0
    student, teacher = tmp_path / "s" / STUDENT_NAME, tmp_path / "t" / TEACHER_NAME
    assert json.loads(student.read_text()) == render(student_edition(SOURCE), facts())
    assert json.loads(teacher.read_text()) == render(teacher_edition(SOURCE), facts())
    printed = capsys.readouterr().out
    assert f"jupyter lab {student.resolve()}" in printed.replace("\n", "") and f"lab {teacher.resolve()}" in printed.replace("\n", "")
    student.write_text("my answers")
    assert main(["notebook", "--student", str(tmp_path / "s")]) == 1
    assert "exists already" in capsys.readouterr().err and student.read_text() == "my answers"
    assert main(["notebook", str(tmp_path / "x"), "--student", str(tmp_path / "s")]) == 1
    assert "not both" in capsys.readouterr().err


def _text(notebook, cell_type=None):
    return "\n".join(source_of(c) for c in notebook["cells"] if cell_type in (None, c["cell_type"]))


def test_every_number_the_text_names_comes_from_the_presets_or_the_published_runs():
    from digitlab.presets import preset

    values = facts()
    assert fact_names(SOURCE) and fact_names(SOURCE) <= set(values)
    student, teacher = render(student_edition(SOURCE), values), render(teacher_edition(SOURCE), values)
    assert "{{" not in _text(student) + _text(teacher)
    mlp, cnn = preset("mlp", "mnist").train_config, preset("cnn", "mnist").train_config
    assert f"{mlp.epochs} epochs, batch\n{mlp.batch_size}" in _text(student, "markdown")  # one source: the preset
    assert f"tot {cnn.augment_max_shift:g} pixel verschoven" in _text(teacher, "markdown")  # the CNN's shift, from the preset
    for contradiction in ("8 epochs, batch 256", "98,6%", "98,7%", "tot 2 pixels", "255 de\ndonkerste inkt"):
        assert contradiction not in _text(student) + _text(teacher), contradiction
    deel_2 = next(source_of(c) for c in student["cells"] if "**Vraag.** Welk model houdt het langst vol" in source_of(c))
    assert "invert" not in deel_2 and "helpt" in deel_2  # the question no longer gives its answer away


def test_the_student_edition_imports_only_digitlab_course_and_every_name_it_calls():
    code = _text(student_edition(SOURCE), "code")
    assert set(re.findall(r"from (digitlab[\w.]*) import", code)) <= {"digitlab.course", "digitlab.explain", "digitlab.explain.figures"}
    first = next(source_of(c) for c in SOURCE["cells"] if c["cell_type"] == "code")
    assert len(re.search(r"from digitlab.course import ([^\n]+)", first)[1].split(",")) <= 10  # a handful of names
    text = _text(student_edition(SOURCE))
    assert text.index("from digitlab.course import recommended") < text.index("recommended(\"cnn\", \"fashion-mnist\")")


def test_the_teacher_edition_has_a_grading_guide_for_every_assignment():
    guides = [source_of(c) for c in _cells(teacher_edition(SOURCE), "teacher")]
    for assignment in assignments(SOURCE):
        if not assignment.id.endswith("-runs"):  # an experiment's guide is its written answer's
            assert any(assignment.title.split(":")[0].split(" (")[0] in guide for guide in guides), assignment
    assert not _cells(student_edition(SOURCE), "teacher")
