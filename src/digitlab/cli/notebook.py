"""``digitlab notebook``: the Dutch companion notebook, as it ships or as a student or teacher's edition."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from digitlab.cli.common import console
from digitlab.errors import DigitlabError
from digitlab.notebooks.editions import write_edition
from digitlab.packaged import copy_notebook


def notebook(
    folder: Annotated[Path | None, typer.Argument(help="Where the copy goes (default notebooks/).")] = None,
    student: Annotated[Path | None, typer.Option("--student", help="Write the student edition (open cells, checks) into DIR.",
                                                 metavar="DIR")] = None,
    teacher: Annotated[Path | None, typer.Option("--teacher", help="Write the teacher's edition (worked answers) into DIR.",
                                                 metavar="DIR")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a copy that exists already (your edits are lost).")] = False,
) -> None:
    """Copy the companion notebook (Dutch) into FOLDER, or write its student / teacher edition; open it with `jupyter lab`."""
    if folder is not None and (student or teacher):
        raise DigitlabError("give FOLDER or --student / --teacher DIR, not both")
    written = []
    if student is not None:
        written.append(write_edition("student", student, overwrite=force))
    if teacher is not None:
        written.append(write_edition("teacher", teacher, overwrite=force))
    if not written:
        written.append(copy_notebook(folder or Path("notebooks"), overwrite=force))
    for path in written:
        console.print(f"[green]✓[/green] {path}: open it with  jupyter lab {path.parent}", highlight=False)
