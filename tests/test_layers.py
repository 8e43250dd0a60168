"""The layers declared in pyproject.toml ([tool.importlinter]) hold: run import-linter on this checkout."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"  # installed with the test extra


def test_import_contracts_are_kept():
    assert LINT_IMPORTS.is_file(), f"{LINT_IMPORTS} is missing: install the test extra (pip install -e '.[test]')"
    # Analyse this checkout's sources, whatever copy of digitlab the environment has installed.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"import contracts broken:\n{done.stdout}\n{done.stderr}"
    assert "0 broken" in done.stdout and "3 kept" in done.stdout, done.stdout  # every declared contract was checked
