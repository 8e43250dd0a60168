"""Every euclidean and cosine kernel against scikit-learn on the feature kinds the course uses, ties included:
pixels/255 (mathematical ties that only rounding separates), PCA and deskewed features; then unusual but
correct inputs (duplicates, k above a class's size, constant features) and hostile ones (NaN, inf)."""

import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier

from digitlab.knn import PCA, KNNClassifier, NeighborIndex, choice, deskew_images
from digitlab.pixels import to_unit

KERNELS = ["auto", "float32", "pruned"]


@pytest.fixture
def images():
    """Three-grey-level 8 x 8 'images' (many exactly equal distances) with duplicated rows, and their queries."""
    rng = np.random.default_rng(11)
    pixels = (rng.integers(0, 3, (760, 64)) * 127).astype(np.uint8)
    pixels[400:460] = pixels[:60]  # duplicates, labelled differently
    return pixels[:600], rng.integers(0, 4, 600), pixels[600:]


@pytest.fixture(autouse=True)
def timed_small_searches(monkeypatch):
    monkeypatch.setattr(choice, "TIMED_MIN_WORK", 0)  # "auto" times its candidates on these small sets too
    monkeypatch.setattr(choice, "_timed", {})


def features(kind: str, X: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scaled, scaled_queries = to_unit(X), to_unit(queries)
    if kind == "pixels/255":
        return scaled, scaled_queries
    if kind == "deskewed":
        return tuple(deskew_images(torch.from_numpy(a).view(-1, 8, 8)).reshape(len(a), -1).numpy() for a in (scaled, scaled_queries))
    pca = PCA(12).fit(scaled)
    return pca.transform(scaled), pca.transform(scaled_queries)


def assert_same(ours, theirs, queries, k):
    np.testing.assert_array_equal(ours.predict(queries), theirs.predict(queries))
    (distances, indices), (their_distances, their_indices) = ours.kneighbors(queries, k), theirs.kneighbors(queries, k)
    np.testing.assert_array_equal(np.sort(indices, axis=1), np.sort(their_indices, axis=1))
    np.testing.assert_allclose(distances, their_distances, rtol=1e-6, atol=1e-6)  # scikit-learn's float32 rounding


@pytest.mark.parametrize("kind", ["pixels/255", "PCA", "deskewed"])
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("k, weights", [(1, "uniform"), (5, "distance")])
def test_real_valued_features_equal_scikit_learn_ties_included(images, single_thread, kind, kernel, k, weights):
    X, y, queries = images
    X, queries = features(kind, X, queries)
    ours = KNNClassifier(k, weights=weights, kernel=kernel, batch_size=64).fit(X, y)
    assert_same(ours, KNeighborsClassifier(k, weights=weights, algorithm="brute").fit(X, y), queries, k)


@pytest.mark.parametrize("kernel", KERNELS)
def test_cosine_on_pixels_over_255_equals_scikit_learn(images, single_thread, kernel):
    """In float64: scikit-learn's float32 cosine rounds a row by where its matrix product puts it (docs/knn.md)."""
    X, y, queries = images
    X, queries = to_unit(X).astype(np.float64), to_unit(queries).astype(np.float64)
    ours = KNNClassifier(3, metric="cosine", kernel=kernel).fit(X, y)
    assert_same(ours, KNeighborsClassifier(3, metric="cosine", algorithm="brute").fit(X, y), queries, 3)


@pytest.mark.parametrize("kernel", KERNELS)
def test_unusual_but_correct_inputs(single_thread, kernel):
    rng = np.random.default_rng(12)
    X = rng.normal(size=(300, 20)).astype(np.float32)
    X[:, 5] = 3.0  # a constant feature
    X[100:150] = X[:50]  # duplicates
    y = np.where(np.arange(300) < 3, 7, rng.integers(0, 3, 300))  # class 7 has 3 members, fewer than k
    queries = np.concatenate([X[:10], rng.normal(size=(40, 20)).astype(np.float32)])
    ours = KNNClassifier(6, kernel=kernel).fit(X, y)
    assert_same(ours, KNeighborsClassifier(6, algorithm="brute").fit(X, y), queries, 6)
    constant = np.ones((50, 4), dtype=np.float32)  # every distance equal: scikit-learn's tie order everywhere
    ours = KNNClassifier(4, kernel=kernel).fit(constant, y[:50])
    assert_same(ours, KNeighborsClassifier(4, algorithm="brute").fit(constant, y[:50]), constant[:5], 4)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_features_get_one_clear_error(bad):
    X = np.zeros((20, 3))
    X[4, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        KNNClassifier(3).fit(X, np.arange(20) % 2)
    model = KNNClassifier(3).fit(np.zeros((20, 3)), np.arange(20) % 2)
    with pytest.raises(ValueError, match="NaN|infinity"):
        model.predict(X)
    with pytest.raises(ValueError, match=r"^k-NN references hold NaN or infinity \(1 row\)"):
        NeighborIndex(torch.from_numpy(X))
    with pytest.raises(ValueError, match=r"^k-NN queries hold NaN or infinity \(1 row\)"):
        NeighborIndex(torch.zeros(20, 3)).query(torch.from_numpy(X), 2)
