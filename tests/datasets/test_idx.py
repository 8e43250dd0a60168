import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from digitlab.datasets.idx import decode_idx, encode_idx, maybe_gunzip
from digitlab.errors import DataError


@settings(max_examples=40, deadline=None)
@given(arrays(np.uint8, st.lists(st.integers(1, 6), min_size=1, max_size=3)))
def test_round_trip_any_shape(array):
    decoded = decode_idx(encode_idx(array))
    assert decoded.shape == array.shape
    np.testing.assert_array_equal(decoded, array)


def test_header_is_big_endian_mnist_style():
    data = encode_idx(np.zeros((2, 28, 28), np.uint8))
    assert data[:4] == b"\x00\x00\x08\x03"
    assert data[4:8] == (2).to_bytes(4, "big") and data[8:12] == (28).to_bytes(4, "big")


def test_gzip_round_trip_and_plain_passthrough():
    raw = encode_idx(np.arange(10, dtype=np.uint8))
    assert maybe_gunzip(gzip.compress(raw)) == raw
    assert maybe_gunzip(raw) == raw


def test_decode_from_bytearray_is_writable():
    array = decode_idx(bytearray(encode_idx(np.ones((3, 2), np.uint8))))
    array[0, 0] = 7  # no copy was needed
    assert array.flags.writeable


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\x00", "too short"),
        (b"\x00\x00\x09\x01" + (1).to_bytes(4, "big") + b"\x00", "wrong magic number"),
        (b"\x1f\x8b\x08\x03" + b"\x00" * 8, "wrong magic number"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated header"),
    ],
)
def test_bad_headers_are_named(data, message):
    with pytest.raises(DataError, match=message):
        decode_idx(data, "some-file")


def test_truncated_and_trailing_data():
    data = encode_idx(np.zeros((4, 5), np.uint8))
    with pytest.raises(DataError, match=r"some-file: .*truncated"):
        decode_idx(data[:-3], "some-file")
    with pytest.raises(DataError, match="trailing bytes"):
        decode_idx(data + b"\x00", "some-file")


def test_broken_gzip_is_a_data_error():
    compressed = gzip.compress(encode_idx(np.zeros((50, 50), np.uint8)))
    with pytest.raises(DataError, match="corrupt or truncated gzip"):
        maybe_gunzip(compressed[: len(compressed) // 2], "x.gz")


def test_encode_refuses_other_dtypes():
    with pytest.raises(ValueError, match="uint8"):
        encode_idx(np.zeros(3, np.float32))
