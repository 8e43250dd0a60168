"""The image distortion model re-ranking: the vectorised distance against a plain per-pixel definition,
scikit-learn's contract, and predictions equal to a brute-force computation of the same definition."""

import numpy as np
import pytest
import torch
from sklearn.utils.estimator_checks import check_estimator

from digitlab.errors import DigitlabError
from digitlab.knn import KNNClassifier, KNNPipelineConfig, build_pipeline
from digitlab.knn.distortion import DistortionRerank, gradients, idm_distances

SOBEL = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)


def plain_gradients(image: np.ndarray) -> np.ndarray:
    """(2, H, W): Sobel x and y, one pixel at a time, zeros beyond the border."""
    height, width = image.shape
    out = np.zeros((2, height, width))
    for i in range(height):
        for j in range(width):
            for a in range(3):
                for b in range(3):
                    y, x = i + a - 1, j + b - 1
                    if 0 <= y < height and 0 <= x < width:
                        out[0, i, j] += SOBEL[a, b] * image[y, x]
                        out[1, i, j] += SOBEL[b, a] * image[y, x]
    return out


def plain_context(grad: np.ndarray, i: int, j: int) -> np.ndarray:
    """The 3x3 patch of both gradients around (i, j), zeros beyond the border: 18 numbers."""
    height, width = grad.shape[1:]
    return np.array([grad[c, i + a, j + b] if 0 <= i + a < height and 0 <= j + b < width else 0.0
                     for c in range(2) for a in (-1, 0, 1) for b in (-1, 0, 1)])


def plain_idm(query: np.ndarray, reference: np.ndarray, radius: int) -> float:
    """The definition: per query pixel, the best context match within the window inside the image, summed."""
    gq, gr = plain_gradients(query), plain_gradients(reference)
    height, width = query.shape
    total = 0.0
    for i in range(height):
        for j in range(width):
            cq = plain_context(gq, i, j)
            total += min(np.sum((cq - plain_context(gr, y, x)) ** 2)
                         for y in range(i - radius, i + radius + 1) for x in range(j - radius, j + radius + 1)
                         if 0 <= y < height and 0 <= x < width)
    return total


@pytest.mark.parametrize("radius", [0, 1, 2])
def test_vectorised_distance_equals_the_per_pixel_definition(radius):
    rng = np.random.default_rng(radius)
    queries, references = rng.random((2, 6, 7)), rng.random((2, 3, 6, 7))  # non-square on purpose
    ours = idm_distances(gradients(torch.tensor(queries)), gradients(torch.tensor(references.reshape(-1, 6, 7))).view(2, 3, 2, 6, 7), radius)
    expected = [[plain_idm(queries[b], references[b, m], radius) for m in range(3)] for b in range(2)]
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-5)


def test_radius_zero_and_a_shifted_copy():
    rng = np.random.default_rng(7)
    image = np.zeros((1, 8, 8))
    image[0, 2:6, 3] = 1.0
    moved = np.roll(image, 1, axis=2)  # one pixel right, nothing wraps
    grad = lambda a: gradients(torch.tensor(a))  # noqa: E731
    assert idm_distances(grad(image), grad(moved).view(1, 1, 2, 8, 8), 1).item() == pytest.approx(0.0, abs=1e-9)
    assert idm_distances(grad(image), grad(moved).view(1, 1, 2, 8, 8), 0).item() > 1
    other = rng.random((1, 8, 8))
    assert idm_distances(grad(other), grad(other).view(1, 1, 2, 8, 8), 0).item() == pytest.approx(0.0, abs=1e-9)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
def test_fails_checks_only_for_widths_that_are_not_images():
    # As for TrainingCopies: the checks feed 2..10 features; the rerank needs H*W pixels.
    results = check_estimator(DistortionRerank(KNNClassifier(1), n_neighbors=1, candidates=3), on_fail=None)
    assert [result for result in results if result["status"] == "passed"], "some checks apply and pass"
    for result in (result for result in results if result["status"] == "failed"):
        error = result["exception"]
        messages = [str(error), str(error.__cause__ or error.__context__)]
        assert any("do not make a square image" in message for message in messages), (result["check_name"], error)


@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_pipeline_predictions_equal_a_brute_force_of_the_same_definition(weights):
    rng = np.random.default_rng(11)
    side, n_train, m, k = 6, 30, 8, 3
    train = (rng.random((n_train, side, side)) * (rng.random((n_train, 1, 1)) + 0.2)).round(2)
    labels = rng.integers(0, 3, n_train)
    queries = rng.random((5, side, side)).round(2)
    config = KNNPipelineConfig(n_neighbors=k, weights=weights, distortion=1, candidates=m)
    model = build_pipeline(config).fit(train.reshape(n_train, -1), labels)
    ours = model.predict(queries.reshape(len(queries), -1))
    for query, answer in zip(queries, ours, strict=True):
        euclidean = np.argsort(((train - query) ** 2).sum(axis=(1, 2)), kind="stable")[:m]
        idm = np.sqrt([plain_idm(query, train[i], 1) for i in euclidean])
        nearest = np.argsort(idm, kind="stable")[:k]
        strength = np.ones(k) if weights == "uniform" else 1 / idm[nearest]
        votes = np.bincount(labels[euclidean[nearest]], weights=strength, minlength=3)
        assert answer == votes.argmax()


def test_config_builds_the_rerank_and_rejects_copies():
    model = build_pipeline(KNNPipelineConfig(n_neighbors=4, deskew=True, pca=10, distortion=2, candidates=30))
    assert [name for name, _ in model.steps] == ["deskew", "rerank"]
    rerank = model.named_steps["rerank"]
    assert (rerank.radius, rerank.candidates, rerank.n_neighbors) == (2, 30, 4)
    assert [name for name, _ in rerank.estimator.steps] == ["pca", "knn"]
    with pytest.raises(DigitlabError, match="distortion=1"):
        KNNPipelineConfig(distortion=1, shifts=1)
    with pytest.raises(DigitlabError, match="candidates=3"):
        KNNPipelineConfig(n_neighbors=5, distortion=1, candidates=3)
    assert KNNPipelineConfig().digest() == KNNPipelineConfig(candidates=7).digest()  # unused without distortion
