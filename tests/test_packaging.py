"""The lab's sweep files and the companion notebook ship inside the package; a wheel install runs the lab."""

from __future__ import annotations

import os
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from digitlab.cli.main import main
from digitlab.packaged import NOTEBOOK_NAME, notebook_file, sweep_dir

REPO = Path(__file__).resolve().parents[1]
BUILD_TIMEOUT_S = 300  # building the wheel and installing it without dependencies: seconds, normally
LAB_TIMEOUT_S = 900  # `lab --quick` takes about a minute on a free 2-core machine


def test_the_sweep_files_and_the_notebook_are_inside_the_package():
    assert len(list(sweep_dir().glob("*.toml"))) >= 10
    assert notebook_file().is_file() and notebook_file().name == NOTEBOOK_NAME
    assert str(sweep_dir()).startswith(str(Path(__import__("digitlab").__file__).parent))


def test_notebook_writes_the_full_edition_once_and_keeps_an_edited_copy(tmp_path, capsys):
    from digitlab.course import facts
    from digitlab.notebooks.editions import write_edition

    expected = write_edition("full", tmp_path / "expected", facts()).read_bytes()
    assert main(["notebook", str(tmp_path / "nb")]) == 0
    copy = tmp_path / "nb" / NOTEBOOK_NAME
    assert copy.read_bytes() == expected
    assert f"jupyter lab {tmp_path / 'nb'}" in " ".join(capsys.readouterr().out.split())

    copy.write_text("my own answers")
    assert main(["notebook", str(tmp_path / "nb")]) == 1
    assert "exists already" in capsys.readouterr().err and copy.read_text() == "my own answers"
    assert main(["notebook", str(tmp_path / "nb"), "--force"]) == 0
    assert copy.read_bytes() == expected
    assert not list((tmp_path / "nb").glob("*.tmp"))


def test_a_notebook_into_an_unwritable_place_is_one_clear_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["notebook", str(blocker / "nb")]) == 1
    assert "Traceback" not in capsys.readouterr().err


def _build_wheel(out: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(REPO)],
                   check=True, timeout=BUILD_TIMEOUT_S, capture_output=True)
    (wheel,) = out.glob("digitlab-*.whl")
    return wheel


def _venv_on_top_of_this_one(folder: Path) -> Path:
    """A fresh virtualenv whose dependencies come from this interpreter's site-packages (offline, fast).

    A .pth line adds those folders to the path but does not run the .pth files inside them, so this
    checkout's editable install of digitlab is not seen: only the wheel's copy can be imported.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=BUILD_TIMEOUT_S)
    python = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, "shared-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return python


@pytest.mark.slow
@pytest.mark.realdata
def test_a_wheel_install_runs_the_quick_lab_from_an_empty_folder(tmp_path):
    wheel = _build_wheel(tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    assert f"digitlab/lab/{NOTEBOOK_NAME}" in names and sum(n.startswith("digitlab/lab/sweeps/") for n in names) >= 10

    python = _venv_on_top_of_this_one(tmp_path / "venv")
    # --ignore-installed: the shared digitlab on the path is neither reused nor uninstalled
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--ignore-installed", "-q", str(wheel)],
                   check=True, timeout=BUILD_TIMEOUT_S, capture_output=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "DIGITLAB_STORAGE")}
    where = subprocess.run([python, "-c", "import digitlab; print(digitlab.__file__)"], cwd=empty, env=env,
                           check=True, capture_output=True, text=True).stdout
    assert where.startswith(str(tmp_path / "venv"))

    digitlab = python.parent / ("digitlab.exe" if os.name == "nt" else "digitlab")
    done = subprocess.run([digitlab, "lab", "--quick"], cwd=empty, env=env, capture_output=True, text=True, timeout=LAB_TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "runs to do" in done.stdout and (empty / "runs" / "reports" / "mnist" / "index.html").is_file()
    assert (empty / "runs" / "digitlab.sqlite3").is_file()
