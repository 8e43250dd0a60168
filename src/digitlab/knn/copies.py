"""TrainingCopies: a k-NN whose training set also holds every image moved a pixel or two, enlarged and shrunk.

Pixel distance punishes a digit written one pixel to the left, or a little larger, as if it were
another digit. Storing each training image at the (2s+1)^2 offsets of up to ``s`` pixels, and
zoomed in and out about its centre, lets the nearest neighbour be the copy that lines up best: a
distance that forgives small shifts and size changes (LeCun's table: "2-pixel shifts"). The
features in front of the classifier (PCA) are fitted on the original images, then every copy is
projected: PCA is fitted once instead of on 11x the rows, and the search runs in PCA space, so 11x
the copies cost 11x a cheap search.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted, validate_data

from digitlab.knn.classifier import as_array
from digitlab.knn.transforms import CHUNK_ROWS, image_shape_of
from digitlab.pixels import shift

MAX_COPY_BYTES = 4 * 2**30  # stored copies beyond 4 GiB fail with advice (use PCA) instead of swapping
Copy = tuple[int, int, float]  # (rows down, columns right, zoom factor)


class TrainingCopies(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Fit ``estimator`` on every training image shifted by -shift..shift pixels and zoomed by zoom and 1/zoom.

    Parameters
    ----------
    estimator : KNNClassifier or Pipeline ending in one
        What is fitted on the copies. The steps before its last are fitted on the original images
        only (PCA directions from the originals) and then transform every copy.
    shift : int, default=1
        Largest offset in pixels; the copies are all (dy, dx) with |dy|, |dx| <= shift. Pixels
        moved in at the border are 0.
    zoom : float, default=1.0
        With zoom > 1, two more copies of each original: enlarged by ``zoom`` and shrunk by it
        about the image centre (bilinear). 1 adds none.
    image_shape : tuple of int or None, default=None
        (H, W) of the images, whose pixels each row holds row by row; None means square.

    Attributes
    ----------
    estimator_ : the fitted estimator
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    copies_ : list of (dy, dx, zoom)
        The copies stored per training image, the unchanged image first.

    Examples
    --------
    >>> import numpy as np
    >>> from digitlab.knn import KNNClassifier
    >>> bar = np.zeros((2, 5, 5)); bar[0, :, 1] = 1; bar[1, 2, :] = 1   # a "|" and a "-"
    >>> model = TrainingCopies(KNNClassifier(1), shift=1).fit(bar.reshape(2, -1), ["|", "-"])
    >>> moved = np.zeros((1, 5, 5)); moved[0, :, 2] = 1                 # the "|" one pixel to the right
    >>> model.predict(moved.reshape(1, -1)).tolist(), len(model.copies_)
    (['|'], 9)
    """

    def __init__(self, estimator, shift: int = 1, zoom: float = 1.0, image_shape: tuple[int, int] | None = None) -> None:
        self.estimator = estimator
        self.shift = shift
        self.zoom = zoom
        self.image_shape = image_shape

    def fit(self, X, y) -> TrainingCopies:
        self._check_parameters()
        X, y = validate_data(self, as_array(X), as_array(y), dtype="numeric")
        height, width = image_shape_of(X.shape[1], self.image_shape, "TrainingCopies")
        self.copies_ = copy_list(self.shift, self.zoom)
        estimator = clone(self.estimator)
        features, final = (estimator[:-1], estimator[-1]) if isinstance(estimator, Pipeline) else (None, estimator)
        if features is not None:
            features.fit(X, y)
        width_out = X.shape[1] if features is None else features.transform(X[:1]).shape[1]
        if len(X) * len(self.copies_) * width_out * 4 > MAX_COPY_BYTES:
            raise ValueError(f"{len(self.copies_)} copies of {len(X):,} rows of {width_out} features exceed "
                             f"{MAX_COPY_BYTES // 2**30} GiB; project with PCA first or use fewer images, a smaller shift or no zoom")
        images = X.reshape(len(X), height, width)
        project = (lambda rows: rows) if features is None else features.transform
        # One copy of the pixels at a time, projected at once: memory holds the features, not 11x the pixels.
        rows = np.concatenate([project(moved(images, *copy).reshape(len(X), -1)) for copy in self.copies_])  # (copies * N, features)
        final.fit(rows, np.tile(y, len(self.copies_)))
        self.estimator_ = estimator
        self.classes_ = final.classes_
        return self

    def _check_parameters(self) -> None:
        if not isinstance(self.shift, Integral) or isinstance(self.shift, bool) or self.shift < 0:
            raise ValueError(f"shift must be a whole number of pixels >= 0, got {self.shift!r}")
        if not isinstance(self.zoom, Real) or isinstance(self.zoom, bool) or not self.zoom >= 1:
            raise ValueError(f"zoom must be a factor >= 1 (1: no zoomed copies), got {self.zoom!r}")

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


def copy_list(shift: int, zoom: float) -> list[Copy]:
    """The copies :class:`TrainingCopies` stores: the image itself first, then every shift, then the zooms."""
    span = range(-shift, shift + 1)
    shifts = sorted(((dy, dx, 1.0) for dy in span for dx in span), key=lambda copy: (copy != (0, 0, 1.0), copy))
    return shifts + ([(0, 0, zoom), (0, 0, 1 / zoom)] if zoom > 1 else [])


def moved(images: np.ndarray, dy: int, dx: int, zoom: float = 1.0) -> np.ndarray:
    """Images (N, H, W) zoomed by ``zoom`` about their centre, then moved ``dy`` down and ``dx`` right."""
    return shift(zoomed(images, zoom) if zoom != 1 else images, dy, dx)


def zoomed(images: np.ndarray, zoom: float) -> np.ndarray:
    """Images (N, H, W) enlarged (zoom > 1) or shrunk (< 1) about the centre, bilinear, zeros outside; float."""
    out = np.empty(images.shape, dtype=np.float64 if images.dtype == np.float64 else np.float32)
    theta = torch.tensor([[1 / zoom, 0, 0], [0, 1 / zoom, 0]], dtype=torch.float32)  # output point x reads input x / zoom
    for start in range(0, len(images), CHUNK_ROWS):  # chunks bound the sampling grid (N x H x W x 2 floats)
        chunk = torch.from_numpy(np.asarray(images[start : start + CHUNK_ROWS], dtype=np.float32)).unsqueeze(1)  # (n, 1, H, W)
        grid = F.affine_grid(theta.expand(len(chunk), 2, 3), list(chunk.shape), align_corners=False)
        out[start : start + CHUNK_ROWS] = F.grid_sample(chunk, grid, mode="bilinear", padding_mode="zeros", align_corners=False).squeeze(1).numpy()
    return out
