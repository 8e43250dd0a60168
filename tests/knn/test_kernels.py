"""Every exact kernel, forced, against scikit-learn; the lower bounds of pruning; the float32 pixel product."""

import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier
from threadpoolctl import threadpool_limits

from digitlab.knn import KNNClassifier, NeighborIndex
from digitlab.knn.kernels import PixelEuclidean, fits_float32_product
from digitlab.knn.pruning import PrunedEuclidean, projection_dims

KERNELS = ["int8", "float32", "pruned"]


def neighbours_and_predictions(model, queries, k):
    distances, indices = model.kneighbors(queries, n_neighbors=k)
    return np.sort(indices, axis=1), np.sort(distances, axis=1), model.predict(queries)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("k", [1, 5])
def test_each_forced_kernel_equals_scikit_learn_on_pixels(pixel_data, single_thread, kernel, weights, k):
    X, y, queries = pixel_data
    ours = KNNClassifier(k, weights=weights, kernel=kernel, batch_size=64).fit(X, y)
    assert ours.kernel_ == kernel
    theirs = KNeighborsClassifier(k, weights=weights, algorithm="brute").fit(X.astype(np.float64), y)
    expected = neighbours_and_predictions(theirs, queries.astype(np.float64), k)
    for got, want in zip(neighbours_and_predictions(ours, queries, k), expected, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kernel", ["float32", "pruned"])
def test_each_forced_kernel_equals_scikit_learn_on_floats(smooth_data, single_thread, kernel):
    X, y, queries = smooth_data
    ours = KNNClassifier(6, kernel=kernel, batch_size=50).fit(X, y)
    theirs = KNeighborsClassifier(6, algorithm="brute").fit(X, y)
    assert ours.kernel_ == kernel
    np.testing.assert_array_equal(ours.predict(queries), theirs.predict(queries))
    np.testing.assert_array_equal(np.sort(ours.kneighbors(queries)[1], axis=1), np.sort(theirs.kneighbors(queries)[1], axis=1))


def test_pruned_equals_the_float32_kernel_on_tied_real_values(pixel_data):
    """pixels/255 as float32, three grey levels: exact ties everywhere. Rounded real-valued ties may
    resolve differently from scikit-learn (docs/knn.md), but pruning never changes the float answer."""
    X, y, queries = pixel_data
    X, queries = X / np.float32(255), queries / np.float32(255)
    pruned, full = (KNNClassifier(6, kernel=kernel, batch_size=40).fit(X, y) for kernel in ("pruned", "float32"))
    for got, want in zip(pruned.kneighbors(queries), full.kneighbors(queries), strict=True):
        np.testing.assert_array_equal(got, want)


def test_int8_asked_for_real_valued_data_takes_the_automatic_choice(smooth_data):
    X, y, queries = smooth_data
    model = KNNClassifier(3, kernel="int8").fit(X, y)
    assert model.kernel_ == "float32" and "does not apply to real data" in model.index_.choice.reason
    assert np.array_equal(model.predict(queries), KNNClassifier(3).fit(X, y).predict(queries))


def test_pruned_fallback_rows_keep_the_answer(pixel_data, single_thread):
    """With very few candidates most rows cannot be vouched for: they try the wide stage (4x the
    candidates), then go back to the full kernel; the answer never changes."""
    rng = np.random.default_rng(5)
    smooth = rng.normal(size=(750, 6)) @ rng.normal(size=(6, 64)) * 20 + 128  # pixels near a 6-dimensional plane
    pixels = np.clip(smooth + 20 * rng.normal(size=smooth.shape), 0, 255).astype(np.uint8)
    X, queries = pixels[:600], pixels[600:]
    index = NeighborIndex(torch.from_numpy(X), kernel="pruned")
    full = NeighborIndex(torch.from_numpy(X), kernel="float32")
    for candidates in (2, 16, 200):
        index.kernel.candidates = candidates
        index.kernel.rows_searched = index.kernel.rows_refound = index.kernel.rows_widened = 0
        for got, want in zip(index.query(torch.from_numpy(queries), 4), full.query(torch.from_numpy(queries), 4), strict=True):
            assert torch.equal(got, want)
        assert index.kernel.rows_searched == len(queries)
        if candidates == 2:
            assert index.kernel.rows_widened > 0  # the wide stage ran, and kept the answer
        if candidates == 16:
            assert index.kernel.rows_widened > index.kernel.rows_refound  # it settled rows the first stages could not
        if candidates == 200:
            assert index.kernel.rows_refound < len(queries)  # the bound does vouch for rows


@pytest.mark.parametrize("scale", [1.0, 1e-6, 1e6])
def test_pruning_lower_bounds_never_exceed_true_distances(scale):
    rng = np.random.default_rng(3)
    base = rng.normal(size=(500, 40)) @ rng.normal(size=(40, 40))  # correlated, so the projection holds most of it
    references, queries = torch.from_numpy(base[:400] * scale + 3 * scale), torch.from_numpy(base[400:] * scale)
    index = NeighborIndex(references, kernel="pruned")
    kernel = index.kernel
    assert isinstance(kernel, PrunedEuclidean) and kernel.dims == projection_dims(40)
    _, projected, own = kernel.prepare(queries)
    buffer = torch.empty(len(queries) * kernel.width)
    lower = own.unsqueeze(1) + kernel.scores(projected, buffer)[:, : len(references)].double() - kernel.margin(own).unsqueeze(1)
    true = torch.cdist(queries, references).square()
    assert bool((lower <= true).all())
    assert float((lower / true).median()) > 0.5  # and they are useful, not trivially low


def test_float32_pixel_product_is_exact_at_the_extremes():
    d = 784
    assert fits_float32_product(d) and not fits_float32_product(1024)
    rng = np.random.default_rng(4)
    extremes = torch.from_numpy(rng.choice(np.array([0, 255], dtype=np.uint8), size=(40, d)))
    extremes[0], extremes[1] = 0, 255
    cpu = torch.device("cpu")
    int8, float32 = (PixelEuclidean(extremes, 64, cpu, product=product) for product in ("int8", "float32"))
    queries = extremes[:8]
    scores = [kernel.scores(kernel.prepare(queries), torch.empty(64 * 8, dtype=torch.int32)).clone() for kernel in (int8, float32)]
    assert torch.equal(scores[0], scores[1])
    exact = (queries.long().unsqueeze(1) - extremes.long().unsqueeze(0)).square().sum(dim=2).double()
    assert torch.equal(float32.distances(scores[1][:, :40], float32.prepare(queries)), exact.sqrt())
    columns = torch.arange(40).repeat(8, 1)
    assert torch.equal(float32.candidate_distances(float32.prepare(queries), columns), exact)


@pytest.mark.parametrize("kernel", ["float32", "pruned"])
@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_cosine_kernels_equal_scikit_learn(smooth_data, single_thread, kernel, weights):
    X, y, queries = smooth_data
    X[7] = 0  # a zero row: distance 1 from everything, in scikit-learn too
    ours = KNNClassifier(5, weights=weights, metric="cosine", kernel=kernel, batch_size=64).fit(X, y)
    theirs = KNeighborsClassifier(5, weights=weights, metric="cosine", algorithm="brute").fit(X, y)
    assert ours.kernel_ == kernel
    np.testing.assert_array_equal(ours.predict(queries), theirs.predict(queries))
    for got, want in zip(neighbours_and_predictions(ours, queries, 5), neighbours_and_predictions(theirs, queries, 5), strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_pruned_cosine_keeps_the_full_kernels_answer_through_every_stage():
    """Few candidates, so rows take the wide stage and the full search; duplicated and scaled rows
    (equal cosines, exactly) and a zero row: the answer is the full cosine kernel's, bit for bit."""
    rng = np.random.default_rng(6)
    smooth = rng.normal(size=(750, 6)) @ rng.normal(size=(6, 64)) * 20 + 128  # pixels near a 6-dimensional plane
    pixels = np.clip(smooth + 20 * rng.normal(size=smooth.shape), 0, 255).astype(np.uint8)
    pixels[100:150] = pixels[:50]  # duplicates
    pixels[150:200] = pixels[:50] // 2 * 2  # even pixels ...
    pixels[200:250] = pixels[150:200] // 2  # ... and their halves: the same direction, so the same cosine
    pixels[250] = 0
    X, queries = torch.from_numpy(pixels[:600]), torch.from_numpy(pixels[600:])
    pruned = NeighborIndex(X, metric="cosine", kernel="pruned")
    full = NeighborIndex(X, metric="cosine", kernel="float32")
    assert isinstance(pruned.kernel, PrunedEuclidean) and pruned.kernel.cosine
    widened = {}
    for candidates in (2, 16, 200):
        pruned.kernel.candidates = candidates
        pruned.kernel.rows_refound = pruned.kernel.rows_widened = 0
        for got, want in zip(pruned.query(queries, 4), full.query(queries, 4), strict=True):
            assert torch.equal(got, want)
        widened[candidates] = pruned.kernel.rows_widened
        if candidates == 200:
            assert pruned.kernel.rows_refound < len(queries)  # the bounds do vouch for rows
    assert widened[2] > 0


@pytest.mark.parametrize("kernel", ["float32", "pruned"])
def test_cosine_boundary_ties_replay_scikit_learns_selection(kernel):
    """Rows whose k-th cosine distance is tied: scikit-learn keeps what np.argpartition keeps. Exact
    ties (duplicates and scaled copies) take its choice; orthogonal rows tie at distance 1 exactly."""
    rng = np.random.default_rng(8)
    X = rng.integers(1, 9, (300, 16)).astype(np.float64)
    X[100:200] = X[:100] * 2  # scaled copies: the same direction, so exactly equal distances, labelled differently
    X[200:230, :8], X[230:260, 8:] = 0, 0  # halves: rows orthogonal to queries on the other half
    y = rng.integers(0, 4, 300)
    queries = np.concatenate([X[:40] * 3, np.concatenate([np.zeros((20, 8)), X[200:220, 8:]], axis=1)])
    with threadpool_limits(limits=1, user_api="openmp"):
        for k in (1, 3):
            ours = KNNClassifier(k, metric="cosine", kernel=kernel).fit(X, y)
            theirs = KNeighborsClassifier(k, metric="cosine", algorithm="brute").fit(X, y)
            np.testing.assert_array_equal(np.sort(ours.kneighbors(queries)[1], axis=1), np.sort(theirs.kneighbors(queries)[1], axis=1))
            np.testing.assert_array_equal(ours.predict(queries), theirs.predict(queries))
