"""The code passes ruff with the rules in pyproject.toml ([tool.ruff]): pyflakes, pycodestyle, bugbear, import order."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUFF = Path(sys.executable).parent / "ruff"  # installed with the test extra


def test_ruff_finds_nothing():
    assert RUFF.is_file(), f"{RUFF} is missing: install the test extra (pip install -e '.[test]')"
    done = subprocess.run([str(RUFF), "check", "--no-cache", "src", "tests", "benchmarks"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"ruff found problems:\n{done.stdout}\n{done.stderr}"
