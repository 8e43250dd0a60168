"""Hostile input to the command line: every refusal is one line saying what to do, given before any work starts."""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rich.console import Console
from rich.text import Text

from digitlab.cli.common import describe_disk_error
from digitlab.cli.main import main
from digitlab.cli.progress import progress_bar
from digitlab.inference import load_network
from tests.cli.helpers import flat, register_synthetic_mnist

TERMINAL_COLUMNS = 80


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    return register_synthetic_mnist(tmp_path, monkeypatch, 256, 64)


@pytest.fixture
def no_data_loading(monkeypatch):
    """Any dataset loading or fetching fails the test: a refusal must come before the work."""
    def refuse(*args, **kwargs):
        raise AssertionError("work started before the arguments were checked")

    for module in ("digitlab.cli.lab", "digitlab.cli.robustness", "digitlab.cli.data", "digitlab.cli.train"):
        for name in ("fetch", "load"):
            monkeypatch.setattr(f"{module}.{name}", refuse, raising=False)


def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("Error:"), err
    return flat(err)


def _digit(path: Path) -> str:
    Image.fromarray(np.pad(np.full((20, 4), 255, np.uint8), 4)).save(path)
    return str(path)


@pytest.mark.parametrize("command", [["train", "--epochs", "1"], ["lab", "--quick"], ["report"], ["data", "show"],
                                     ["robustness", "--knn"], ["knn", "--k", "1"]])
def test_an_out_that_is_a_file_is_refused_before_any_work(tmp_path, capsys, no_data_loading, command):
    taken = tmp_path / "a-file"
    taken.write_text("keep me")
    assert main([*command, "--out", str(taken)]) == 1
    assert f"--out {taken} is a file, not a folder" in _error_line(capsys)
    assert taken.read_text() == "keep me"


def test_runs_export_refuses_a_folder_or_an_unwritable_file_before_reading_the_store(tmp_path, capsys):
    assert main(["runs", "export", "--out", str(tmp_path)]) == 1
    assert "is a folder; name a file in it" in _error_line(capsys)
    assert main(["runs", "export", "--out", "/proc/digitlab/runs.csv"]) == 1
    assert "the system's own files" in _error_line(capsys)


@pytest.mark.parametrize("where", ["/dev/null", "/proc/digitlab", "/sys/digitlab/runs"])
def test_an_out_among_the_systems_own_files_is_refused(capsys, no_data_loading, where):
    assert main(["train", "--epochs", "1", "--out", where]) == 1
    assert "the system's own files" in _error_line(capsys)


@pytest.fixture
def read_only(tmp_path):
    """A folder nobody may write to: read-only permissions, or for root (whom permissions do not stop) the immutable attribute."""
    folder = tmp_path / "locked"
    folder.mkdir()
    if os.name != "posix":
        pytest.skip("POSIX permissions")
    folder.chmod(0o500)
    as_root = os.geteuid() == 0
    if as_root and subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("root, and chattr +i is not available on this filesystem")
    yield folder
    if as_root:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    folder.chmod(0o700)


@pytest.mark.parametrize("command", [["report"], ["lab", "--quick"], ["train", "--epochs", "1"]])
def test_a_read_only_out_is_refused(read_only, capsys, no_data_loading, command):
    assert main([*command, "--out", str(read_only / "results")]) == 1
    assert "cannot be written" in _error_line(capsys)
    assert list(read_only.iterdir()) == []


@pytest.mark.parametrize("command", [["runs", "list"], ["report"], ["lab", "--quick"]])
def test_commands_run_in_a_read_only_folder_say_so_in_one_line(read_only, capsys, monkeypatch, no_data_loading, command):
    monkeypatch.chdir(read_only)  # runs/ (the store, the reports) cannot be created here
    monkeypatch.delenv("DIGITLAB_STORAGE", raising=False)
    assert main(command) == 1
    assert "cannot" in _error_line(capsys)
    assert list(read_only.iterdir()) == []


@pytest.mark.parametrize("command", [["runs", "list"], ["report"]])
def test_a_store_in_a_folder_that_cannot_be_written_is_one_line(tmp_path, capsys, command):
    """/sys refuses new folders even to root: what a read-only disk does to the default runs/ store."""
    assert main([*command, "--storage", "sqlite:////sys/digitlab/runs.sqlite3", *(["--out", str(tmp_path)] if command == ["report"] else [])]) == 1
    assert "cannot write" in _error_line(capsys)


def test_a_full_disk_during_training_is_one_line_and_keeps_the_last_checkpoint(data_dir, tmp_path, capsys, monkeypatch):
    import digitlab.inference.checkpoint as checkpoint

    out, writes, real = tmp_path / "run", [], checkpoint.atomic_write_bytes

    def fills_up(path, data):  # the first epoch's files fit, the second epoch's do not
        writes.append(path)
        if len(writes) > 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, data)

    monkeypatch.setattr(checkpoint, "atomic_write_bytes", fills_up)
    assert main(["train", "--hidden-sizes", "16", "--epochs", "2", "--batch-size", "64", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Error: the disk is full" in flat(err) and "epoch 1/2" in err
    assert len(load_network(out).history) == 1  # the last complete checkpoint is intact


def test_disk_errors_wrapped_by_other_libraries_are_recognised():
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError:
            raise AssertionError("Should not reach.") from None  # what a store library may raise while handling it
    except AssertionError as wrapped:
        wrapped.__context__ = OSError(errno.ENOSPC, "No space left on device")
        assert "disk is full" in describe_disk_error(wrapped)
    assert "disk is full" in describe_disk_error(RuntimeError("(sqlite3.OperationalError) database or disk is full"))
    assert describe_disk_error(KeyError("a bug")) is None  # anything else keeps its traceback


def test_a_network_larger_than_memory_is_refused_up_front(data_dir, tmp_path, capsys):
    assert main(["train", "--hidden-sizes", "100000000", "--out", str(tmp_path / "huge")]) == 1
    line = _error_line(capsys)
    assert "needs" in line and "GB to train" in line and "choose smaller --hidden-sizes" in line
    assert not (tmp_path / "huge").exists()


def test_an_unknown_augmentation_is_refused_before_the_settings_are_printed(data_dir, tmp_path, capsys):
    assert main(["train", "--augment", "rotate,blur", "--out", str(tmp_path / "x")]) == 1
    line = _error_line(capsys)
    assert "unknown augmentation 'blur'" in line and "epochs of batch" not in line and "{" not in line


def test_serve_refuses_an_infinite_upload_limit(capsys):
    assert main(["serve", "--max-upload-mb", "inf"]) == 2
    assert "--max-upload-mb" in flat(capsys.readouterr().err)


def test_a_huge_sweep_grid_is_refused_at_once(tmp_path, capsys):
    sweep = tmp_path / "huge.toml"
    sweep.write_text('name = "huge"\n[base]\nkind = "knn"\n[grid]\n'
                     f'"knn_config.n_neighbors" = {list(range(1, 1001))}\nseed = {list(range(1000))}\n')
    assert main(["sweep", str(sweep), "--storage", f"sqlite:///{tmp_path}/runs.db"]) == 1
    assert "a grid of 1,000,000 points (1000 x 1000)" in _error_line(capsys)


@pytest.fixture
def trained(data_dir, tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--hidden-sizes", "16", "--epochs", "1", "--batch-size", "64", "--out", str(out)]) == 0
    return out


def test_predict_says_when_the_checkpoint_is_missing(tmp_path, capsys):
    image = _digit(tmp_path / "digit.png")
    assert main(["predict", image, image]) == 1
    assert "is a file, not a checkpoint folder: name the checkpoint first" in _error_line(capsys)
    assert main(["predict", str(tmp_path)]) == 1
    assert "no checkpoint in" in _error_line(capsys)


def test_predict_answers_every_file_of_a_folder_and_reports_the_bad_one(trained, tmp_path, capsys):
    folder = tmp_path / "pictures"
    folder.mkdir()
    _digit(folder / "a.png")
    _digit(folder / "b.png")
    (folder / "broken.png").write_bytes(b"not a picture")
    assert main(["predict", str(trained), str(folder), "--json"]) == 1  # one bad file: the exit code says so
    captured = capsys.readouterr()
    answers = json.loads(captured.out)
    assert [Path(answer["image"]).name for answer in answers] == ["a.png", "b.png", "broken.png"]
    assert all(0 <= answer["probability"] <= 1 and len(answer["top"]) == 3 for answer in answers[:2])
    assert "error" in answers[2] and "Traceback" not in captured.err
    assert flat(captured.err).startswith("Error:") and "broken.png" in captured.err


def test_training_progress_off_a_terminal_is_plain_lines_with_an_eta(data_dir, tmp_path, capsys):
    assert main(["train", "--hidden-sizes", "16", "--epochs", "2", "--batch-size", "64", "--out", str(tmp_path / "run")]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in lines] == ["1/2", "2/2"]
    assert "eta " in lines[0] and "done in " in lines[1]
    assert all(len(line) <= TERMINAL_COLUMNS for line in lines)


def test_the_progress_bar_fits_80_columns_whatever_its_text():
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=TERMINAL_COLUMNS, color_system=None)
    with progress_bar(console, stats=True) as progress:
        task = progress.add_task("fashion-mnist: a very long sweep description", total=118, stats="loss 0.1234  acc 97.12%  and more")
        progress.update(task, completed=59)
        console.print(progress.make_tasks_table(progress.tasks))
    table = [Text.from_ansi(line).plain for line in screen.getvalue().splitlines() if "59/118" in line]
    assert table and all(len(line) <= TERMINAL_COLUMNS and "59/118" in line for line in table)
