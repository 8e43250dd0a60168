"""digitlab's dataset cache: verified, uncompressed IDX files plus a record of where they came from.

Layout: ``<cache>/<dataset>/<idx file>`` and ``<cache>/<dataset>/verified.json``. Each file is
written atomically, and the record last: a folder without a record is an interrupted fetch and is
ignored. The record stores each file's MD5, size and mtime (what was verified, for people), and
a load re-hashes every file: a file corrupted in place keeps its size and mtime. The record adds a
SHA-256 of the bytes that passed the published MD5, checked on load because CPUs hash SHA-256 in
hardware (MNIST: ~0.05 s, MD5 ~0.13 s here). A corrupt copy is a DataError; ``fetch`` then discards
it and fetches again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from digitlab.atomic import atomic_write_bytes, atomic_write_text, remove_stale_temps
from digitlab.datasets.catalog import DatasetSpec
from digitlab.datasets.idx import decode_idx
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

    def read(self, spec: DatasetSpec) -> dict[str, bytearray]:
        """Return the cached files (writable buffers), each verified against its published MD5 again.

        Raises SourceUnavailable when the dataset is not cached and DataError when it is corrupt.
        """
        record = self.record(spec)
        if record is None:
            raise SourceUnavailable(f"{self.label}: {spec.name} is not cached")
        seen = record.get("files") if isinstance(record, dict) else None
        if not isinstance(seen, dict) or not all(isinstance(seen.get(f.name, {}), dict) for f in spec.files):
            raise DataError(f"{self.folder(spec) / RECORD_NAME}: not a cache record (edited or damaged)")
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
            self._verify(spec, idx_file.name, data, seen.get(idx_file.name, {}), path)
            files[idx_file.name] = data
        if not all("sha256" in seen.get(f.name, {}) for f in spec.files):  # verified by MD5: add the SHA-256s
            with contextlib.suppress(OSError):  # a read-only cache keeps the slower check
                self._write_record(spec, files, record.get("source", self.label))
        return files

    def _verify(self, spec: DatasetSpec, name: str, data: bytearray, seen: dict, path: Path) -> None:
        """The SHA-256 the record holds for bytes that passed the published MD5, else the MD5 itself."""
        where = f"{self.label} ({path})"
        if seen.get("md5") != spec.file(name).md5 or "sha256" not in seen:  # a record from before SHA-256
            verify_file(spec, name, data, where)
            return
        decode_idx(data, f"{spec.name}/{name} from {where}")  # wrong magic or truncation: the precise message
        digest = hashlib.sha256(data).hexdigest()
        if digest != seen["sha256"]:
            raise DataError(f"{spec.name}/{name} from {where}: content changed since it was verified "
                            f"(SHA-256 {digest}, verified {seen['sha256']}): it does not match the published MD5 any more")

    def write(self, spec: DatasetSpec, files: dict[str, bytes], source: str) -> None:
        """Store verified ``files``; the record goes last, so a crash leaves an ignored folder."""
        folder = self.folder(spec)
        (folder / RECORD_NAME).unlink(missing_ok=True)
        for idx_file in spec.files:
            atomic_write_bytes(folder / idx_file.name, files[idx_file.name])
        self._write_record(spec, files, source)

    def _write_record(self, spec: DatasetSpec, files: dict, source: str) -> None:
        """What was verified: each file's published MD5, the SHA-256 of those bytes, size and mtime."""
        folder = self.folder(spec)
        entries = {}
        for idx_file in spec.files:
            stat = (folder / idx_file.name).stat()
            entries[idx_file.name] = {"md5": idx_file.md5, "sha256": hashlib.sha256(files[idx_file.name]).hexdigest(),
                                      "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        atomic_write_text(folder / RECORD_NAME, json.dumps({"source": source, "files": entries}, indent=2))

    def remove(self, spec: DatasetSpec) -> None:
        """Delete the cached copy of ``spec`` (after corruption was found, say)."""
        shutil.rmtree(self.folder(spec), ignore_errors=True)
