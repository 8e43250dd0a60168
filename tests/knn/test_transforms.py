"""PCA and Deskew: scikit-learn's contract, agreement with sklearn's PCA, and straightened digits."""

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA as SklearnPCA
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks

from digitlab.knn import PCA, Deskew, KNNClassifier, deskew_images

SIDE = 28


@parametrize_with_checks([PCA(2)])
def test_pca_passes_scikit_learn_checks(estimator, check):
    check(estimator)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
def test_deskew_fails_checks_only_for_widths_that_are_not_images():
    # The checks feed 2..10 features; Deskew needs H*W pixels, so those checks must fail on exactly that.
    results = check_estimator(Deskew(), on_fail=None)
    failed = [result for result in results if result["status"] == "failed"]
    passed = [result for result in results if result["status"] == "passed"]
    assert passed, "some checks apply and pass"
    for result in failed:
        message = str(result["exception"])
        assert "do not make a square image" in message, (result["check_name"], message)


def test_pca_matches_scikit_learn_up_to_sign():
    X = np.random.default_rng(0).normal(size=(200, 12)) @ np.random.default_rng(1).normal(size=(12, 12))
    ours, theirs = PCA(5).fit(X), SklearnPCA(5).fit(X)
    np.testing.assert_allclose(ours.explained_variance_, theirs.explained_variance_, rtol=1e-9)
    np.testing.assert_allclose(ours.explained_variance_ratio_, theirs.explained_variance_ratio_, rtol=1e-9)
    signs = np.sign((ours.components_ * theirs.components_).sum(axis=1))
    np.testing.assert_allclose(ours.transform(X), theirs.transform(X) * signs, atol=1e-9)


def test_pca_rejects_too_many_components():
    with pytest.raises(ValueError, match="1..3"):
        PCA(4).fit(np.ones((3, 8)))


def slanted_bar(shear: float) -> torch.Tensor:
    """A vertical bar of pixels leaning by ``shear`` columns per row, off-centre."""
    image = torch.zeros(SIDE, SIDE)
    for row in range(6, 22):
        column = 10 + round(shear * (row - 14))
        image[row, column : column + 2] = 255
    return image


def moments(image: torch.Tensor) -> tuple[float, float, float]:
    rows, cols = torch.meshgrid(torch.arange(SIDE, dtype=torch.float64), torch.arange(SIDE, dtype=torch.float64), indexing="ij")
    mass = image.double().sum()
    r, c = (image * rows).sum() / mass, (image * cols).sum() / mass
    covariance = (image * (rows - r) * (cols - c)).sum() / mass
    return r.item(), c.item(), covariance.item()


def test_deskew_straightens_and_centres_a_slanted_bar():
    slanted = slanted_bar(0.5)
    straight = deskew_images(slanted.unsqueeze(0))[0]
    _, _, before = moments(slanted)
    row, column, after = moments(straight)
    assert abs(before) > 5 and abs(after) < 0.1 * abs(before)
    assert abs(row - SIDE / 2) < 0.5 and abs(column - SIDE / 2) < 0.75
    assert straight.sum().item() == pytest.approx(slanted.sum().item(), rel=0.05)  # nothing lost off the edges


def test_deskew_keeps_pixels_as_uint8_when_asked_and_handles_blank_images():
    images = torch.stack([slanted_bar(0.3), torch.zeros(SIDE, SIDE)]).to(torch.uint8).reshape(2, -1).numpy()
    rounded = Deskew(round_to_pixels=True).fit_transform(images)
    assert rounded.dtype == np.uint8 and rounded.shape == (2, SIDE * SIDE)
    assert not rounded[1].any()  # a blank image stays blank
    assert Deskew().fit_transform(images.astype(np.float64)).dtype == np.float64
    with pytest.raises(ValueError, match="3x5 image"):
        Deskew(image_shape=(3, 5)).fit(images)


def test_transformers_compose_with_the_classifier_in_a_pipeline():
    rng = np.random.default_rng(0)
    images = torch.stack([slanted_bar(s) for s in rng.uniform(-0.4, 0.4, 40)] + [slanted_bar(0).T for _ in range(40)])
    X = (images + torch.from_numpy(rng.integers(0, 30, images.shape))).clamp(0, 255).to(torch.uint8).reshape(80, -1).numpy()
    y = np.array([0] * 40 + [1] * 40)
    model = make_pipeline(Deskew(round_to_pixels=True), PCA(5), KNNClassifier(3)).fit(X, y)
    assert model.score(X, y) == 1.0
    manual = KNNClassifier(3).fit(PCA(5).fit_transform(Deskew(round_to_pixels=True).fit_transform(X)), y)
    assert np.array_equal(model.predict(X), manual.predict(model[:-1].transform(X)))
