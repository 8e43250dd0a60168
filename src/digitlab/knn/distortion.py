"""Image distortion model (IDM) re-ranking: a k-NN under a distance that lets every pixel move on its own.

Euclidean distance compares pixel (i, j) of the query only with pixel (i, j) of a training image.
The image distortion model (Keysers et al. 2007, "Deformation models for image recognition"; 99.46%
in LeCun's MNIST table) lets each query pixel match the best pixel within ``radius`` of the same place
in the training image, and compares local context rather than single values: the 3x3 patch of
horizontal and vertical Sobel gradients around the pixel (18 numbers), so a match must also agree on
the stroke's direction::

    d(q, r)^2 = sum over pixels p of  min over |s| <= radius of  || C_q(p) - C_r(p + s) ||^2

That costs (2 radius + 1)^2 x 18 times a pixel distance, far too much against 60,000 training
images, so :class:`DistortionRerank` scores only the ``candidates`` nearest under the fast euclidean
pipeline (PCA and the exact search) and votes among the ``n_neighbors`` nearest of those under the
IDM distance: a k-NN under the distortion distance among the M euclidean-nearest candidates.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from numbers import Integral

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted, validate_data

from digitlab.knn.classifier import WEIGHTS, as_array, vote
from digitlab.knn.threads import one_thread
from digitlab.knn.transforms import image_shape_of

CONTEXT = 3  # side of the patch of gradients compared around each pixel (Keysers et al.: 3x3)
SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])  # d/dx; its transpose is d/dy
BLOCK_BYTES = 4 * 2**20  # candidate gradients per block (queries x candidates x 2 x pixels floats): small blocks stay in cache


def gradients(images: torch.Tensor) -> torch.Tensor:
    """Horizontal and vertical Sobel gradients (N, 2, H, W) float32 of images (N, H, W), zeros beyond the border."""
    kernels = torch.stack([SOBEL_X, SOBEL_X.T]).unsqueeze(1)  # (2, 1, 3, 3)
    return F.conv2d(images.to(torch.float32).unsqueeze(1), kernels, padding=1)


def idm_distances(query: torch.Tensor, candidates: torch.Tensor, radius: int) -> torch.Tensor:
    """Squared IDM distances (B, M) of query gradients (B, 2, H, W) to candidate gradients (B, M, 2, H, W).

    The context of pixel p is the CONTEXT x CONTEXT patch of both gradients around it (zeros beyond the
    border); each query pixel takes the smallest squared context difference over the candidate's pixels
    p + s, |s| <= ``radius``, inside the image. The squared difference of two patches is the box sum of
    the per-pixel gradient differences, so each shift costs 2 channels and a box filter, not 18 channels.
    """
    b, m, c, height, width = candidates.shape
    half = CONTEXT // 2
    grid = (height + 2 * half, width + 2 * half)  # every pixel a context reaches, the border ring included
    query = F.pad(query, (half,) * 4).unsqueeze(1)  # (B, 1, 2, H + 2 half, W + 2 half)
    reach = radius + half
    padded = F.pad(candidates.reshape(b * m, c, height, width), (reach,) * 4).view(b, m, c, height + 2 * reach, width + 2 * reach)
    outside = F.pad(torch.zeros(height, width).view(1, 1, height, width), (radius,) * 4, value=float("inf"))[0, 0]  # (H + 2r, W + 2r)
    best = torch.full((b, m, height, width), float("inf"))
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            moved = padded[..., dy : dy + grid[0], dx : dx + grid[1]]  # candidate pixel p + s for s = (dy - r, dx - r), a view
            # Channel by channel and a box sum by slices: measured 10-20x faster here than sum(dim=2) and avg_pool2d.
            differences = (query[:, :, 0] - moved[:, :, 0]).square_()  # (B, M, H + 2 half, W + 2 half)
            for channel in range(1, c):
                differences += (query[:, :, channel] - moved[:, :, channel]).square_()
            rows = sum(differences[..., i : i + height, :] for i in range(CONTEXT))  # (B, M, H, W + 2 half)
            cost = sum(rows[..., j : j + width] for j in range(CONTEXT))  # (B, M, H, W): the patch sums
            torch.minimum(best, cost.add_(outside[dy : dy + height, dx : dx + width]), out=best)
    return best.sum(dim=(2, 3))


class DistortionRerank(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """k-NN under the image distortion model among the ``candidates`` nearest found by ``estimator``.

    Parameters
    ----------
    estimator : KNNClassifier or Pipeline ending in one
        Finds the candidates (its ``kneighbors``) on the same rows; fitted on them.
    n_neighbors : int, default=5
        Neighbours that vote, the nearest under the IDM distance among the candidates.
    weights : {"uniform", "distance"}, default="uniform"
        "distance" weighs each vote by 1 / (square root of the IDM distance).
    radius : int, default=1
        How far, in pixels, a query pixel may look for its match in the training image.
    candidates : int, default=50
        Euclidean-nearest training images re-scored per query (at least ``n_neighbors``).
    image_shape : tuple of int or None, default=None
        (H, W) of the images, whose pixels each row holds row by row; None means square.

    Attributes
    ----------
    estimator_ : the fitted candidate finder
    images_ : Tensor of shape (n_samples, H, W), float32, the training images
    labels_ : Tensor of shape (n_samples,), int64, indices into ``classes_``
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from digitlab.knn import KNNClassifier
    >>> bars = np.zeros((2, 7, 7)); bars[0, :, 2] = 1; bars[1, 3, :] = 1   # a "|" and a "-"
    >>> model = DistortionRerank(KNNClassifier(2), n_neighbors=1, candidates=2).fit(bars.reshape(2, -1), ["|", "-"])
    >>> moved = np.zeros((1, 7, 7)); moved[0, :, 3] = 1                    # the "|" one pixel to the right
    >>> model.predict(moved.reshape(1, -1)).tolist()
    ['|']
    """

    def __init__(self, estimator, n_neighbors: int = 5, weights: str = "uniform", radius: int = 1,
                 candidates: int = 50, image_shape: tuple[int, int] | None = None) -> None:
        self.estimator = estimator
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.radius = radius
        self.candidates = candidates
        self.image_shape = image_shape

    def fit(self, X, y) -> DistortionRerank:
        self._check_parameters()
        X, y = validate_data(self, as_array(X), as_array(y), dtype="numeric")
        height, width = image_shape_of(X.shape[1], self.image_shape, "DistortionRerank")
        self.estimator_ = clone(self.estimator).fit(X, y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        self.labels_ = torch.from_numpy(encoded.astype(np.int64).ravel())
        self.images_ = torch.from_numpy(np.asarray(X, dtype=np.float32)).view(len(X), height, width)
        return self

    def _check_parameters(self) -> None:
        for name, low in (("n_neighbors", 1), ("radius", 0), ("candidates", 1)):
            value = getattr(self, name)
            if not isinstance(value, Integral) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")
        if self.candidates < self.n_neighbors:
            raise ValueError(f"candidates ({self.candidates}) must be at least n_neighbors ({self.n_neighbors})")
        if self.weights not in WEIGHTS:
            raise ValueError(f"weights must be one of {', '.join(WEIGHTS)}, got {self.weights!r}")

    def kneighbors(self, X, n_neighbors: int | None = None, return_distance: bool = True):
        """The ``n_neighbors`` nearest under the IDM distance (its square root) among the candidates, nearest first."""
        check_is_fitted(self)
        X = validate_data(self, as_array(X), reset=False, dtype="numeric")
        k = self.n_neighbors if n_neighbors is None else n_neighbors
        m = min(self.candidates, len(self.images_))
        if not 1 <= k <= m:
            raise ValueError(f"n_neighbors must be in 1..{m} (the candidates), got {k!r}")
        finder, rows = (self.estimator_[-1], self.estimator_[:-1].transform(X)) if isinstance(self.estimator_, Pipeline) else (self.estimator_, X)
        _, candidates = finder.kneighbors(rows, m)  # (Q, M) euclidean-nearest, nearest first
        distances, order = self.rescore(X, torch.from_numpy(np.asarray(candidates, dtype=np.int64)))
        distances, indices = distances[:, :k], order[:, :k]
        return (distances.numpy(), indices.numpy()) if return_distance else indices.numpy()

    def rescore(self, X, candidates: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """IDM distances (Q, M), ascending, and the training indices (Q, M) of candidate lists (Q, M).

        Ties keep the euclidean order (a stable sort).
        """
        height, width = self.images_.shape[1:]
        queries = torch.from_numpy(np.asarray(X, dtype=np.float32)).view(len(X), height, width)
        m = candidates.shape[1]
        channels = 2  # the x and y gradients
        block = max(1, BLOCK_BYTES // (m * channels * height * width * 4))  # queries per block
        distances = torch.empty(candidates.shape, dtype=torch.float32)
        workers = min(torch.get_num_threads(), -(-len(queries) // block))  # before one_thread() hides the count
        # Small cache-sized steps run on one torch thread each (one thread measured faster than two inside
        # a step on a busy 2-core machine); the blocks are shared out over the process's threads instead.
        spans = [range(start, len(queries), block * workers) for start in range(0, block * workers, block)]
        with one_thread(), ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda span: self._rescore_blocks(queries, candidates, distances, block, span), spans))
        distances, order = distances.clamp_min_(0).sqrt_().sort(dim=1, stable=True)
        return distances, candidates.gather(1, order)

    def _rescore_blocks(self, queries: torch.Tensor, candidates: torch.Tensor, distances: torch.Tensor, block: int,
                        starts: range) -> None:
        height, width = self.images_.shape[1:]
        channels = 2  # the x and y gradients
        for start in starts:  # blocks of one worker; each writes its own rows of distances
            rows = candidates[start : start + block]  # (B, M)
            query = gradients(queries[start : start + block])  # (B, C, H, W)
            reference = gradients(self.images_[rows.reshape(-1)]).view(*rows.shape, channels, height, width)
            distances[start : start + block] = idm_distances(query, reference, self.radius)

    def predict_proba(self, X) -> np.ndarray:
        distances, indices = self.kneighbors(X)
        votes = vote(self.labels_[torch.from_numpy(indices)], torch.from_numpy(distances), self.weights, len(self.classes_))
        return (votes / votes.sum(dim=1, keepdim=True)).numpy()

    def predict(self, X) -> np.ndarray:
        return self.predict_from_neighbors(*self.kneighbors(X))

    def predict_from_neighbors(self, distances, indices) -> np.ndarray:
        """``predict`` from :meth:`kneighbors`' answer: no new search."""
        check_is_fitted(self)
        votes = vote(self.labels_[torch.from_numpy(np.asarray(indices))], torch.from_numpy(np.asarray(distances)),
                     self.weights, len(self.classes_))
        return self.classes_[votes.argmax(dim=1).numpy()]
