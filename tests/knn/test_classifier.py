"""KNNClassifier against scikit-learn's KNeighborsClassifier(algorithm="brute"), ties included."""

import math

import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from digitlab.knn import KNNClassifier
from digitlab.knn.kernels import FloatEuclidean, Minkowski, PixelEuclidean

SETTINGS = [("euclidean", 2), ("manhattan", 2), ("minkowski", 3), ("minkowski", 1), ("minkowski", math.inf)]


def sklearn_knn(k, weights, metric, p):
    return KNeighborsClassifier(k, weights=weights, metric=metric, p=p, algorithm="brute")


def assert_same_neighbours(ours, theirs, queries, k):
    our_distances, our_indices = ours.kneighbors(queries, n_neighbors=k)
    their_distances, their_indices = theirs.kneighbors(queries, n_neighbors=k)
    assert np.array_equal(np.sort(our_indices, axis=1), np.sort(their_indices, axis=1))  # the same neighbours
    np.testing.assert_allclose(our_distances, np.sort(their_distances, axis=1), rtol=1e-12, atol=1e-12)


@parametrize_with_checks([KNNClassifier(), KNNClassifier(3, weights="distance", metric="cosine")])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("metric, p", SETTINGS)
@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("k", [1, 6])
def test_predictions_equal_scikit_learn_with_ties(tied_data, single_thread, metric, p, weights, k):
    X, y, queries = tied_data
    ours = KNNClassifier(k, weights=weights, metric=metric, p=p, batch_size=50).fit(X, y)
    theirs = sklearn_knn(k, weights, metric, p).fit(X, y)
    assert np.array_equal(ours.predict(queries), theirs.predict(queries))
    np.testing.assert_allclose(ours.predict_proba(queries), theirs.predict_proba(queries), atol=1e-12)
    assert_same_neighbours(ours, theirs, queries, k)


@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_cosine_equals_scikit_learn_without_ties(smooth_data, weights):
    X, y, queries = smooth_data
    ours = KNNClassifier(5, weights=weights, metric="cosine").fit(X, y)
    theirs = sklearn_knn(5, weights, "cosine", 2).fit(X, y)
    assert np.array_equal(ours.predict(queries), theirs.predict(queries))
    assert_same_neighbours(ours, theirs, queries, 5)


def test_float32_features_equal_scikit_learn(smooth_data, single_thread):
    X, y, queries = (a.astype(np.float32) if a.dtype.kind == "f" else a for a in smooth_data)
    ours = KNNClassifier(3, weights="distance").fit(X, y)
    theirs = sklearn_knn(3, "distance", "euclidean", 2).fit(X, y)
    assert np.array_equal(ours.predict(queries), theirs.predict(queries))


def test_uint8_pixels_take_an_exact_pixel_kernel_and_agree_with_floats(tied_data):
    X, y, queries = tied_data
    pixels = KNNClassifier(5).fit(X.astype(np.uint8) * 100, y)
    floats = KNNClassifier(5).fit(X * 100 + 0.0, y)
    assert isinstance(pixels.index_.kernel, PixelEuclidean)
    assert isinstance(floats.index_.kernel, PixelEuclidean)  # integer-valued floats are pixels too
    assert isinstance(KNNClassifier().fit(X + 0.5, y).index_.kernel, FloatEuclidean)
    assert isinstance(KNNClassifier(metric="manhattan").fit(X, y).index_.kernel, Minkowski)
    assert np.array_equal(pixels.predict((queries * 100).astype(np.uint8)), floats.predict(queries * 100))
    # real-valued queries against pixel references use the float path, with the same answer
    assert np.array_equal(pixels.predict(queries * 100 + 1e-9), floats.predict(queries * 100 + 1e-9))


def test_batch_size_changes_nothing(tied_data):
    X, y, queries = tied_data
    answers = [KNNClassifier(4, weights="distance", batch_size=size).fit(X, y).kneighbors(queries) for size in (1, 7, 1000)]
    for distances, indices in answers[1:]:
        assert np.array_equal(indices, answers[0][1]) and np.array_equal(distances, answers[0][0])


def test_neighbours_come_nearest_first_equal_distances_by_index(tied_data):
    X, y, queries = tied_data
    distances, indices = KNNClassifier(9).fit(X, y).kneighbors(queries)
    assert np.all(np.diff(distances, axis=1) >= 0)
    same = np.diff(distances, axis=1) == 0
    assert np.all(np.diff(indices, axis=1)[same] > 0)


def test_kneighbors_of_the_training_set_skips_each_point(tied_data, single_thread):
    X, y, _ = tied_data
    ours = KNNClassifier(3).fit(X, y).kneighbors()[1]
    theirs = sklearn_knn(3, "uniform", "euclidean", 2).fit(X, y).kneighbors()[1]
    assert np.array_equal(np.sort(ours, axis=1), np.sort(theirs, axis=1))


def test_torch_tensors_and_string_labels():
    X = torch.tensor([[0, 0], [0, 1], [9, 9], [9, 8]], dtype=torch.uint8)
    clf = KNNClassifier(1).fit(X, np.array(["zero", "zero", "nine", "nine"]))
    assert clf.predict(torch.tensor([[1, 1], [8, 8]], dtype=torch.uint8)).tolist() == ["zero", "nine"]
    assert clf.score(X, np.array(["zero", "zero", "nine", "nine"])) == 1.0
    assert KNNClassifier(1).fit(X.float(), torch.tensor([0, 0, 1, 1])).predict(X.float().bfloat16()).tolist() == [0, 0, 1, 1]


def test_distance_weights_at_zero_distance_count_alone():
    X = np.array([[0.0], [0.0], [1.0], [1.0], [1.0]])
    clf = KNNClassifier(5, weights="distance").fit(X, [0, 0, 1, 1, 1])
    assert clf.predict([[0.0]]).tolist() == [0]  # two exact matches outvote three at distance 1
    assert clf.predict_proba([[0.0]]).tolist() == [[1.0, 0.0]]


def test_vote_ties_go_to_the_first_class():
    X = np.array([[0.0], [2.0]])
    assert KNNClassifier(2).fit(X, [7, 3]).predict([[1.0]]).tolist() == [3]


@pytest.mark.parametrize("make_input, error", [
    (lambda X, y: (X[:0], y[:0]), ValueError),  # empty
    (lambda X, y: (X, y[:-1]), ValueError),  # mismatched lengths
    (lambda X, y: (np.where(X == X.max(), np.nan, X), y), ValueError),  # NaN
    (lambda X, y: (np.where(X == X.max(), np.inf, X), y), ValueError),  # infinity
    (lambda X, y: (X.reshape(len(X), 3, 4), y), ValueError),  # images not flattened
    (lambda X, y: (X.astype(str).astype(object) + "px", y), ValueError),  # not numbers
    (lambda X, y: (X, y + 0.5), ValueError),  # continuous target
])
def test_bad_training_input_raises_what_scikit_learn_raises(tied_data, make_input, error):
    X, y, _ = tied_data
    bad_X, bad_y = make_input(X, y)
    with pytest.raises(error) as ours:
        KNNClassifier().fit(bad_X, bad_y)
    with pytest.raises(error) as theirs:
        KNeighborsClassifier(algorithm="brute").fit(bad_X, bad_y)
    assert type(ours.value) is type(theirs.value) or isinstance(ours.value, type(theirs.value))


def test_bad_queries_and_k_name_the_offending_value(tied_data):
    X, y, queries = tied_data
    clf = KNNClassifier(5).fit(X[:4], y[:4])
    with pytest.raises(ValueError, match="n_neighbors = 5, n_samples_fit = 4"):
        clf.predict(queries)
    clf = KNNClassifier().fit(X, y)
    with pytest.raises(ValueError, match="11 features, but KNNClassifier is expecting 12"):
        clf.predict(queries[:, :11])
    with pytest.raises(ValueError, match="NaN"):
        clf.predict(np.full((1, 12), np.nan))
    with pytest.raises(ValueError, match="n_neighbors > 0. Got 0"):
        clf.kneighbors(queries, n_neighbors=0)


@pytest.mark.parametrize("parameters, message", [
    ({"n_neighbors": 0}, "Got 0"), ({"weights": "gaussian"}, "'gaussian'"), ({"metric": "hamming"}, "'hamming'"),
    ({"metric": "minkowski", "p": 0.5}, "0.5"), ({"batch_size": 0}, "got 0"), ({"device": "quantum"}, "'quantum'"),
    *([({"device": "cuda"}, "CUDA is not available")] if not torch.cuda.is_available() else []),
])
def test_bad_parameters_raise_at_fit(tied_data, parameters, message):
    X, y, _ = tied_data
    with pytest.raises(ValueError, match=message):
        KNNClassifier(**parameters).fit(X, y)
    with pytest.raises(TypeError, match="float"):
        KNNClassifier(2.5).fit(X, y)
