"""Experiments: typed configs, sweeps and searches on Optuna, and the store they write to."""

from digitlab.experiments.spec import ExperimentConfig, SweepSpec, load_sweep_file
from digitlab.experiments.store import Run, default_storage_url, get_run, list_runs, list_studies, open_storage
from digitlab.experiments.sweep import SweepProgress, pending_count, run_grid, run_search

__all__ = [
    "ExperimentConfig",
    "Run",
    "SweepProgress",
    "SweepSpec",
    "default_storage_url",
    "get_run",
    "list_runs",
    "list_studies",
    "load_sweep_file",
    "open_storage",
    "pending_count",
    "run_grid",
    "run_search",
]
