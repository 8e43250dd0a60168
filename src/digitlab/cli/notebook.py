"""``digitlab notebook``: copy the Dutch companion notebook out of the package, to open it in Jupyter."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from digitlab.cli.common import console
from digitlab.packaged import copy_notebook


def notebook(
    folder: Annotated[Path, typer.Argument(help="Where the copy goes.")] = Path("notebooks"),
    force: Annotated[bool, typer.Option("--force", help="Replace a copy that exists already (your edits are lost).")] = False,
) -> None:
    """Copy the companion notebook (Dutch) into FOLDER; then open it with `jupyter lab FOLDER`."""
    path = copy_notebook(folder, overwrite=force)
    console.print(f"[green]✓[/green] {path}: open it with  jupyter lab {folder}", highlight=False)
