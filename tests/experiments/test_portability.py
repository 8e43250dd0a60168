"""The store and the lab work where ``fcntl`` does not exist (Windows): checked in subprocesses that block it."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import digitlab

POSIX_ONLY_MODULES = {"fcntl", "pwd", "grp", "termios", "tty", "pty", "resource", "posix"}
SUBPROCESS_TIMEOUT_S = 120
LAB_TIMEOUT_S = 900  # `lab --quick` takes about a minute on a free 2-core machine

# Runs digitlab's CLI in a Python where `import fcntl` fails, as on Windows.
WITHOUT_FCNTL = """
import sys
sys.modules["fcntl"] = None  # any later `import fcntl` raises ImportError
from digitlab.cli.main import main
code = main(sys.argv[1:])
assert "fcntl" not in sys.modules or sys.modules["fcntl"] is None
sys.exit(code)
"""


# Takes both store locks (enqueueing under the study lock, claiming under the claim lock).
LOCKS_WITHOUT_FCNTL = """
import sys
sys.modules["fcntl"] = None
from optuna.trial import TrialState
from digitlab.experiments.store import open_storage, open_study, study_lock
storage = open_storage(sys.argv[1])
with study_lock(storage, "portable"):
    study = open_study(storage, "portable")
    study.enqueue_trial({"x": 1})
trial_id = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))[0]._trial_id
assert storage.set_trial_state_values(trial_id, TrialState.RUNNING)
print("claimed", trial_id)
"""


def _run_without_fcntl(argv: list[str], cwd: Path, timeout: float, script: str = WITHOUT_FCNTL) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(digitlab.__file__).parents[1])}
    return subprocess.run([sys.executable, "-W", "ignore::UserWarning:filelock", "-c", script, *argv],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_no_module_imports_a_posix_only_module():
    package = Path(digitlab.__file__).parent
    found = []
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [f"{path.relative_to(package)}: {name}" for name in names if name.split(".")[0] in POSIX_ONLY_MODULES]
    assert found == []


def test_the_store_opens_locks_and_lists_without_fcntl(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.sqlite3'}"
    done = _run_without_fcntl(["runs", "list", "--storage", url], tmp_path, SUBPROCESS_TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "runs.sqlite3").is_file()
    locked = _run_without_fcntl([url], tmp_path, SUBPROCESS_TIMEOUT_S, script=LOCKS_WITHOUT_FCNTL)
    assert locked.returncode == 0, locked.stderr[-2000:]
    assert "claimed" in locked.stdout


@pytest.mark.slow
@pytest.mark.realdata
def test_the_quick_lab_runs_without_fcntl(tmp_path):
    done = _run_without_fcntl(["lab", "--quick"], tmp_path, LAB_TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "runs to do" in done.stdout and (tmp_path / "runs" / "reports" / "mnist" / "index.html").is_file()
