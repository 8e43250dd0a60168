"""The lab: the notebook's experiments as sweep files, run against the store, quick or full.

The sweep files ship inside the package, in ``digitlab/lab/sweeps/`` (one TOML per assignment). ``--quick`` shrinks every sweep
to small subsets and one epoch (for tests and a first look); quick runs are different configs, so
they land in their own studies and never mix with full results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from optuna.storages import RDBStorage

from digitlab.errors import DigitlabError
from digitlab.experiments.config import ExperimentConfig, SweepSpec, load_sweep_file
from digitlab.experiments.reuse import reusing
from digitlab.experiments.runner import evaluator
from digitlab.experiments.spec import RunSpec
from digitlab.experiments.store import Run
from digitlab.experiments.sweep import SweepProgress, pending_count, plan_specs, planned, run_grid
from digitlab.packaged import sweep_dir

QUICK_TRAIN_LIMIT = 2000  # training images per quick run (validation comes out of these)
QUICK_TEST_LIMIT = 1000  # test images per quick run
QUICK_VALIDATION_SIZE = 500  # held-out images per quick run
QUICK_EPOCHS = 1
QUICK_MODELS = "quick"  # the quick lab keeps its models in this subfolder of the full lab's, apart from them


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
    if base.train_config.get("epochs", QUICK_EPOCHS) != 0:
        base = base.with_params({"train_config.epochs": QUICK_EPOCHS})
    grid = dict(sweep.grid)
    if "train_config.epochs" in grid:
        grid["train_config.epochs"] = sorted({min(value, QUICK_EPOCHS) for value in grid["train_config.epochs"]})
    if "train_limit" in grid:
        grid["train_limit"] = [value for value in grid["train_limit"] if value <= QUICK_TRAIN_LIMIT] or [QUICK_TRAIN_LIMIT]
    return replace(sweep, base=base, grid=grid)


@dataclass(frozen=True)
class PlannedSweep:
    """A sweep of the lab with every grid point resolved: the specs its runs run."""

    sweep: SweepSpec
    specs: dict[str, RunSpec]  # config digest -> resolved spec (digitlab.experiments.sweep.plan_specs)


def lab_plan(datasets: list[str], quick: bool = False, config_dir: Path | None = None,
             device: str | None = None) -> list[PlannedSweep]:
    """Every sweep the lab runs on ``datasets`` (quickened with ``quick``), each point resolved on ``device`` before
    anything runs: a misspelt setting fails now, not an hour in."""
    sweeps = [sweep for name in datasets for sweep in lab_sweeps(name, config_dir)]
    sweeps = [quicken(sweep) for sweep in sweeps] if quick else sweeps
    return [PlannedSweep(sweep, plan_specs(sweep, device)) for sweep in sweeps]


def pending(storage: RDBStorage, plan: list[PlannedSweep]) -> dict[str, int]:
    """Study name -> grid points still to run (the rest are reused from the store)."""
    return {planned_sweep.sweep.study_name: pending_count(storage, planned_sweep.sweep) for planned_sweep in plan}


@dataclass
class LabProgress:
    """Callbacks for whoever shows the lab's progress (the CLI); all optional."""

    on_sweep: Callable[[SweepSpec], None] | None = None  # a sweep starts
    on_start: Callable[[ExperimentConfig, dict[str, Any]], None] | None = None  # a run starts: its config and grid point
    on_epoch: Callable[[dict[str, Any]], None] | None = None  # an epoch of that run ended
    on_done: Callable[[Run], None] | None = None  # a run finished and is stored


def run_lab(plan: list[PlannedSweep], storage: RDBStorage, models_dir: Path | None, *, data_dir: Path | None = None,
            cache_dir: Path | None = None, progress: LabProgress | None = None) -> None:
    """Run every sweep's missing points through the run pipeline; a sweep file's ``save_model`` keeps its
    checkpoint in ``models_dir/<dataset>-<sweep>`` (what ``digitlab serve`` shows; None: keep none). A point
    whose resolved spec a finished run already ran is that run (:mod:`digitlab.experiments.reuse`)."""
    progress = progress or LabProgress()
    hooks = SweepProgress(on_start=progress.on_start, on_done=progress.on_done)
    for sweep, specs in ((planned_sweep.sweep, planned_sweep.specs) for planned_sweep in plan):
        if progress.on_sweep:
            progress.on_sweep(sweep)
        keep = Path(models_dir) / f"{sweep.base.dataset}-{sweep.name}" if sweep.save_model and models_dir else None
        evaluate = evaluator(data_dir=data_dir, cache_dir=cache_dir, on_epoch=progress.on_epoch, checkpoint_dir=keep)
        if keep is None:  # a sweep that keeps its models trains them itself; any other reuses a finished equal spec
            evaluate = reusing(evaluate, storage)
        run_grid(sweep, storage, planned(evaluate, specs), hooks)
