"""Files shipped inside the package: the lab's sweep files and the Dutch companion notebook.

They live in ``digitlab/lab/`` so that a plain ``pip install`` (not only an editable checkout) can run
``digitlab lab`` from any folder and hand a student the notebook.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from digitlab.atomic import atomic_write_bytes
from digitlab.errors import DigitlabError

NOTEBOOK_NAME = "introductie-deep-learning.ipynb"


def lab_folder() -> Path:
    """``digitlab/lab`` of the installed package (a real folder: digitlab is never imported from a zip)."""
    return Path(str(files("digitlab") / "lab"))


def sweep_dir() -> Path:
    """The folder of the lab's sweep files, one TOML per assignment."""
    return lab_folder() / "sweeps"


def notebook_file() -> Path:
    """The packaged companion notebook (read it, do not edit it in place: copy it with ``copy_notebook``)."""
    return lab_folder() / NOTEBOOK_NAME


def copy_notebook(folder: Path, overwrite: bool = False) -> Path:
    """Copy the companion notebook into ``folder`` and return its path; a student's edited copy is kept.

    Raises DigitlabError when the copy exists already and ``overwrite`` is false.
    """
    target = Path(folder) / NOTEBOOK_NAME
    if target.exists() and not overwrite:
        raise DigitlabError(f"{target} exists already (your own copy, perhaps edited); "
                            "pass --force to replace it, or choose another folder")
    try:
        atomic_write_bytes(target, notebook_file().read_bytes())
    except OSError as error:
        raise DigitlabError(f"cannot write the notebook to {target}: {error.strerror or error}") from error
    return target
