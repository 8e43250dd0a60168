"""Generated data for the k-NN tests: small integer grids full of exact ties, and scikit-learn run
single-threaded (its answer for tied distances is then the one it gives for large query sets)."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True)
def probe_in_memory(monkeypatch):
    """Kernel probes stay in the process: tests never write the user's cache."""
    monkeypatch.setenv("DIGITLAB_KNN_PROBE_CACHE", "0")


@pytest.fixture
def tied_data():
    """Integer features 0..2 (so many exactly equal distances) plus duplicated training rows."""
    rng = np.random.default_rng(0)
    X = rng.integers(0, 3, (400, 12)).astype(np.float64)
    X[200:260] = X[:60]  # exact duplicates, labelled differently
    y = rng.integers(0, 4, 400)
    queries = rng.integers(0, 3, (120, 12)).astype(np.float64)
    return X, y, queries


@pytest.fixture
def smooth_data():
    """Continuous features: no ties, for the cosine metric whose scikit-learn tie order is unspecified."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 8))
    y = (X[:, 0] + 0.5 * rng.normal(size=300) > 0).astype(int) + 2 * (X[:, 1] > 0)
    return X, y, rng.normal(size=(80, 8))


@pytest.fixture
def pixel_data():
    """uint8 digits-like data: few grey levels (many exact ties), duplicates, 64 features."""
    rng = np.random.default_rng(2)
    X = (rng.integers(0, 3, (600, 64)) * 127).astype(np.uint8)
    X[300:380] = X[:80]
    return X, rng.integers(0, 5, 600), (rng.integers(0, 3, (150, 64)) * 127).astype(np.uint8)


@pytest.fixture
def single_thread():
    """Run scikit-learn with one OpenMP thread (see docs/knn.md, "Ties")."""
    with threadpool_limits(limits=1, user_api="openmp"):
        yield
