"""Read and write IDX files (the format of MNIST): a tiny header, then one flat array.

Layout: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions, then each
dimension as a big-endian int32, then the data in C order. Parsing is one ``numpy.frombuffer``
over the whole file, never a per-item loop.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib

import numpy as np

from digitlab.errors import DataError

UBYTE_TYPE_CODE = 0x08  # the only element type MNIST-style datasets use
HEADER_PREFIX_BYTES = 4  # 0x00 0x00 <type> <ndim>
DIM_BYTES = 4  # each dimension is a big-endian uint32
GZIP_MAGIC = b"\x1f\x8b"


def encode_idx(array: np.ndarray) -> bytes:
    """Return the IDX bytes of a uint8 array (any number of dimensions)."""
    if array.dtype != np.uint8:
        raise ValueError(f"IDX writing supports uint8 only, got {array.dtype}")
    header = bytes([0, 0, UBYTE_TYPE_CODE, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array).tobytes()


def decode_idx(data: bytes | bytearray | memoryview, name: str = "IDX data") -> np.ndarray:
    """Parse IDX bytes into a uint8 array, checking magic number and length.

    The returned array shares memory with ``data`` (no copy); pass a ``bytearray`` to get a
    writable array. ``name`` appears in error messages.
    """
    if len(data) < HEADER_PREFIX_BYTES:
        raise DataError(f"{name}: {len(data)} bytes is too short to be an IDX file")
    zero0, zero1, type_code, ndim = bytes(data[:HEADER_PREFIX_BYTES])
    if zero0 != 0 or zero1 != 0 or type_code != UBYTE_TYPE_CODE or ndim == 0:
        raise DataError(
            f"{name}: wrong magic number {bytes(data[:HEADER_PREFIX_BYTES]).hex()} "
            f"(expected 0000080N: an unsigned-byte IDX file with N dimensions)"
        )
    header_size = HEADER_PREFIX_BYTES + DIM_BYTES * ndim
    if len(data) < header_size:
        raise DataError(f"{name}: truncated header ({len(data)} of {header_size} bytes)")
    shape = struct.unpack(f">{ndim}I", bytes(data[HEADER_PREFIX_BYTES:header_size]))
    expected = header_size + math.prod(shape)  # Python ints: a forged header cannot overflow this
    if len(data) != expected:
        raise DataError(
            f"{name}: {len(data):,} bytes, but its header promises shape {shape} = {expected:,} bytes"
            + (" (truncated)" if len(data) < expected else " (trailing bytes)")
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape)


def maybe_gunzip(data: bytes, name: str = "file") -> bytes:
    """Return ``data`` decompressed if it is gzip, unchanged otherwise; a broken gzip is a DataError."""
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{name}: corrupt or truncated gzip data ({error})") from error
