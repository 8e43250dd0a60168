"""Sources, verification and cache, on tiny generated datasets and a local fake mirror."""

import gzip
import os

import numpy as np
import pytest
import torch

from digitlab.datasets import Cache, fetch, load
from digitlab.datasets.catalog import FASHION_MNIST, TEST_LABELS, TRAIN_IMAGES
from digitlab.datasets.sources import DebianSource
from digitlab.errors import DataError


def _assert_matches(dataset, tiny):
    np.testing.assert_array_equal(dataset.train.images.numpy(), tiny.arrays[TRAIN_IMAGES])
    assert dataset.test.labels.dtype == torch.int64
    assert dataset.test.labels.tolist() == tiny.arrays[TEST_LABELS].tolist()
    assert dataset.classes == tiny.spec.classes


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("layout", ["flat", "torchvision"])
def test_directory_source_layouts(tmp_path, tiny, gz, layout):
    folder = tmp_path / "data" if layout == "flat" else tmp_path / "data" / "Tiny" / "raw"
    tiny.write(folder, gz=gz)
    dataset = load(tiny.spec, data_dir=tmp_path / "data", cache_dir=tmp_path / "cache", remote=False)
    _assert_matches(dataset, tiny)
    assert "directory" in dataset.source
    assert not (tmp_path / "cache" / "tiny").exists()  # the user's folder is used in place


def test_checksum_mismatch_names_file_source_and_expectation(tmp_path, tiny):
    folder = tiny.write(tmp_path / "data")
    data = bytearray((folder / TRAIN_IMAGES).read_bytes())
    data[-1] ^= 0xFF
    (folder / TRAIN_IMAGES).write_bytes(bytes(data))
    with pytest.raises(DataError) as error:
        load(tiny.spec, data_dir=folder, cache_dir=tmp_path / "cache", remote=False)
    message = str(error.value)
    assert TRAIN_IMAGES in message and str(folder) in message
    assert tiny.spec.file(TRAIN_IMAGES).md5 in message


def test_truncated_gzip_in_data_dir(tmp_path, tiny):
    folder = tiny.write(tmp_path / "data", gz=True)
    gz_path = folder / f"{TRAIN_IMAGES}.gz"
    gz_path.write_bytes(gz_path.read_bytes()[:-40])
    with pytest.raises(DataError, match=f"{TRAIN_IMAGES}.*(truncated|corrupt)"):
        load(tiny.spec, data_dir=folder, cache_dir=tmp_path / "cache", remote=False)


def test_wrong_magic_in_data_dir(tmp_path, tiny):
    folder = tiny.write(tmp_path / "data")
    data = bytearray((folder / TRAIN_IMAGES).read_bytes())
    data[2] = 0x09
    (folder / TRAIN_IMAGES).write_bytes(bytes(data))
    with pytest.raises(DataError, match="wrong magic number"):
        load(tiny.spec, data_dir=folder, cache_dir=tmp_path / "cache", remote=False)


def test_mirror_fills_cache_and_cache_is_used_offline(tmp_path, tiny, mirror):
    url = mirror.serve_dataset("good", tiny.files)
    dataset = load(tiny.spec, cache_dir=tmp_path / "cache", mirrors=(url,))
    _assert_matches(dataset, tiny)
    assert len(mirror.requests) == 4
    offline = load(tiny.spec, cache_dir=tmp_path / "cache", remote=False)
    _assert_matches(offline, tiny)
    assert url in offline.source  # the record remembers where the bytes came from
    assert len(mirror.requests) == 4


def test_failing_and_corrupt_mirrors_fall_through_to_a_good_one(tmp_path, tiny, mirror):
    mirror.routes.update({f"/down/{name}.gz": (500, b"oops") for name in tiny.files})
    corrupt = mirror.serve_dataset("corrupt", tiny.files, corrupt=TRAIN_IMAGES)
    good = mirror.serve_dataset("good", tiny.files)
    result = fetch(tiny.spec, cache_dir=tmp_path / "cache", mirrors=(mirror.url("down"), corrupt, good))
    assert result.source == f"mirror {good}"
    assert Cache(tmp_path / "cache").record(tiny.spec)["files"][TRAIN_IMAGES]["md5"] == tiny.spec.file(TRAIN_IMAGES).md5


def test_all_mirrors_failing_gives_one_clear_error(tmp_path, tiny, mirror):
    corrupt = mirror.serve_dataset("corrupt", tiny.files, corrupt=TRAIN_IMAGES)
    unreachable = "http://127.0.0.1:9/"  # discard port: connection refused at once
    with pytest.raises(DataError) as error:
        fetch(tiny.spec, cache_dir=tmp_path / "cache", mirrors=(unreachable, corrupt))
    message = str(error.value)
    assert "could not get tiny from any source" in message
    assert "MD5" in message and TRAIN_IMAGES in message and "127.0.0.1:9" in message
    assert "--data-dir" in message
    assert not (tmp_path / "cache" / "tiny").exists()  # nothing unverified was cached


def test_interrupted_cache_write_leaves_no_partial_files_and_recovers(tmp_path, tiny, mirror, monkeypatch):
    url = mirror.serve_dataset("good", tiny.files)
    real_replace = os.replace
    calls = {"n": 0}

    def replace_then_die(src, dst):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # Ctrl-C while the second file is being put in place
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_then_die)
    with pytest.raises(KeyboardInterrupt):
        fetch(tiny.spec, cache_dir=tmp_path / "cache", mirrors=(url,))
    folder = tmp_path / "cache" / "tiny"
    assert not list(folder.glob("*.tmp")) and not list(folder.glob(".*"))
    assert Cache(tmp_path / "cache").record(tiny.spec) is None  # incomplete: ignored
    monkeypatch.setattr(os, "replace", real_replace)
    _assert_matches(load(tiny.spec, cache_dir=tmp_path / "cache", mirrors=(url,)), tiny)


def test_corrupted_cache_is_detected_discarded_and_refetched(tmp_path, tiny, mirror):
    url = mirror.serve_dataset("good", tiny.files)
    fetch(tiny.spec, cache_dir=tmp_path / "cache", mirrors=(url,))
    cached = tmp_path / "cache" / "tiny" / TRAIN_IMAGES
    data = bytearray(cached.read_bytes())
    data[100] ^= 0xFF
    cached.write_bytes(bytes(data))  # new mtime: the cache re-hashes and notices
    _assert_matches(load(tiny.spec, cache_dir=tmp_path / "cache", mirrors=(url,)), tiny)
    assert len(mirror.requests) == 8  # fetched twice


def test_truncated_cache_file_without_remote_is_a_clear_error(tmp_path, tiny, mirror):
    url = mirror.serve_dataset("good", tiny.files)
    fetch(tiny.spec, cache_dir=tmp_path / "cache", mirrors=(url,))
    cached = tmp_path / "cache" / "tiny" / TRAIN_IMAGES
    cached.write_bytes(cached.read_bytes()[:-10])
    with pytest.raises(DataError, match="truncated.*moved aside.*remote sources are off.*digitlab data fetch tiny"):
        load(tiny.spec, cache_dir=tmp_path / "cache", remote=False)


def test_debian_source_without_apt_says_what_to_do(tmp_path, tiny, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda tool: None)
    source = DebianSource(FASHION_MNIST.fallbacks[0], installed_dir=tmp_path / "nothing-here")
    with pytest.raises(Exception, match="not a Debian-based system.*--data-dir"):
        source.fetch(tiny.spec)


def test_debian_source_reads_installed_files(tmp_path, tiny):
    folder = tmp_path / "usr-share"
    for name, data in tiny.files.items():
        folder.mkdir(exist_ok=True)
        (folder / f"{name}.gz").write_bytes(gzip.compress(data))
    files = DebianSource(FASHION_MNIST.fallbacks[0], installed_dir=folder).fetch(tiny.spec)
    assert files == tiny.files
