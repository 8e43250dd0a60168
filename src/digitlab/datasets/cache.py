"""digitlab's dataset cache: verified, uncompressed IDX files plus a record of where they came from.

Layout: ``<cache>/<dataset>/<idx file>`` and ``<cache>/<dataset>/verified.json``. Each file is
written atomically, and the record last: a folder without a record is an interrupted fetch and is
ignored. The record stores each file's MD5, size and mtime, so a load re-hashes a file only when
it changed on disk since it was verified (hashing MNIST costs ~0.1 s, more than parsing it).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from digitlab.atomic import atomic_write_bytes, atomic_write_text, remove_stale_temps
from digitlab.datasets.catalog import DatasetSpec
from digitlab.datasets.verify import verify_file
from digitlab.errors import DataError, SourceUnavailable

log = logging.getLogger(__name__)

CACHE_ENV = "DIGITLAB_CACHE_DIR"
RECORD_NAME = "verified.json"


def default_cache_dir() -> Path:
    """``$DIGITLAB_CACHE_DIR``, else ``$XDG_CACHE_HOME/digitlab``, else ``~/.cache/digitlab``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "digitlab"


@dataclass
class Cache:
    """The on-disk cache of verified datasets."""

    root: Path

    def __post_init__(self) -> None:
        self.root = Path(self.root).expanduser()

    @property
    def label(self) -> str:
        return f"cache {self.root}"

    def folder(self, spec: DatasetSpec) -> Path:
        return self.root / spec.name

    def record(self, spec: DatasetSpec) -> dict | None:
        """The verification record of ``spec``, or None when it is not (completely) cached."""
        path = self.folder(spec) / RECORD_NAME
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise DataError(f"{path}: unreadable cache record ({error})") from error

    def read(self, spec: DatasetSpec, always_hash: bool = False) -> dict[str, bytearray]:
        """Return the cached files (writable buffers), re-hashing any that changed since verification.

        Raises SourceUnavailable when the dataset is not cached and DataError when it is corrupt.
        """
        record = self.record(spec)
        if record is None:
            raise SourceUnavailable(f"{self.label}: {spec.name} is not cached")
        remove_stale_temps(self.folder(spec))  # a fetch killed before this complete one left them
        files: dict[str, bytearray] = {}
        for idx_file in spec.files:
            path = self.folder(spec) / idx_file.name
            try:
                stat = path.stat()
                data = bytearray(stat.st_size)
                with path.open("rb") as handle:
                    handle.readinto(data)
            except OSError as error:
                raise DataError(f"{spec.name}/{idx_file.name} from {self.label}: cannot read {path} ({error})") from error
            seen = record.get("files", {}).get(idx_file.name, {})
            unchanged = seen.get("size") == stat.st_size and seen.get("mtime_ns") == stat.st_mtime_ns
            if always_hash or not unchanged or seen.get("md5") != idx_file.md5:
                verify_file(spec, idx_file.name, bytes(data), f"{self.label} ({path})")
            files[idx_file.name] = data
        return files

    def write(self, spec: DatasetSpec, files: dict[str, bytes], source: str) -> None:
        """Store verified ``files``; the record goes last, so a crash leaves an ignored folder."""
        folder = self.folder(spec)
        (folder / RECORD_NAME).unlink(missing_ok=True)
        entries = {}
        for idx_file in spec.files:
            path = folder / idx_file.name
            atomic_write_bytes(path, files[idx_file.name])
            stat = path.stat()
            entries[idx_file.name] = {"md5": idx_file.md5, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        atomic_write_text(folder / RECORD_NAME, json.dumps({"source": source, "files": entries}, indent=2))

    def remove(self, spec: DatasetSpec) -> None:
        """Delete the cached copy of ``spec`` (after corruption was found, say)."""
        shutil.rmtree(self.folder(spec), ignore_errors=True)
