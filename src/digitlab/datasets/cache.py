"""digitlab's dataset cache: verified, uncompressed IDX files plus a record of what was verified.

Layout: ``<cache>/<dataset>/<idx file>`` and ``<cache>/<dataset>/verified.json``. Each file is
written atomically, and the record last. The record stores each file's MD5, size and mtime (for
people) and a SHA-256 of the bytes that passed the published MD5, checked on every load because
CPUs hash SHA-256 in hardware (MNIST: ~0.05 s, MD5 ~0.13 s here); a file corrupted in place keeps
its size and mtime, so nothing cheaper would do.

The cache never throws good data away. The record only speeds the check up: a file it does not
vouch for (no record, a damaged one, a file put there by hand, ``<file>.gz`` included) is verified
against the published checksum and the record rebuilt. A damaged file is moved aside to
``<file>.damaged`` (kept for a look, replaced by the next one) and the others stay:
:class:`CacheIncomplete` carries them, so ``fetch`` fetches again only when it can, and offline
names the file and how to get it.
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
from digitlab.datasets.idx import maybe_gunzip
from digitlab.datasets.verify import verify_file
from digitlab.errors import DataError, SourceUnavailable

log = logging.getLogger(__name__)

CACHE_ENV = "DIGITLAB_CACHE_DIR"
RECORD_NAME = "verified.json"
DAMAGED_SUFFIX = ".damaged"  # where a file that failed verification goes: out of the way, not deleted


class CacheIncomplete(DataError):
    """Some cached files are missing or damaged (``problems``: file name -> what); ``files`` holds the intact ones."""

    def __init__(self, message: str, problems: dict[str, str], files: dict[str, bytearray]) -> None:
        super().__init__(message)
        self.problems = problems
        self.files = files


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
        """Return the cached files (writable buffers), each verified again.

        Raises SourceUnavailable when nothing of ``spec`` is cached and CacheIncomplete when a file
        is missing or damaged (moved aside; the intact files ride along on the error).
        """
        folder = self.folder(spec)
        if not folder.is_dir():
            raise SourceUnavailable(f"{self.label}: {spec.name} is not cached")
        remove_stale_temps(folder)  # a fetch killed half-way left them
        record = self._usable_record(spec)
        files: dict[str, bytearray] = {}
        problems: dict[str, str] = {}
        vouched = 0
        for idx_file in spec.files:
            try:
                files[idx_file.name], by_record = self._read_file(spec, idx_file.name, record.get(idx_file.name, {}))
                vouched += by_record
            except FileNotFoundError:
                problems[idx_file.name] = f"{spec.name}/{idx_file.name} is missing from {self.label} ({folder})"
            except DataError as error:
                problems[idx_file.name] = str(error)
        if not files:
            raise SourceUnavailable(f"{self.label}: {spec.name} is not cached")
        if problems:
            raise CacheIncomplete("; ".join(problems.values()) + f" (the other {len(files)} files are intact and kept)",
                                  problems, files)
        if vouched < len(spec.files):  # verified by the published MD5: record their SHA-256s
            with contextlib.suppress(OSError):  # a read-only cache keeps the slower check
                self._write_record(spec, files, self._source(spec))
        return files

    def _usable_record(self, spec: DatasetSpec) -> dict[str, dict]:
        """Each file's entry in the record; {} for a missing or damaged record (its files are verified afresh)."""
        try:
            record = self.record(spec)
        except DataError as error:
            log.warning("%s; verifying the files against their published checksums", error)
            return {}
        entries = record.get("files") if isinstance(record, dict) else None
        return {name: entry for name, entry in entries.items() if isinstance(entry, dict)} if isinstance(entries, dict) else {}

    def _source(self, spec: DatasetSpec) -> str:
        with contextlib.suppress(DataError):
            record = self.record(spec)
            if isinstance(record, dict) and isinstance(record.get("source"), str):
                return record["source"]
        return f"files verified in {self.label}"

    def _read_file(self, spec: DatasetSpec, name: str, seen: dict) -> tuple[bytearray, bool]:
        """One file's bytes and whether the record vouched for them; a file that fails verification is moved aside."""
        path = self.folder(spec) / name
        if not path.exists() and path.with_name(f"{name}.gz").is_file():
            return self._adopt_gzip(spec, name), False
        data = self._read_bytes(spec, path)
        if seen.get("md5") == spec.file(name).md5 and seen.get("sha256") == hashlib.sha256(data).hexdigest():
            return data, True
        try:
            verify_file(spec, name, data, f"{self.label} ({path})")
        except DataError as error:
            raise DataError(f"{error}{self._move_aside(path)}") from error
        return data, False

    @staticmethod
    def _move_aside(path: Path) -> str:
        """Rename a damaged file to ``<file>.damaged``; what to add to the error about it."""
        aside = path.with_name(path.name + DAMAGED_SUFFIX)
        try:
            path.replace(aside)
        except OSError:  # a read-only cache: the file stays, and is verified again next time
            return ""
        return f"; moved aside to {aside.name}"

    def _read_bytes(self, spec: DatasetSpec, path: Path) -> bytearray:
        try:
            data = bytearray(path.stat().st_size)
            with path.open("rb") as handle:
                handle.readinto(data)
        except FileNotFoundError:
            raise
        except OSError as error:
            raise DataError(f"{spec.name}/{path.name} from {self.label}: cannot read {path} "
                            f"({error.strerror or error}); check its permissions") from error
        return data

    def _adopt_gzip(self, spec: DatasetSpec, name: str) -> bytearray:
        """``<file>.gz`` put in the cache by hand (as the mirrors serve it): verified, stored uncompressed."""
        gz = self.folder(spec) / f"{name}.gz"
        data = bytearray(maybe_gunzip(bytes(self._read_bytes(spec, gz)), f"{spec.name}/{gz.name} in {self.label}"))
        verify_file(spec, name, data, f"{self.label} ({gz})")
        with contextlib.suppress(OSError):
            atomic_write_bytes(gz.with_name(name), bytes(data))
            gz.unlink()
        return data

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
