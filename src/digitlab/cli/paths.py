"""Where commands write, checked before any work starts: one output root, and folders that can be written.

Every command writes below ``runs/`` unless ``--out`` says otherwise, so a student finds every result
in one place. A folder that cannot be written (a file, a device such as /dev/null, /proc, a read-only
disk) is refused with one line before a minute of training or a sweep is spent on it.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from digitlab.errors import DigitlabError

OUTPUT_ROOT = Path("runs")  # every command's results go below it unless --out names another folder
REPORTS = "reports"  # below the root: one folder per dataset with its index.html (lab and report)
MODELS = "models"  # below the root: the lab's headline models, where serve finds them
PSEUDO_FILESYSTEMS = (Path("/proc"), Path("/sys"), Path("/dev"))  # the kernel's, not the user's: never an output folder
SPACE_ERRORS = (errno.ENOSPC, errno.EDQUOT)  # the disk (or the user's quota) is full
WRITE_ERRORS = (errno.EROFS, errno.EACCES, errno.EPERM)  # read-only disk or folder


def under(name: str) -> Path:
    """The default folder of one command's results: runs/NAME."""
    return OUTPUT_ROOT / name


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _try_writing(folder: Path) -> OSError | None:
    """Create and remove one temporary file in ``folder``: the only test a root user's permissions cannot fool."""
    try:
        handle, name = tempfile.mkstemp(dir=folder, prefix=".digitlab-probe-")
    except OSError as error:
        return error
    os.close(handle)
    os.unlink(name)
    return None


def writable_folder(path: Path, option: str = "--out") -> Path:
    """``path`` if digitlab can create files in it (or create it), else a one-line DigitlabError.

    Nothing is left behind: the probe file is removed, and the folder is created by the first file written into it.
    """
    absolute = Path(os.path.abspath(path.expanduser()))
    for root in PSEUDO_FILESYSTEMS:
        if absolute == root or root in absolute.parents:
            raise DigitlabError(f"{option} {path} is under {root}, the system's own files: choose a folder of yours, "
                                f"e.g. {option} {OUTPUT_ROOT}")
    if absolute.exists() and not absolute.is_dir():
        raise DigitlabError(f"{option} {path} is a file, not a folder: choose a folder, e.g. {option} {OUTPUT_ROOT}")
    existing = _nearest_existing(absolute)
    if not existing.is_dir():
        raise DigitlabError(f"{option} {path} cannot be created: {existing} is a file; choose another folder")
    if (error := _try_writing(existing)) is not None:
        raise DigitlabError(f"{option} {path} cannot be written ({error.strerror or error}): choose a folder you can write, "
                            f"e.g. {option} ~/digitlab-runs") from error
    return path


FULL = ("the disk is full{where}: nothing half-written was kept and the files written before are intact; "
        "free some space (or write to another disk with --out) and run the command again")
READ_ONLY = "cannot write{where}: {reason}; run it in a folder you can write, or name one with --out (and --storage for the store)"
SQLITE_FULL = "database or disk is full"  # SQLite's words for ENOSPC, through SQLAlchemy and Optuna
SQLITE_READ_ONLY = ("attempt to write a readonly database", "unable to open database file")


def _chain(error: BaseException) -> list[BaseException]:
    """The error and the errors it was raised from or during (Optuna and SQLAlchemy wrap the operating system's)."""
    seen: list[BaseException] = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


def writable_file(path: Path, option: str = "--out") -> Path:
    """``path`` if digitlab can write it (atomically, beside it in its folder), else a one-line DigitlabError."""
    if path.is_dir():
        raise DigitlabError(f"{option} {path} is a folder; name a file in it, e.g. {option} {path / 'runs.csv'}")
    writable_folder(path.parent, option)
    return path


def describe_disk_error(error: BaseException) -> str | None:
    """One line for a full or read-only disk met during work, else None (then it is a bug, and its traceback helps)."""
    for link in _chain(error):
        where = f" ({link.filename})" if isinstance(link, OSError) and link.filename else ""
        if isinstance(link, OSError) and link.errno in SPACE_ERRORS or SQLITE_FULL in str(link):
            return FULL.format(where=where)
        if isinstance(link, OSError) and link.errno in WRITE_ERRORS:
            return READ_ONLY.format(where=where, reason=link.strerror)
        if any(words in str(link) for words in SQLITE_READ_ONLY):
            return READ_ONLY.format(where=" the results store", reason="its folder is read-only or missing")
    return None
