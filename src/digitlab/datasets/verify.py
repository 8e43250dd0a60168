"""Check IDX bytes against the published size and MD5 before anything uses or caches them."""

from __future__ import annotations

import hashlib

from digitlab.datasets.catalog import DatasetSpec
from digitlab.datasets.idx import decode_idx
from digitlab.errors import DataError


def md5_hex(data: bytes | bytearray | memoryview) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def verify_file(spec: DatasetSpec, name: str, data: bytes | bytearray, source: str) -> None:
    """Raise a DataError naming file, source and expectation unless ``data`` is the published file."""
    expected = spec.file(name)
    where = f"{spec.name}/{name} from {source}"
    decode_idx(data, where)  # first: a wrong magic number or a truncation is the more precise message
    if len(data) != expected.size:
        raise DataError(f"{where}: {len(data)} bytes, expected {expected.size}")
    digest = md5_hex(data)
    if digest != expected.md5:
        raise DataError(f"{where}: MD5 {digest} does not match the published {expected.md5}")


def verify_files(spec: DatasetSpec, files: dict[str, bytes], source: str) -> None:
    """Verify all four files of ``spec`` in ``files`` (uncompressed IDX bytes by file name)."""
    for idx_file in spec.files:
        if idx_file.name not in files:
            raise DataError(f"{spec.name}/{idx_file.name} is missing from {source}")
        verify_file(spec, idx_file.name, files[idx_file.name], source)
