"""ShiftedCopies: a k-NN whose training set also holds every image moved by up to a few pixels.

Pixel distance punishes a digit written one pixel to the left as if it were another digit. Storing
each training image at the (2s+1)^2 offsets of up to ``s`` pixels lets the nearest neighbour be the
copy that lines up best: a distance that forgives small shifts (LeCun's table: "2-pixel shifts").
The features in front of the classifier (PCA) are fitted on the original images, then every copy
is projected: fitting PCA once instead of on 9x the rows, and the search runs in PCA space, so
9x the copies cost 9x a cheap search.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted, validate_data

from digitlab.knn.classifier import as_array
from digitlab.knn.transforms import image_shape_of

MAX_COPY_BYTES = 4 * 2**30  # stored copies beyond 4 GiB fail with advice (use PCA) instead of swapping


class ShiftedCopies(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Fit ``estimator`` on every training image shifted by -shift..shift pixels down and across.

    Parameters
    ----------
    estimator : KNNClassifier or Pipeline ending in one
        What is fitted on the copies. The steps before its last are fitted on the original images
        only (PCA directions from 1/(2s+1)^2 of the rows) and then transform every copy.
    shift : int, default=1
        Largest offset in pixels; the copies are all (dy, dx) with |dy|, |dx| <= shift, the
        unshifted image first. Pixels moved in at the border are 0.
    image_shape : tuple of int or None, default=None
        (H, W) of the images, whose pixels each row holds row by row; None means square.

    Attributes
    ----------
    estimator_ : the fitted estimator
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    n_copies_ : int
        Copies stored per training image, (2 shift + 1)^2.

    Examples
    --------
    >>> import numpy as np
    >>> from digitlab.knn import KNNClassifier
    >>> bar = np.zeros((2, 5, 5)); bar[0, :, 1] = 1; bar[1, 2, :] = 1   # a "|" and a "-"
    >>> model = ShiftedCopies(KNNClassifier(1), shift=1).fit(bar.reshape(2, -1), ["|", "-"])
    >>> moved = np.zeros((1, 5, 5)); moved[0, :, 2] = 1                 # the "|" one pixel to the right
    >>> model.predict(moved.reshape(1, -1)).tolist(), model.n_copies_
    (['|'], 9)
    """

    def __init__(self, estimator, shift: int = 1, image_shape: tuple[int, int] | None = None) -> None:
        self.estimator = estimator
        self.shift = shift
        self.image_shape = image_shape

    def fit(self, X, y) -> ShiftedCopies:
        if not isinstance(self.shift, Integral) or isinstance(self.shift, bool) or self.shift < 0:
            raise ValueError(f"shift must be a whole number of pixels >= 0, got {self.shift!r}")
        X, y = validate_data(self, as_array(X), as_array(y), dtype="numeric")
        height, width = image_shape_of(X.shape[1], self.image_shape, "ShiftedCopies")
        offsets = self._offsets()
        self.n_copies_ = len(offsets)
        estimator = clone(self.estimator)
        features, final = (estimator[:-1], estimator[-1]) if isinstance(estimator, Pipeline) else (None, estimator)
        if features is not None:
            features.fit(X, y)
        width_out = X.shape[1] if features is None else features.transform(X[:1]).shape[1]
        if len(X) * self.n_copies_ * width_out * 4 > MAX_COPY_BYTES:
            raise ValueError(f"{self.n_copies_} shifted copies of {len(X):,} rows of {width_out} features exceed "
                             f"{MAX_COPY_BYTES // 2**30} GiB; project with PCA first or use fewer images or a smaller shift")
        images = X.reshape(len(X), height, width)
        project = (lambda rows: rows) if features is None else features.transform
        # One shifted copy of the pixels at a time, projected at once: memory holds the features, not 9x the pixels.
        rows = np.concatenate([project(shifted(images, dy, dx).reshape(len(X), -1)) for dy, dx in offsets])  # (copies * N, features)
        final.fit(rows, np.tile(y, self.n_copies_))
        self.estimator_ = estimator
        self.classes_ = final.classes_
        return self

    def _offsets(self) -> list[tuple[int, int]]:
        span = range(-self.shift, self.shift + 1)
        return sorted(((dy, dx) for dy in span for dx in span), key=lambda o: (o != (0, 0), o))  # the original first

    def _features(self, X):
        check_is_fitted(self)
        X = validate_data(self, as_array(X), reset=False, dtype="numeric")
        return self.estimator_[:-1].transform(X) if isinstance(self.estimator_, Pipeline) else X

    def _final(self):
        return self.estimator_[-1] if isinstance(self.estimator_, Pipeline) else self.estimator_

    def predict(self, X) -> np.ndarray:
        features = self._features(X)  # checks it is fitted first
        return self._final().predict(features)

    def predict_proba(self, X) -> np.ndarray:
        features = self._features(X)
        return self._final().predict_proba(features)

    def kneighbors(self, X, n_neighbors: int | None = None, return_distance: bool = True):
        """Neighbours among the copies: index ``i`` is copy ``i // n_train`` of training image ``i % n_train``."""
        features = self._features(X)
        return self._final().kneighbors(features, n_neighbors, return_distance)

    def predict_from_neighbors(self, distances, indices) -> np.ndarray:
        """``predict`` from :meth:`kneighbors`' answer (same k): no new search."""
        check_is_fitted(self)
        return self._final().predict_from_neighbors(distances, indices)


def shifted(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Images (N, H, W) moved ``dy`` pixels down and ``dx`` right, zeros moved in (same dtype)."""
    out = np.zeros_like(images)
    height, width = images.shape[1:]
    out[:, max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)] = \
        images[:, max(-dy, 0) : height + min(-dy, 0), max(-dx, 0) : width + min(-dx, 0)]
    return out
