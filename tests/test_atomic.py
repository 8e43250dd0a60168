"""Atomic writes: temp files of killed writers are cleaned up by the next write or cache read."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import digitlab
from digitlab.atomic import STALE_TEMP_S, atomic_open, atomic_write_bytes, remove_stale_temps

KILL_TIMEOUT_S = 60

# Starts an atomic write, then dies by SIGKILL half-way: nothing can clean up in the process itself.
KILLED_WRITER = """
import os, signal, sys
from digitlab.atomic import atomic_open
with atomic_open(sys.argv[1]) as handle:
    handle.write(b"half a file")
    handle.flush()
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _age(path: Path, seconds: float) -> None:
    old = time.time() - seconds
    os.utime(path, (old, old))


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX")
def test_a_killed_writers_temp_file_is_removed_by_a_later_write(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(digitlab.__file__).parents[1])}
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(tmp_path / "a.bin")], env=env, timeout=KILL_TIMEOUT_S)
    assert killed.returncode == -signal.SIGKILL
    (left,) = [p for p in tmp_path.iterdir()]  # the temp file, the target never appeared
    assert left.name.startswith(".a.bin.") and not (tmp_path / "a.bin").exists()

    atomic_write_bytes(tmp_path / "b.bin", b"fresh")  # a young temp file may still be someone's: kept
    assert left.exists()
    _age(left, STALE_TEMP_S + 1)
    atomic_write_bytes(tmp_path / "b.bin", b"fresh")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.bin"]


def test_only_old_temp_files_of_digitlabs_pattern_are_removed(tmp_path):
    stale_old_style = tmp_path / ".train-images-idx3-ubyte.k2j4_x9q.tmp"
    stale = tmp_path / ".checkpoint.json.abcd1234.digitlab.tmp"
    user_file = tmp_path / ".notes.tmp"
    young = tmp_path / ".model.safetensors.zzzz9999.digitlab.tmp"
    for path in (stale_old_style, stale, user_file, young):
        path.write_bytes(b"x")
    for path in (stale_old_style, stale, user_file):
        _age(path, STALE_TEMP_S + 5)
    assert sorted(remove_stale_temps(tmp_path)) == sorted([stale_old_style, stale])
    assert user_file.exists() and young.exists()
    assert remove_stale_temps(tmp_path / "missing") == []


def test_an_open_writer_keeps_its_temp_file_while_another_write_cleans(tmp_path):
    with atomic_open(tmp_path / "slow.bin") as handle:
        handle.write(b"part")
        atomic_write_bytes(tmp_path / "other.bin", b"meanwhile")
        handle.write(b" two")
    assert (tmp_path / "slow.bin").read_bytes() == b"part two"


def test_a_cache_read_removes_stale_temps_of_an_earlier_killed_fetch(tmp_path, tiny):
    from digitlab.datasets.cache import Cache

    cache = Cache(tmp_path)
    cache.write(tiny.spec, tiny.files, "test")
    leftover = cache.folder(tiny.spec) / ".train-images-idx3-ubyte.q1w2e3r4.digitlab.tmp"
    leftover.write_bytes(b"half")
    _age(leftover, STALE_TEMP_S + 1)
    cache.read(tiny.spec)
    assert not leftover.exists()
