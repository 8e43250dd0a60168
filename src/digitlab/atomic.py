"""Atomic file writes: a reader sees the old file or the complete new one, never half of it.

Everything that matters on disk (dataset cache, checkpoints, reports) goes through here: the bytes
are written to a temporary file in the same folder, flushed to disk, then renamed over the target.
An interrupted write (Ctrl-C, full disk) leaves the target untouched and no temp file behind. A
killed process (SIGKILL, power loss) cannot clean up after itself, so every write first removes the
temp files in its folder that nobody has touched for ``STALE_TEMP_S``: a writer's own temp file is
fresh, since it is written as it grows.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

_DEFAULT_MODE = 0o666  # what open() would create, before the umask
TEMP_SUFFIX = ".digitlab.tmp"
STALE_TEMP_S = 600  # a temp file untouched this long belongs to a killed writer (writes take seconds)
# ".<target>.<8 random chars>.digitlab.tmp"; the older ".<target>.<8>.tmp" is recognised too
_TEMP_NAME = re.compile(r"^\..+\.[A-Za-z0-9_]{8}(\.digitlab)?\.tmp$")


def remove_stale_temps(folder: str | os.PathLike[str], now: float | None = None) -> list[Path]:
    """Delete the temp files killed writers left in ``folder``; return what was removed."""
    now = time.time() if now is None else now
    removed = []
    with contextlib.suppress(OSError):  # a folder that cannot be listed has nothing we can clean
        for entry in os.scandir(folder):
            if _TEMP_NAME.match(entry.name) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):  # gone already, or not ours to delete
                    if now - entry.stat(follow_symlinks=False).st_mtime > STALE_TEMP_S:
                        os.unlink(entry.path)
                        removed.append(Path(entry.path))
    return removed


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on a clean exit it replaces ``path``.

    >>> with atomic_open(tmp / "x.bin") as f:   # doctest: +SKIP
    ...     f.write(b"all or nothing")
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open writes whole files: mode must be 'wb' or 'w', not {mode!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target.parent)
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent)
    try:
        os.chmod(temp_name, _DEFAULT_MODE & ~_current_umask())  # mkstemp makes 0600; keep the usual mode
        with os.fdopen(fd, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_open(path, "w") as handle:
        handle.write(text)
