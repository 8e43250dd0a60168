"""The cache and sources under damage: in-place corruption, unreadable files, a read-only cache, forged headers."""

from __future__ import annotations

import gzip
import logging
import os
import pathlib
import struct

import pytest

from digitlab.cli.main import main
from digitlab.datasets import Cache, fetch, load
from digitlab.datasets.catalog import TRAIN_IMAGES
from digitlab.datasets.idx import decode_idx
from digitlab.errors import DataError


def _corrupt_in_place(path: pathlib.Path) -> None:
    """Flip one byte and put size and mtime back: what a bad disk or a careless tool leaves."""
    before = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns


def _make_unreadable(path: pathlib.Path, monkeypatch) -> None:
    """chmod 000; as root (who reads anything) the read itself is made to fail the same way."""
    path.chmod(0)
    if os.access(path, os.R_OK):
        real = pathlib.Path.read_bytes

        def refuse(self):
            if self == path:
                raise PermissionError(13, "Permission denied", str(self))
            return real(self)

        monkeypatch.setattr(pathlib.Path, "read_bytes", refuse)


@pytest.fixture
def as_mnist(tiny, monkeypatch):
    """The CLI only knows the catalog's names: the tiny dataset (spec name "tiny": no registry fallback) stands in."""
    from digitlab.datasets import catalog

    monkeypatch.setitem(catalog.CATALOG, "mnist", tiny.spec)
    return tiny


def test_a_cache_file_corrupted_with_the_same_size_and_mtime_is_refetched(tmp_path, tiny, mirror, caplog):
    url = mirror.serve_dataset("good", tiny.files)
    fetch(tiny.spec, cache_dir=tmp_path / "cache", mirrors=(url,))
    _corrupt_in_place(tmp_path / "cache" / "tiny" / TRAIN_IMAGES)
    with caplog.at_level(logging.WARNING):
        dataset = load(tiny.spec, cache_dir=tmp_path / "cache", mirrors=(url,))
    assert dataset.train.images.numpy().tobytes() == tiny.arrays[TRAIN_IMAGES].tobytes()
    assert len(mirror.requests) == 8  # fetched again
    assert "does not match the published" in caplog.text and "fetching it again" in caplog.text


def test_data_fetch_and_info_fail_on_a_corrupt_cache_they_cannot_replace(tmp_path, as_mnist, monkeypatch, capsys):
    Cache(tmp_path / "cache").write(as_mnist.spec, as_mnist.files, "test")
    _corrupt_in_place(tmp_path / "cache" / "tiny" / TRAIN_IMAGES)
    monkeypatch.setenv("DIGITLAB_MIRRORS", "")
    for command in ("fetch", "info"):  # fetch finds the damage and discards the copy; info finds nothing
        assert main(["data", command, "mnist", "--cache-dir", str(tmp_path / "cache")]) == 1
        captured = capsys.readouterr()
        assert "✓" not in captured.out and "Traceback" not in captured.err and "could not get" in captured.err
        assert ("does not match the published" in " ".join(captured.err.split())) == (command == "fetch")


def test_data_fetch_replaces_a_corrupt_cache_and_says_so(tmp_path, as_mnist, mirror, monkeypatch, capsys):
    monkeypatch.setenv("DIGITLAB_MIRRORS", mirror.serve_dataset("good", as_mnist.files))
    assert main(["data", "fetch", "mnist", "--cache-dir", str(tmp_path / "cache")]) == 0
    _corrupt_in_place(tmp_path / "cache" / "tiny" / TRAIN_IMAGES)
    assert main(["data", "fetch", "mnist", "--cache-dir", str(tmp_path / "cache")]) == 0
    captured = capsys.readouterr()
    assert "fetching it again" in " ".join(captured.err.split()) and "verified" in captured.out
    assert main(["data", "info", "mnist", "--cache-dir", str(tmp_path / "cache")]) == 0
    assert "✗" not in capsys.readouterr().out


def test_an_unreadable_idx_file_in_data_dir_is_one_clear_error(tmp_path, as_mnist, monkeypatch, capsys):
    folder = as_mnist.write(tmp_path / "data")
    _make_unreadable(folder / TRAIN_IMAGES, monkeypatch)
    assert main(["data", "fetch", "mnist", "--data-dir", str(folder), "--cache-dir", str(tmp_path / "c")]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "Traceback" not in err and "cannot read" in err and "Permission denied" in err and "permissions" in err


@pytest.mark.parametrize("how", ["under-a-file", "read-only"])
def test_a_cache_that_cannot_be_written_still_gives_the_data(tmp_path, as_mnist, mirror, monkeypatch, capsys, how):
    monkeypatch.setenv("DIGITLAB_MIRRORS", mirror.serve_dataset("good", as_mnist.files))
    if how == "under-a-file":
        (tmp_path / "blocker").write_text("a file where the cache folder should be")
        cache = tmp_path / "blocker" / "cache"
    else:
        cache = tmp_path / "cache"
        cache.mkdir()
        cache.chmod(0o555)
        if os.access(cache, os.W_OK):
            pytest.skip("running as root: a read-only mode does not stop root (the other case covers it)")
    try:
        assert main(["data", "fetch", "mnist", "--cache-dir", str(cache)]) == 0
        captured = capsys.readouterr()
        assert "not cached" in captured.out and "Traceback" not in captured.err
        assert "without caching it" in " ".join(captured.err.split())
        assert load("mnist", cache_dir=cache).train.images.numpy().tobytes() == as_mnist.arrays[TRAIN_IMAGES].tobytes()
    finally:
        if how == "read-only":
            cache.chmod(0o755)


def test_a_forged_idx_header_gives_an_exact_size_not_an_overflow():
    dims = (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
    forged = bytes([0, 0, 8, 3]) + struct.pack(">3I", *dims) + b"\x00" * 10
    with pytest.raises(DataError) as error:
        decode_idx(forged, "forged")
    assert f"{16 + dims[0] ** 3:,} bytes" in str(error.value) and "truncated" in str(error.value)
    assert "-" not in str(error.value).split("=")[1]  # no wrapped-around negative number


def test_an_old_record_without_sha256_is_checked_by_md5_and_upgraded(tmp_path, tiny):
    import json

    cache = Cache(tmp_path)
    cache.write(tiny.spec, tiny.files, "test")
    record_path = cache.folder(tiny.spec) / "verified.json"
    record = json.loads(record_path.read_text())
    for entry in record["files"].values():
        del entry["sha256"]
    record_path.write_text(json.dumps(record))
    cache.read(tiny.spec)
    assert all("sha256" in entry for entry in json.loads(record_path.read_text())["files"].values())

    for entry in record["files"].values():  # old record again, then damage: the MD5 check catches it
        entry.pop("sha256", None)
    record_path.write_text(json.dumps(record))
    _corrupt_in_place(cache.folder(tiny.spec) / TRAIN_IMAGES)
    with pytest.raises(DataError, match="MD5 .* does not match the published"):
        cache.read(tiny.spec)


DAMAGE = {
    "truncated": lambda path: path.write_bytes(path.read_bytes()[:-100]),
    "missing": lambda path: path.unlink(),
    "bit-flipped": _corrupt_in_place,
}


def _cached(tmp_path, tiny) -> Cache:
    cache = Cache(tmp_path / "cache")
    cache.write(tiny.spec, tiny.files, "test")
    return cache


@pytest.mark.parametrize("offline", ["remote-off", "no-source-reachable"])
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_offline_a_damaged_file_is_named_and_moved_aside_and_the_others_kept(tmp_path, tiny, damage, offline):
    cache = _cached(tmp_path, tiny)
    folder = cache.folder(tiny.spec)
    DAMAGE[damage](folder / TRAIN_IMAGES)
    with pytest.raises(DataError) as refused:
        load(tiny.spec, cache_dir=cache.root, mirrors=(), remote=offline == "no-source-reachable")
    message = " ".join(str(refused.value).split())
    assert TRAIN_IMAGES in message and "digitlab data fetch tiny" in message and f"{TRAIN_IMAGES}.gz" in message
    assert str(folder) in message and "intact and kept" in message
    for name, data in tiny.files.items():
        if name != TRAIN_IMAGES:
            assert (folder / name).read_bytes() == data  # the intact files stay
    assert (folder / f"{TRAIN_IMAGES}.damaged").exists() == (damage != "missing")
    assert not (folder / TRAIN_IMAGES).exists()

    (folder / f"{TRAIN_IMAGES}.gz").write_bytes(gzip.compress(tiny.files[TRAIN_IMAGES]))  # what the message says
    dataset = load(tiny.spec, cache_dir=cache.root, remote=False)
    assert dataset.train.images.numpy().tobytes() == tiny.arrays[TRAIN_IMAGES].tobytes()
    assert (folder / TRAIN_IMAGES).read_bytes() == tiny.files[TRAIN_IMAGES] and not (folder / f"{TRAIN_IMAGES}.gz").exists()


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_online_a_damaged_file_is_fetched_again_and_the_damaged_copy_kept_aside(tmp_path, tiny, mirror, damage, caplog):
    cache = _cached(tmp_path, tiny)
    DAMAGE[damage](cache.folder(tiny.spec) / TRAIN_IMAGES)
    with caplog.at_level(logging.WARNING):
        dataset = load(tiny.spec, cache_dir=cache.root, mirrors=(mirror.serve_dataset("good", tiny.files),))
    assert dataset.train.images.numpy().tobytes() == tiny.arrays[TRAIN_IMAGES].tobytes()
    assert TRAIN_IMAGES in caplog.text and "fetching it again" in caplog.text
    assert cache.read(tiny.spec)[TRAIN_IMAGES] == tiny.files[TRAIN_IMAGES]
    assert (cache.folder(tiny.spec) / f"{TRAIN_IMAGES}.damaged").exists() == (damage != "missing")


@pytest.mark.parametrize("record", ["missing", "damaged", "not-a-record"])
def test_offline_intact_files_without_a_usable_record_are_verified_and_the_record_rebuilt(tmp_path, tiny, record):
    import json

    cache = _cached(tmp_path, tiny)
    record_path = cache.folder(tiny.spec) / "verified.json"
    {"missing": record_path.unlink, "damaged": lambda: record_path.write_text("{not json"),
     "not-a-record": lambda: record_path.write_text("[1, 2]")}[record]()
    dataset = load(tiny.spec, cache_dir=cache.root, remote=False)
    assert dataset.train.images.numpy().tobytes() == tiny.arrays[TRAIN_IMAGES].tobytes()
    rebuilt = json.loads(record_path.read_text())["files"]
    assert sorted(rebuilt) == sorted(tiny.files) and all("sha256" in entry for entry in rebuilt.values())


def test_without_a_record_a_damaged_file_is_still_caught(tmp_path, tiny):
    cache = _cached(tmp_path, tiny)
    (cache.folder(tiny.spec) / "verified.json").unlink()
    _corrupt_in_place(cache.folder(tiny.spec) / TRAIN_IMAGES)
    with pytest.raises(DataError, match="MD5 .* does not match the published"):
        load(tiny.spec, cache_dir=cache.root, remote=False)
