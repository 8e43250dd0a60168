"""Files shipped inside the package: the lab's sweep files and the Dutch companion notebook.

They live in ``digitlab/lab/`` so that a plain ``pip install`` (not only an editable checkout) can run
``digitlab lab`` from any folder and hand a student the notebook.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

NOTEBOOK_NAME = "introductie-deep-learning.ipynb"


def lab_folder() -> Path:
    """``digitlab/lab`` of the installed package (a real folder: digitlab is never imported from a zip)."""
    return Path(str(files("digitlab") / "lab"))


def sweep_dir() -> Path:
    """The folder of the lab's sweep files, one TOML per assignment."""
    return lab_folder() / "sweeps"


def notebook_file() -> Path:
    """The packaged companion notebook (read it, never edit it in place: ``digitlab notebook`` writes its editions)."""
    return lab_folder() / NOTEBOOK_NAME
