"""Blur and TrainingCopies: scikit-learn's contract, and what they do to images."""

import numpy as np
import pytest
from scipy import ndimage
from sklearn.utils.estimator_checks import check_estimator

from digitlab.knn import Blur, KNNClassifier, TrainingCopies
from digitlab.knn.copies import MAX_COPY_BYTES, copy_list, zoomed
from digitlab.pixels import shift


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
@pytest.mark.parametrize("estimator", [Blur(1.0), TrainingCopies(KNNClassifier(1), shift=1)], ids=["blur", "copies"])
def test_fails_checks_only_for_widths_that_are_not_images(estimator):
    # The checks feed 2..10 features; these steps need H*W pixels, so those checks must fail on exactly that.
    results = check_estimator(estimator, on_fail=None)
    failed = [result for result in results if result["status"] == "failed"]
    assert [result for result in results if result["status"] == "passed"], "some checks apply and pass"
    for result in failed:
        error = result["exception"]
        messages = [str(error), str(error.__cause__ or error.__context__)]  # some checks re-raise with their own words
        assert any("do not make a square image" in message for message in messages), (result["check_name"], error)


def test_blur_is_scipy_gaussian_per_image_and_keeps_float64():
    images = np.random.default_rng(0).integers(0, 256, (5, 6, 4)).astype(np.uint8)
    out = Blur(0.8, image_shape=(6, 4)).fit_transform(images.reshape(5, -1))
    expected = np.stack([ndimage.gaussian_filter(image.astype(np.float32), 0.8, mode="constant", truncate=3.0) for image in images])
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.reshape(5, 6, 4), expected, rtol=1e-5, atol=1e-4)
    assert Blur(0.8).fit_transform(np.ones((2, 9))).dtype == np.float64
    assert (Blur(0.0, image_shape=(6, 4)).fit_transform(images.reshape(5, -1)) == images.reshape(5, -1)).all()
    with pytest.raises(ValueError, match="sigma must be a number >= 0"):
        Blur(-1).fit(np.ones((2, 9)))


def test_shifted_moves_pixels_and_fills_zeros():
    image = np.arange(1, 10, dtype=np.uint8).reshape(1, 3, 3)
    assert shift(image, 1, 0)[0].tolist() == [[0, 0, 0], [1, 2, 3], [4, 5, 6]]
    assert shift(image, 0, -1)[0].tolist() == [[2, 3, 0], [5, 6, 0], [8, 9, 0]]
    assert shift(image, 0, 0).dtype == np.uint8


def test_training_copies_index_the_copies_and_forgive_a_one_pixel_shift():
    bars = np.zeros((2, 7, 7))
    bars[0, :, 3], bars[1, 3, :] = 1, 1  # a "|" and a "-"
    model = TrainingCopies(KNNClassifier(1), shift=1).fit(bars.reshape(2, -1), [0, 1])
    moved = np.zeros((1, 7, 7))
    moved[0, :, 4] = 1  # the "|" one pixel to the right: the copy shifted by dx=+1 matches exactly
    distances, indices = model.kneighbors(moved.reshape(1, -1), n_neighbors=1)
    assert len(model.copies_) == 9 and distances[0, 0] == 0 and indices[0, 0] % 2 == 0 and indices[0, 0] >= 2
    assert model.predict(moved.reshape(1, -1)).tolist() == [0]
    assert model.predict_from_neighbors(distances, indices).tolist() == [0]
    assert KNNClassifier(1).fit(bars.reshape(2, -1), [0, 1]).predict(moved.reshape(1, -1)).tolist() == [1]  # plain k-NN is fooled


def test_training_copies_refuse_to_exceed_their_memory_bound():
    rows = MAX_COPY_BYTES // (9 * 4 * 784) + 1
    with pytest.raises(ValueError, match="project with PCA first"):
        TrainingCopies(KNNClassifier(1)).fit(np.zeros((rows, 784), dtype=np.uint8), np.arange(rows) % 2)


def test_zoomed_grows_and_shrinks_about_the_centre():
    square = np.zeros((1, 9, 9), dtype=np.uint8)
    square[0, 3:6, 3:6] = 255  # 3x3 in the middle
    big, small = zoomed(square, 5 / 3), zoomed(square, 1 / 3)
    assert big.dtype == np.float32 and (big[0] > 127).sum() == 25  # 5x5
    assert (small[0] > 0).sum() < 9 and small[0, 4, 4] > 0 and small.sum() < square.sum() / 4
    np.testing.assert_allclose(big[0], big[0, ::-1, ::-1], atol=1e-3)  # symmetric: zoomed about the centre
    assert zoomed(square, 1.0)[0].tolist() == square[0].astype(np.float32).tolist()


def test_copy_list_puts_the_image_itself_first():
    assert copy_list(0, 1.0) == [(0, 0, 1.0)]
    copies = copy_list(1, 1.25)
    assert copies[0] == (0, 0, 1.0) and len(copies) == 11 and copies[-2:] == [(0, 0, 1.25), (0, 0, 0.8)]
