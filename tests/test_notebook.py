"""The Dutch companion notebook runs from top to bottom in a real Jupyter kernel (in its quick mode)."""

from __future__ import annotations

import pytest

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


@pytest.mark.realdata
@pytest.mark.slow
def test_the_notebook_runs_in_its_quick_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITLAB_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if any cell fails
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    pictures = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(pictures) >= 10  # every figure the text talks about was drawn
    printed = "".join(output.get("text", "") for output in outputs if output.output_type == "stream")
    assert "snel: True" in printed and "k-NN (k=3)" in printed and "Fashion-MNIST: MLP" in printed
