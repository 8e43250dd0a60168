"""KNNClassifier: scikit-learn's k-NN contract, answered by exact blocked search in torch.

Predictions equal ``sklearn.neighbors.KNeighborsClassifier(algorithm="brute")`` on the same data
(see docs/knn.md for the one exception, cosine ties), and are several times faster on pixels.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from digitlab.knn.choice import KERNELS
from digitlab.knn.search import METRICS, NeighborIndex, effective_metric, resolve_device
from digitlab.knn.threads import one_thread

WEIGHTS = ("uniform", "distance")
DEFAULT_BATCH_SIZE = 1024  # queries per block: 1024 x 60000 x 4 bytes = 246 MB of scores on full MNIST


class KNNClassifier(ClassifierMixin, BaseEstimator):
    """k-nearest-neighbours classifier with exact brute-force search in torch (CPU or CUDA).

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbours that vote.
    weights : {"uniform", "distance"}, default="uniform"
        ``"uniform"``: one vote each. ``"distance"``: votes weigh ``1 / distance``; a query with
        neighbours at distance 0 takes only their votes (as scikit-learn).
    metric : {"euclidean", "manhattan", "cosine", "minkowski"}, default="euclidean"
        Distance. ``"minkowski"`` uses ``p`` (p=2 is euclidean, p=1 manhattan).
    p : float, default=2
        Power of the Minkowski metric, at least 1 (``math.inf`` gives chebyshev).
    device : str or torch.device, default="auto"
        Where distances are computed: ``"auto"`` picks CUDA when available, else the CPU.
    batch_size : int, default=1024
        Queries scored at once. Extra memory is ``batch_size x n_train`` 4-byte scores.
    kernel : {"auto", "int8", "float32", "pruned"}, default="auto"
        How euclidean distances are computed (all give the same predictions): ``"auto"`` measures
        this machine once and picks the fastest (see :mod:`digitlab.knn.choice`); the others force
        one. ``"auto"`` also follows ``digitlab.knn.set_kernel`` and ``$DIGITLAB_KNN_KERNEL``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.
    n_features_in_ : int
        Number of features seen in ``fit``.
    n_samples_fit_ : int
        Number of training samples.
    effective_metric_ : str
        The metric used (minkowski with p=2 becomes ``"euclidean"``, p=1 ``"manhattan"``).
    device_ : torch.device
        The device chosen in ``fit``.
    index_ : NeighborIndex
        The training data, prepared for search.
    kernel_ : str
        The kernel that serves the search (``"int8"``, ``"float32"``, ``"pruned"``; ``"cdist"`` for
        manhattan and Minkowski; cosine ``"float32"`` or ``"pruned"``).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0, 0], [0, 1], [5, 5], [6, 5]], dtype=np.uint8)
    >>> clf = KNNClassifier(n_neighbors=3).fit(X, ["a", "a", "b", "b"])
    >>> clf.predict(np.array([[1, 0], [5, 6]], dtype=np.uint8)).tolist()
    ['a', 'b']
    >>> clf.kneighbors(np.array([[0, 0]], dtype=np.uint8), n_neighbors=2)[1].tolist()
    [[0, 1]]
    """

    def __init__(
        self,
        n_neighbors: int = 5,
        *,
        weights: str = "uniform",
        metric: str = "euclidean",
        p: float = 2,
        device: str | torch.device = "auto",
        batch_size: int = DEFAULT_BATCH_SIZE,
        kernel: str = "auto",
    ) -> None:
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.metric = metric
        self.p = p
        self.device = device
        self.batch_size = batch_size
        self.kernel = kernel

    def fit(self, X, y) -> KNNClassifier:
        """Remember the training data (X: (n_samples, n_features) numbers, y: n_samples labels)."""
        self._check_parameters()
        X, y = validate_data(self, as_array(X), as_array(y), dtype="numeric", order="C")
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        self.effective_metric_ = effective_metric(self.metric, self.p)
        self.device_ = resolve_device(self.device)
        self.n_samples_fit_ = len(X)
        self.index_ = NeighborIndex(to_tensor(X), self.metric, self.p, self.device_, self.batch_size, self.kernel)
        choice = self.index_.choice
        self.kernel_ = choice.kernel if choice else "cdist"
        self._labels = torch.from_numpy(encoded.astype(np.int64).ravel())
        return self

    def kneighbors(self, X=None, n_neighbors: int | None = None, return_distance: bool = True):
        """Distances and indices (n_queries, k) of each query's neighbours, nearest first.

        With ``X=None`` the training points are the queries and none counts as its own neighbour.
        Equal distances are listed by training index.
        """
        check_is_fitted(self)
        k = self.n_neighbors if n_neighbors is None else n_neighbors
        _check_n_neighbors(k)
        on_training = X is None
        if on_training:
            queries, k = self.index_.references, k + 1
        else:
            queries = to_tensor(validate_data(self, as_array(X), reset=False, dtype="numeric", order="C"))
        if k > self.n_samples_fit_:
            raise ValueError(
                f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {k}, "
                f"n_samples_fit = {self.n_samples_fit_}, n_samples = {len(queries)}"
            )
        distances, indices = self.index_.query(queries, k)
        if on_training:
            distances, indices = _drop_self(distances, indices)
        distances, indices = distances.numpy(), indices.numpy()
        return (distances, indices) if return_distance else indices

    def predict_proba(self, X) -> np.ndarray:
        """Vote shares (n_queries, n_classes), columns in the order of ``classes_``."""
        votes = self._votes(X)
        totals = votes.sum(dim=1, keepdim=True)
        return (votes / torch.where(totals == 0, 1.0, totals)).numpy()

    def predict(self, X) -> np.ndarray:
        """The class with the most (weighted) votes; a tie goes to the first class in ``classes_``."""
        winners = self._votes(X).argmax(dim=1)  # argmax returns the first maximum
        return self.classes_[winners.numpy()]

    def predict_from_neighbors(self, distances, indices) -> np.ndarray:
        """``predict`` from neighbours found earlier by :meth:`kneighbors` (same k): no new search.

        A grid that only changes ``weights`` can search once and vote twice; the result is what
        ``predict`` gives.
        """
        check_is_fitted(self)
        votes = vote(self._labels[torch.as_tensor(indices)], torch.as_tensor(distances), self.weights, len(self.classes_))
        return self.classes_[votes.argmax(dim=1).numpy()]

    def score(self, X, y, sample_weight=None) -> float:
        """Accuracy of ``predict(X)`` against ``y``."""
        return super().score(X, as_array(y), sample_weight=sample_weight)

    def _votes(self, X) -> torch.Tensor:
        distances, indices = self.kneighbors(X)
        with one_thread():  # (queries x k) bookkeeping
            return vote(self._labels[torch.from_numpy(indices)], torch.from_numpy(distances), self.weights, len(self.classes_))

    def _check_parameters(self) -> None:
        _check_n_neighbors(self.n_neighbors)
        if self.weights not in WEIGHTS:
            raise ValueError(f"weights must be one of {WEIGHTS}, got {self.weights!r}")
        if self.metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {self.metric!r}")
        if not isinstance(self.p, Real) or isinstance(self.p, bool) or math.isnan(self.p) or self.p < 1:
            raise ValueError(f"p must be a number >= 1 (Minkowski is not a metric below 1), got {self.p!r}")
        if self.kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}, got {self.kernel!r}")
        if not isinstance(self.batch_size, Integral) or isinstance(self.batch_size, bool) or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        try:
            device = resolve_device(self.device)
        except (RuntimeError, TypeError) as error:
            raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or a torch.device, got {self.device!r}") from error
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {self.device!r} asked for, but CUDA is not available here (use 'auto' or 'cpu')")


def vote(neighbor_labels: torch.Tensor, distances: torch.Tensor, weights: str, n_classes: int) -> torch.Tensor:
    """Votes (Q, n_classes) float64 from neighbour labels (Q, k) int64 and their distances (Q, k).

    ``"distance"`` weighs by 1/d; a row with neighbours at distance 0 counts only those (sklearn's rule).
    """
    if weights == "uniform":
        strength = torch.ones_like(distances, dtype=torch.float64)
    else:
        at_zero = distances == 0
        strength = torch.where(at_zero.any(dim=1, keepdim=True), at_zero.to(torch.float64), 1.0 / distances.to(torch.float64))
    votes = torch.zeros(len(neighbor_labels), n_classes, dtype=torch.float64)
    return votes.scatter_add_(1, neighbor_labels, strength)


def as_array(values):
    """numpy for torch tensors (any device, bfloat16 widened); anything else unchanged for sklearn to check."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu()
        return (values.float() if values.dtype == torch.bfloat16 else values).numpy()
    return values


def to_tensor(array: np.ndarray) -> torch.Tensor:
    """A validated 2-D numeric array as a tensor, keeping uint8 (the exact fast path) and widening the rest."""
    if array.dtype.kind in "iu" and array.dtype != np.uint8:
        array = array.astype(np.int64 if array.dtype.itemsize < 8 or array.dtype.kind == "i" else np.float64)
    elif array.dtype == np.float16:
        array = array.astype(np.float32)
    array = np.ascontiguousarray(array)
    return torch.from_numpy(array if array.flags.writeable else array.copy())  # torch wants writable memory


def flatten_images(images) -> np.ndarray | torch.Tensor:
    """(N, H, W) images -> (N, H*W) rows, the shape every estimator here expects (numpy or torch)."""
    if images.ndim != 3:
        raise ValueError(f"expected images of shape (N, H, W), got shape {tuple(images.shape)}")
    return images.reshape(len(images), -1)


def _check_n_neighbors(k) -> None:
    if not isinstance(k, Integral) or isinstance(k, bool):
        raise TypeError(f"n_neighbors does not take {type(k)} value, enter integer value")
    if k < 1:
        raise ValueError(f"Expected n_neighbors > 0. Got {k}")


def _drop_self(distances: torch.Tensor, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Remove each training point from its own k+1 neighbours (sklearn: if a duplicate pushed it out, drop the first)."""
    rows = torch.arange(len(indices)).unsqueeze(1)
    keep = indices != rows
    keep[keep.all(dim=1), 0] = False  # the point itself was not found: drop the nearest instead
    k = indices.shape[1] - 1
    return distances[keep].view(-1, k), indices[keep].view(-1, k)
