"""Exact brute-force k-nearest-neighbour search in blocks: the engine under :class:`KNNClassifier`.

A query block of ``batch_size`` rows is scored against all references at once (one matrix
product), the k nearest are picked per row (:mod:`digitlab.knn.select`), and the next block reuses
the same score buffer. So the memory beyond the data is one ``batch_size x n_references`` block of
4-byte scores (8 for float64 Minkowski), whatever the number of queries.

Neighbours come back in scikit-learn's order: by distance, equal distances by training index, the
k-th place going to the lower index. See docs/knn.md for how that matches
``KNeighborsClassifier(algorithm="brute")``.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

from digitlab.knn.choice import (
    SAMPLE_QUERIES,
    SCREEN_REFERENCES,
    TIMED_NEIGHBOURS,
    Choice,
    Timing,
    check_kernel,
    choose,
    requested_kernel,
    time_candidates,
)
from digitlab.knn.kernels import (
    FloatEuclidean,
    Minkowski,
    PixelEuclidean,
    fits_float32_product,
    fits_int8_product,
    is_pixel_data,
    padded_width,
)
from digitlab.knn.pruning import PrunedEuclidean, search_pruned
from digitlab.knn.select import GROUP, grouped_smallest_k, heap_select, smallest_k
from digitlab.knn.threads import one_thread

METRICS = ("euclidean", "manhattan", "cosine", "minkowski")
REPLAY_ROWS = 32  # scikit-learn replays run on a multiple of this many rows: whole register tiles of any BLAS kernel


def effective_metric(metric: str, p: float) -> str:
    """scikit-learn's ``effective_metric_``: minkowski with p=2 is euclidean, with p=1 manhattan."""
    if metric == "minkowski" and p == 2:
        return "euclidean"
    if metric == "minkowski" and p == 1:
        return "manhattan"
    return metric


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` means CUDA when available, else the CPU."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class NeighborIndex:
    """References (N, D) prepared once for one metric; :meth:`query` answers k-nearest questions.

    Example
    -------
    >>> index = NeighborIndex(torch.tensor([[0, 0], [3, 4], [1, 0]], dtype=torch.uint8), "euclidean")
    >>> distances, indices = index.query(torch.tensor([[0, 0]], dtype=torch.uint8), k=2)
    >>> indices.tolist(), distances.tolist()
    ([[0, 2]], [[0.0, 1.0]])
    """

    def __init__(
        self,
        references: torch.Tensor,
        metric: str = "euclidean",
        p: float = 2,
        device: str | torch.device = "cpu",
        batch_size: int = 1024,
        kernel: str = "auto",
    ) -> None:
        self.metric = effective_metric(metric, p)
        self.p = {"euclidean": 2.0, "manhattan": 1.0}.get(self.metric, float(p))
        self.device = resolve_device(device)
        self.batch_size = batch_size
        self.n, self.n_features = references.shape
        _check_finite(references, "references")
        self.width = padded_width(self.n, GROUP)  # score columns: references plus padding
        self.references = references  # kept on the CPU for kernels built later (float queries)
        self.pixels = is_pixel_data(references)
        self.requested = check_kernel(kernel)
        self.kernel, self.choice = self._build_kernel(pixel_queries=self.pixels)  # choice: None for other metrics
        self._float_kernel = None  # for real-valued queries against pixel references, built on demand

    def _build_kernel(self, pixel_queries: bool) -> tuple[object, Choice | None]:
        if self.metric not in ("euclidean", "cosine"):
            integer = not self.references.is_floating_point() or bool(torch.equal(self.references, self.references.round()))
            return Minkowski(self.references, self.width, self.device, self.p, integer=integer), None
        pixels = self.pixels and pixel_queries and fits_int8_product(self.n_features)
        data = "cosine" if self.metric == "cosine" else "pixels" if pixels else "real"
        built: dict[str, object] = {}  # the kernels timed: the one chosen is used as it is
        choice = choose(requested_kernel(self.requested), data, self.n, self.n_features, self.device,
                        lambda names: self._time(names, data, built))
        return built.get(choice.kernel) or self._make(choice.kernel, data, built), choice

    def _make(self, name: str, data: str, built: dict[str, object]):
        """Kernel ``name`` for ``data``, built once into ``built`` (pruning reuses the float32 kernel under it)."""
        if name not in built:
            if name == "pruned":
                full = self._make("float32", data, built)
                built[name] = PrunedEuclidean(self.references, self.width, self.device, full, cosine=data == "cosine")
            elif data == "pixels" and (name == "int8" or fits_float32_product(self.n_features)):
                built[name] = PixelEuclidean(self.references, self.width, self.device, product=name)
            else:
                built[name] = FloatEuclidean(self.references, self.width, self.device, cosine=data == "cosine")
        return built[name]

    def _time(self, names, data: str, built: dict[str, object]) -> tuple[Timing, ...]:
        """Each candidate answering references spread over the set as queries (see :mod:`digitlab.knn.choice`)."""
        sample = self.references[:: max(1, self.n // SAMPLE_QUERIES)][:SAMPLE_QUERIES]
        return time_candidates(names, build=lambda name: self._make(name, data, built),
                               search=lambda name, rows: self._search(built[name], sample[:rows], min(TIMED_NEIGHBOURS, self.n)),
                               screen=lambda name: self._screen(name, sample))

    def _screen(self, product: str, sample: torch.Tensor) -> float:
        """Seconds of the full ``product`` of ``sample`` against every reference, scaled from the first
        ``SCREEN_REFERENCES``: a lower bound of that kernel's search (which also selects), so a kernel
        it rules out could not have won. The fastest of two runs (the first also warms it up)."""
        part = PixelEuclidean(self.references[:SCREEN_REFERENCES], padded_width(SCREEN_REFERENCES, GROUP), self.device, product=product)
        queries = part.prepare(sample)
        buffer = torch.empty(len(part.references) * len(queries), dtype=part.score_dtype, device=self.device)
        times = []
        for _ in range(2):
            started = time.perf_counter()
            part.scores(queries, buffer)
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            times.append(time.perf_counter() - started)
        return min(times) * self.n / min(self.n, SCREEN_REFERENCES)

    def _kernel_for(self, queries: torch.Tensor):
        if self.choice is None or self.choice.data != "pixels" or is_pixel_data(queries):
            return self.kernel
        if self._float_kernel is None:
            self._float_kernel, _ = self._build_kernel(pixel_queries=False)
        return self._float_kernel

    def query(self, queries: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Distances (Q, k) float64 and indices (Q, k) int64 of the k nearest references, on the CPU."""
        if not 1 <= k <= self.n:
            raise ValueError(f"k must be in 1..{self.n} (the number of references), got {k}")
        if not len(queries):
            return torch.empty(0, k, dtype=torch.float64), torch.empty(0, k, dtype=torch.int64)
        _check_finite(queries, "queries")
        return self._search(self._kernel_for(queries), queries, k)

    def _search(self, kernel, queries: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        rows = min(self.batch_size, len(queries))
        buffer = torch.empty(padded_width(rows, 8) * self.width, dtype=kernel.score_dtype, device=self.device)  # reused by every block
        distances, indices, unsettled, undecided = [], [], [], []
        for start in range(0, len(queries), self.batch_size):
            chunk = queries[start : start + self.batch_size]
            with one_thread():  # a block of queries is small work
                block = kernel.prepare(chunk)
            if isinstance(kernel, PrunedEuclidean):
                found_distances, found_indices, redo = search_pruned(kernel, block, k, buffer, len(chunk))
                unsettled.append(redo.cpu() + start)
            else:
                found_distances, found_indices, near = search_block(kernel, block, k, buffer, len(chunk))
                undecided.append(near.cpu() + start)
            distances.append(found_distances.cpu())
            indices.append(found_indices.cpu())
        distances, indices = torch.cat(distances), torch.cat(indices)
        if unsettled and len(redo := torch.cat(unsettled)):
            # rows the bounds could not vouch for, all blocks together: one more pass over the references
            distances[redo], indices[redo] = self._search(kernel.full, queries[redo], k)
        if undecided and len(near := torch.cat(undecided)):
            distances[near], indices[near] = self._scikit_learn(queries[near], k)
        return distances, indices

    def _scikit_learn(self, queries: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """scikit-learn's own k nearest, for real-valued rows whose k-th place only its rounding decides
        (values closer than its rounding error), on one thread: its answer for large query sets (docs/knn.md).

        Its float64 products round a query's values by where the query sits in BLAS's register tiles
        (measured: a row alone, or last in a block of 43, rounds otherwise than in full tiles), so the
        block is padded with copies of its last row to a multiple of ``REPLAY_ROWS``: every row then
        sits in a full tile, as nearly every row of a large query set does."""
        rows, references = (_as_float(values.cpu().numpy()) for values in (queries, self.references))
        padded = np.concatenate([rows, np.repeat(rows[-1:], -len(rows) % REPLAY_ROWS, axis=0)])
        with threadpool_limits(limits=1, user_api="openmp"):
            model = NearestNeighbors(n_neighbors=k, algorithm="brute", metric=self.metric).fit(references)
            distances, indices = model.kneighbors(padded)
        distances, indices = distances[: len(rows)], indices[: len(rows)]
        order = np.lexsort((indices, distances), axis=1)  # equal distances by index, as every other row
        return (torch.from_numpy(np.take_along_axis(distances, order, axis=1)).double(),
                torch.from_numpy(np.take_along_axis(indices, order, axis=1)).long())

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_float_kernel"] = None  # rebuilt on demand; keeps pickles small
        return state


def _check_finite(values: torch.Tensor, what: str) -> None:
    """One clear error for NaN or infinite features (no distance, hence no neighbour, is defined for them)."""
    if values.is_floating_point() and not bool(torch.isfinite(values).all()):
        bad = int((~torch.isfinite(values)).any(dim=1).sum())
        raise ValueError(f"k-NN {what} hold NaN or infinity ({bad} row{'s' if bad != 1 else ''}); remove or replace those values first")


def _as_float(values: np.ndarray) -> np.ndarray:
    """Integer arrays as float64: scikit-learn's heap search takes floats only (docs/knn.md, "Ties")."""
    return values if values.dtype in (np.float32, np.float64) else values.astype(np.float64)


def search_block(kernel, block, k: int, buffer: torch.Tensor, rows: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The k nearest of one prepared block, for the kernels that settle every row themselves, and the rows
    (R,) left to scikit-learn (real values whose k-th place its rounding decides; none for exact kernels)."""
    if kernel.is_exact:
        return (*_search_exact(kernel, block, k, buffer, rows), torch.empty(0, dtype=torch.int64))
    return _search_refined(kernel, block, k, buffer, rows)


def _search_exact(kernel, block: torch.Tensor, k: int, buffer: torch.Tensor, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact scores: pick the k first in (score, index) order, replay sklearn's heap on tied rows."""
    scores = kernel.scores(block, buffer)[:rows]  # kernels may pad the block with extra rows
    columns, tied = grouped_smallest_k(scores, k, GROUP)
    with one_thread():
        for row in torch.nonzero(tied).flatten().tolist():
            columns[row] = _heap_columns(scores[row], k)
        return kernel.distances(scores.gather(1, columns), block[:rows]), columns


def _search_refined(kernel: FloatEuclidean, block: torch.Tensor, k: int, buffer: torch.Tensor, rows: int):
    """float32 scores pick ``k + margin`` candidates (on all threads); :func:`_refine` settles them."""
    wide = min(k + kernel.margin, len(kernel.exact_references))  # candidates per row
    scores = kernel.scores(block, buffer)
    candidates, _ = grouped_smallest_k(scores, wide, GROUP)  # (B, wide) columns
    with one_thread():
        return _refine(kernel, block, k, scores, candidates)


def _refine(kernel: FloatEuclidean, block: torch.Tensor, k: int, scores: torch.Tensor, candidates: torch.Tensor):
    """Re-rank candidates by float64 distance. Rows the rounding bound cannot vouch for, or whose k-th
    place has a value within scikit-learn's rounding of it, are returned (R,) for scikit-learn to answer."""
    n = len(kernel.exact_references)
    candidates = candidates.sort(dim=1).values  # by index, so that equal exact values keep index order
    exact = kernel.exact(block, candidates)  # (B, wide) float64
    tolerance = kernel.tolerance(block)
    picked, near = smallest_k(exact, k, tolerance)
    values, columns = exact.gather(1, picked), candidates.gather(1, picked)
    if candidates.shape[1] < n:
        approximate, bound = kernel.approximate(scores.gather(1, candidates), block)
        # Every reference left out scored at least the widest candidate's approximate value; the bound
        # turns that into a lower limit on its true distance, which must beat the k-th kept one.
        near |= ~(approximate.amax(dim=1) - bound > values[:, -1] + tolerance)
    return kernel.distances(values, block), columns, torch.nonzero(near).flatten()


def _heap_columns(row: torch.Tensor, k: int) -> torch.Tensor:
    """sklearn's choice for one row of exact scores, in (score, index) order, on the row's device."""
    chosen = torch.from_numpy(heap_select(row.cpu().numpy(), k)).to(row.device).sort().values
    return chosen[row[chosen].sort(stable=True).indices]
