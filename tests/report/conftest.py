"""One fake lab store and its MNIST report, built once for all report tests (filling a store is the slow part)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

from digitlab.datasets import Dataset
from digitlab.experiments import open_storage
from digitlab.report import build_report
from tests.report.fakes import fill_store, tiny_dataset

FASHION_SWEEPS = ("cnn", "knn")  # enough for the comparison part
MEMORY_DISK = Path("/dev/shm")


@pytest.fixture(scope="session", autouse=True)
def quiet_optuna() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(scope="session")
def mnist() -> Dataset:
    return tiny_dataset("mnist")


@pytest.fixture(scope="session")
def fashion() -> Dataset:
    return tiny_dataset("fashion-mnist", seed=1)


@pytest.fixture(scope="session")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder for SQLite stores: in memory (/dev/shm) where there is one, since every run is a few commits."""
    if MEMORY_DISK.is_dir() and os.access(MEMORY_DISK, os.W_OK):
        with tempfile.TemporaryDirectory(dir=MEMORY_DISK, prefix="digitlab-report-") as folder:
            yield Path(folder)
    else:
        yield tmp_path_factory.mktemp("stores")


@pytest.fixture(scope="session")
def lab_url(store_dir: Path, mnist: Dataset, fashion: Dataset) -> str:
    """Every lab sweep on MNIST, a few on Fashion-MNIST, no robustness sweep."""
    url = f"sqlite:///{store_dir}/lab.sqlite3"
    fill_store(url, mnist)
    fill_store(url, fashion, only=FASHION_SWEEPS)
    return url


@pytest.fixture(scope="session")
def mnist_report(lab_url: str, mnist: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_report(open_storage(lab_url), "mnist", tmp_path_factory.mktemp("reports") / "mnist", mnist)


@pytest.fixture(scope="session")
def mnist_html(mnist_report: Path) -> str:
    return mnist_report.read_text(encoding="utf-8")
