"""The Dutch companion notebook: valid, committed without outputs; its untouched student edition and its teacher's
edition (every solution in place, so the cells that use a student's work run too) run to the end."""

from __future__ import annotations

import pytest

from digitlab.course import facts
from digitlab.notebooks.editions import read_notebook, render, student_edition, teacher_edition
from digitlab.packaged import notebook_file

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = notebook_file()
CELL_TIMEOUT_S = 600  # one cell at most; the quick mode needs seconds


def test_the_notebook_is_valid_and_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


def _run_all(edition, tmp_path, monkeypatch) -> list:
    """The outputs of every code cell of ``edition``, run top to bottom in the quick mode."""
    monkeypatch.setenv("DIGITLAB_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.from_dict(render(edition(read_notebook()), facts()))
    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if any cell fails
    return [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]


@pytest.mark.realdata
@pytest.mark.slow
def test_run_all_on_the_untouched_student_edition_reaches_the_end(tmp_path, monkeypatch):
    """What a student sees who opens the edition and presses Run All: every cell runs, open ones say so in Dutch."""
    outputs = _run_all(student_edition, tmp_path, monkeypatch)
    pictures = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(pictures) >= 10  # every figure that needs no student's work was drawn
    printed = "".join(output.get("text", "") for output in outputs if output.output_type == "stream")
    assert "snel: True" in printed and "Fashion-MNIST: MLP" in printed
    assert "nog niet ingevuld: SimpleNetwork" in printed and "deze cel slaat over: y_pred is nog niet ingevuld" in printed
    assert printed.count("nog niet ingevuld: zet je runs in resultaten_") == 4  # each experiment's check, open


@pytest.mark.realdata
@pytest.mark.slow
def test_the_teacher_edition_runs_and_passes_every_check_in_the_notebook(tmp_path, monkeypatch):
    outputs = _run_all(teacher_edition, tmp_path, monkeypatch)
    printed = "".join(output.get("text", "") for output in outputs if output.output_type == "stream")
    assert "nog niet ingevuld" not in printed and "slaat over" not in printed
    assert printed.count("✓ ") == 8  # the four code checks and the four experiment tables
    assert "k-NN (k=3)" in printed and "jouw ComplexNetwork" in printed
