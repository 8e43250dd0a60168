"""The lab: the notebook's experiments as sweep files, run against the store, quick or full.

The sweep files ship inside the package, in ``digitlab/lab/sweeps/`` (one TOML per assignment). ``--quick`` shrinks every sweep
to small subsets and one epoch (for tests and a first look); quick runs are different configs, so
they land in their own studies and never mix with full results.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from digitlab.errors import DigitlabError
from digitlab.experiments.config import SweepSpec, load_sweep_file
from digitlab.packaged import sweep_dir

QUICK_TRAIN_LIMIT = 2000  # training images per quick run (validation comes out of these)
QUICK_TEST_LIMIT = 1000  # test images per quick run
QUICK_VALIDATION_SIZE = 500  # held-out images per quick run
QUICK_EPOCHS = 1
SAVED_MODEL_SWEEPS = ("mlp-best", "cnn")  # their checkpoints are what `digitlab serve` shows


def default_config_dir() -> Path:
    """The sweep files shipped with digitlab (package data: found after a plain install too)."""
    return sweep_dir()


def lab_sweeps(dataset: str, config_dir: Path | None = None) -> list[SweepSpec]:
    """The lab's sweeps for ``dataset``, in file-name order."""
    folder = Path(config_dir) if config_dir else default_config_dir()
    paths = sorted(folder.glob("*.toml"))
    if not paths:
        raise DigitlabError(f"no sweep files (*.toml) in {folder}; pass --configs with a folder of them")
    return [load_sweep_file(path, dataset=dataset) for path in paths]


def quicken(sweep: SweepSpec) -> SweepSpec:
    """The same sweep on small subsets and one epoch: seconds instead of minutes."""
    base = sweep.base.with_params({"train_limit": QUICK_TRAIN_LIMIT, "test_limit": QUICK_TEST_LIMIT,
                                   "validation_size": min(sweep.base.validation_size, QUICK_VALIDATION_SIZE)})
    if base.train_options.get("epochs", QUICK_EPOCHS) != 0:
        base = base.with_params({"train_options.epochs": QUICK_EPOCHS})
    grid = dict(sweep.grid)
    if "train_options.epochs" in grid:
        grid["train_options.epochs"] = sorted({min(value, QUICK_EPOCHS) for value in grid["train_options.epochs"]})
    if "train_limit" in grid:
        grid["train_limit"] = [value for value in grid["train_limit"] if value <= QUICK_TRAIN_LIMIT] or [QUICK_TRAIN_LIMIT]
    return replace(sweep, base=base, grid=grid)
