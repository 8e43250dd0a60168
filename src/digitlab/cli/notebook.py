"""``digitlab notebook``: the Dutch companion notebook, as it ships or as a student or teacher's edition."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from digitlab.cli.common import console
from digitlab.course import facts
from digitlab.errors import DigitlabError
from digitlab.notebooks.editions import write_edition

COURSE_EXTRA = "digitlab[course]"  # the extra that installs JupyterLab and the grader's kernel packages


def open_command(path: Path) -> str:
    """The command that opens ``path`` in JupyterLab from this environment, or how to install it first."""
    scripts = Path(sys.executable).parent  # the environment's bin/ (Scripts\\ on Windows), as the user named it
    jupyter = shutil.which("jupyter", path=str(scripts)) or shutil.which("jupyter")
    target = path.resolve()
    if jupyter is None or shutil.which("jupyter-lab", path=str(Path(jupyter).parent)) is None:
        pip = scripts / "pip"
        return (f"JupyterLab is not installed here: {pip} install '{COURSE_EXTRA}' (in a clone: {pip} install -e '.[course]'), "
                f"then open it with  {scripts / 'jupyter'} lab {target}")
    return f"open it with  {jupyter} lab {target}"


def notebook(
    folder: Annotated[Path | None, typer.Argument(help="Where the copy goes (default notebooks/).")] = None,
    student: Annotated[Path | None, typer.Option("--student", help="Write the student edition (open cells, checks) into DIR.",
                                                 metavar="DIR")] = None,
    teacher: Annotated[Path | None, typer.Option("--teacher", help="Write the teacher's edition (worked answers, grading guide) into DIR.",
                                                 metavar="DIR")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a copy that exists already (your edits are lost).")] = False,
) -> None:
    """Copy the companion notebook (Dutch) into FOLDER, or write its student / teacher edition, and say how to open it."""
    if folder is not None and (student or teacher):
        raise DigitlabError("give FOLDER or --student / --teacher DIR, not both")
    numbers, written = facts(), []
    if student is not None:
        written.append(write_edition("student", student, numbers, overwrite=force))
    if teacher is not None:
        written.append(write_edition("teacher", teacher, numbers, overwrite=force))
    if not written:
        written.append(write_edition("full", folder or Path("notebooks"), numbers, overwrite=force))
    for path in written:
        console.print(f"[green]✓[/green] wrote {path}; {open_command(path)}", highlight=False, soft_wrap=True)
