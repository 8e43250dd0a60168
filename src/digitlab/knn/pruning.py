"""Exact euclidean k-NN that computes few full distances: lower bounds from a projection prune the rest.

For any matrix ``G`` (D, m) with spectral norm at most 1 (for example the top ``m`` principal
directions, which are orthonormal), map each point ``x`` (centred) to ``(G^T x, r(x))`` with
``r(x)^2 = |x|^2 - |G^T x|^2``. Writing ``S = (I - G G^T)^(1/2)``, ``r(x) = |S x|``, so

    |G^T (a - b)|^2 + (r(a) - r(b))^2  <=  |G^T (a - b)|^2 + |S (a - b)|^2  =  |a - b|^2

(the triangle inequality on the second part). The left side is a lower bound of every squared
distance, and costs a product of ``m + 2`` columns instead of ``D``: on MNIST (D = 784, m = 128),
a sixth of the work. Per block of queries:

1. lower bounds against every reference (one float32 product), and the ``candidates`` smallest;
2. exact squared distances of those candidates only (the full kernel's ``select_candidates``: exact
   integers for pixels; for real values float32 ranks them and float64 settles the k kept and any
   row whose k-th and next candidates are closer than the float32 rounding bound);
3. the k nearest candidates are the k nearest overall when the smallest lower bound left out,
   minus a rigorous bound on its float32 rounding, exceeds the k-th exact distance, and no tie
   sits at the k-th place. Rows where either fails (about 2% on MNIST) are searched again by
   the full kernel (all blocks' such rows together: a product with few queries costs a whole
   read of the references), which also replays scikit-learn's tie order. So the answer is
   exactly the full kernel's.

The basis quality only decides how many rows fall back, never the answer; it is estimated on at
most ``PCA_SAMPLE`` references in float32.
"""

from __future__ import annotations

import math

import torch

from digitlab.knn.kernels import FLOAT64_UNIT, FLOAT_PAD_SCORE, _gamma, matmul_unit_roundoff
from digitlab.knn.select import smallest_with_bound
from digitlab.knn.threads import one_thread, threads, threads_for

PROJECTION_DIMS = 128  # measured on MNIST (1,000 queries): m=64 leaves 22% of rows needing > 128 candidates, m=128 2%
CANDIDATES = 64  # exact distances per query; with m=128 about 2% of MNIST rows need more and fall back
FIRST_STAGE = 32  # the candidates tried first: measured on MNIST, 84% of rows settle with 32 (32% with 16, 64% with 24)
WIDE_STAGE = 4  # rows 64 candidates cannot settle try 256 from the same scores (quiet machine, 2,000 MNIST queries:
#                 full searches 43 -> 1, 0.05 s less; 2-8 times measured alike within noise)
PCA_SAMPLE = 10_000  # references used to estimate the basis (it changes speed, never answers)
CHUNK = 8192  # rows projected at once, to bound float64 memory
NORM_SAFETY = 1e-12  # the basis is divided by its spectral norm times (1 + this), so that |G| <= 1 for sure
ROUNDING_SAFETY = 4.0  # the rounding bound is rigorous; a margin above it costs a few fallback rows at most


def projection_dims(n_features: int) -> int:
    """Columns of the projection: ``PROJECTION_DIMS``, at most a quarter of the features."""
    return max(1, min(PROJECTION_DIMS, n_features // 4))


class PrunedEuclidean:
    """Euclidean search by projected lower bounds; ``full`` (a pixel or float kernel) settles the rest."""

    is_exact = True
    score_dtype = torch.float32

    def __init__(self, references: torch.Tensor, width: int, device: torch.device, full, dims: int | None = None,
                 candidates: int = CANDIDATES, cosine: bool = False) -> None:
        n, d = references.shape
        self.full, self.n, self.width, self.device, self.candidates = full, n, width, device, candidates
        self.cosine = cosine  # bounds on L2-normalised rows; ``full`` (cosine) gives the exact distances
        self.dims = dims or projection_dims(d)
        self.rows_searched = self.rows_refound = 0  # queries answered, and those the full kernel answered again
        self.rows_widened = 0  # queries that needed the wide stage (``WIDE_STAGE`` times the candidates)
        self._source = references  # projected at the first query: a fit whose neighbours a sweep reuses never pays it
        self._threads = torch.get_num_threads()  # the first query prepares on one thread; the projection wants them all
        self.columns = None  # (m+2, N_padded) float32 rows [-2 G^T b, -2 r(b), |b|^2], built at the first query

    def _build(self) -> None:
        references, (n, d) = self._source, self._source.shape
        sample = self._rows(references[:: max(1, n // PCA_SAMPLE)][:PCA_SAMPLE])
        self.center, self.basis = _basis(sample, self.dims, self.device)  # (D,) and (D, m) float64, |basis| <= 1
        projected, squared_norms = self._project(references)  # (N, m+1) [G^T b, r(b)], (N,) |b - c|^2
        augmented = torch.zeros(self.width, self.dims + 2, dtype=torch.float64, device=self.device)  # rows [-2 G^T b, -2 r(b), |b|^2]
        augmented[:n, : self.dims + 1] = -2 * projected
        augmented[:n, -1] = squared_norms
        augmented[n:, -1] = FLOAT_PAD_SCORE  # padding references are never candidates
        # Stored (m+2, N_padded): a single query's product then reads it as MKL's fast column-major matrix-vector
        # case (measured on this AMD EPYC: 1.6 ms, against 21 ms for the (N, m+2) layout); blocks run alike either way.
        self.columns = augmented.T.contiguous().to(torch.float32)
        self.largest_norm = squared_norms.max().sqrt().item() if n else 0.0
        # float32 product of m+2 terms whose inputs were rounded to float32, plus the float64 error of
        # r(x) (a square root of a difference: its error is the root of the difference's error).
        unit = matmul_unit_roundoff(self.device)
        self.rounding = ROUNDING_SAFETY * (_gamma(self.dims + 4, unit) + 4 * math.sqrt(2 * _gamma(d + 2, FLOAT64_UNIT)))
        # cosine: the full kernel's float64 1 - a.b of normalised rows is within gamma_(D+2) of the true value
        # (|a.b| <= 1), and |a|^2 of a row normalised in float64 is 1 within about gamma_(D+2) too
        self.cosine_rounding = ROUNDING_SAFETY * (2 * _gamma(d + 2, FLOAT64_UNIT) + 8 * FLOAT64_UNIT)
        self._source = None

    def _rows(self, rows: torch.Tensor) -> torch.Tensor:
        """Rows in float64, L2-normalised for cosine (zero rows stay zero, as in scikit-learn)."""
        rows = rows.to(device=self.device, dtype=torch.float64)
        return torch.nn.functional.normalize(rows, dim=1) if self.cosine else rows

    def _project(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[G^T x, r(x)] (R, m+1) and |x|^2 (R,) in float64, x = row (normalised for cosine) - centre."""
        projected = torch.empty(len(rows), self.dims + 1, dtype=torch.float64, device=self.device)
        norms = torch.empty(len(rows), dtype=torch.float64, device=self.device)
        for start in range(0, len(rows), CHUNK):
            part = rows[start : start + CHUNK].to(self.device)
            # one pass from the stored type (uint8 pixels, float32) to centred float64 rows
            centred = self._rows(part) - self.center if self.cosine else torch.sub(part, self.center)
            inside = centred @ self.basis  # (R, m)
            projected[start : start + len(part), : self.dims] = inside
            squared = torch.einsum("ij,ij->i", centred, centred)  # |x - c|^2 without a squared copy
            residual = (squared - torch.einsum("ij,ij->i", inside, inside)).clamp_(min=0).sqrt_()
            projected[start : start + len(part), self.dims] = residual
            norms[start : start + len(part)] = squared
        return projected, norms

    def prepare(self, block: torch.Tensor) -> tuple:
        """The full kernel's block, plus the projected queries [G^T a, r(a), 1] (B, m+2) and |a - c|^2."""
        if self.columns is None:
            with threads(self._threads):
                self._build()
        projected, squared_norms = self._project(block)
        ones = torch.ones(len(block), 1, dtype=torch.float64, device=self.device)
        return self.full.prepare(block), torch.cat([projected, ones], dim=1).to(torch.float32), squared_norms

    def scores(self, queries: torch.Tensor, buffer: torch.Tensor) -> torch.Tensor:
        """(B, N_padded) float32 lower bounds minus the query's own |a - c|^2, stored row-major.

        Row-major, unlike the other kernels' (N_padded, B) blocks: the candidates' bounds are then
        gathered from runs of 32 adjacent scores (measured on the quiet 2-core machine, 2,000 MNIST
        queries: gathers 33 ms instead of 88, the product 6% slower, 0.05 s less in all).
        """
        out = buffer[: self.width * len(queries)].view(len(queries), self.width)
        return torch.mm(queries, self.columns, out=out)

    def lowest_distance(self, squared_norms: torch.Tensor, lowest_score: torch.Tensor) -> torch.Tensor:
        """(B,) a value no reference scoring at least ``lowest_score`` (B,) can have as its exact distance
        from the full kernel (squared euclidean; cosine: ``1 - a.b``, which is half the squared
        euclidean distance of normalised rows, and at least that for a zero row)."""
        bound = squared_norms + lowest_score.to(torch.float64) - self.margin(squared_norms)
        return bound / 2 - self.cosine_rounding if self.cosine else bound

    def margin(self, squared_norms: torch.Tensor) -> torch.Tensor:
        """(B,) bound on the float32 rounding of a row's scores: every term is at most (|a| + max |b|)^2."""
        return self.rounding * (squared_norms.sqrt() + self.largest_norm).square()


def search_pruned(kernel: PrunedEuclidean, prepared: tuple, k: int, buffer: torch.Tensor, rows: int):
    """Distances (B, k), columns (B, k) of the k nearest, and the rows (R,) left for ``kernel.full``.

    Rows not left over hold the full kernel's answer exactly; the caller searches the others again
    (all blocks' together, so that the full product reads the references once).
    """
    block, projected, squared_norms = prepared
    wide = max(kernel.candidates, 2 * k)
    kernel.rows_searched += rows
    if wide >= kernel.n:  # nothing to prune
        kernel.rows_refound += rows
        empty = torch.zeros(rows, k, device=kernel.device)
        return empty.double(), empty.long(), torch.arange(rows, device=kernel.device)
    with threads_for(rows):  # a few queries: waking threads costs more
        scores = kernel.scores(projected, buffer)[:rows]
        candidates, lowest_left = smallest_with_bound(scores, wide)
    with threads_for(rows):  # (B x candidates) work: both threads pay for a block, not for one drawing
        values, columns, redo = _settle_in_stages(kernel, block, scores, candidates, lowest_left, squared_norms[:rows], k)
        kernel.rows_refound += len(redo)
        return (values if kernel.cosine else values.sqrt()), columns, redo


def _settle_in_stages(kernel: PrunedEuclidean, block, scores, candidates, lowest_left, squared_norms, k: int):
    """Exact distances of the ``FIRST_STAGE`` candidates with the smallest bounds first; only the rows
    those cannot settle (about a sixth on MNIST) pay for all of them. A stage settles a row when the
    smallest bound outside it, minus the rounding margin, exceeds the k-th exact distance and
    nothing is tied at the k-th place. Rows still open after all ``CANDIDATES`` (2% on MNIST) take
    ``WIDE_STAGE`` times as many from the same score block, so that only the last few (ties, mostly)
    pay for a full search. Returns squared distances (B, k), columns (B, k), rows left (R,)."""
    first = FIRST_STAGE if k < FIRST_STAGE < candidates.shape[1] else candidates.shape[1]
    bounds, order = scores.gather(1, candidates).sort(dim=1)  # (B, C) lower bounds (minus |a - c|^2), smallest first
    values, columns, settled = _stage(kernel, block, candidates.gather(1, order[:, :first]),
                                      bounds[:, first] if first < candidates.shape[1] else lowest_left, squared_norms, k)
    again = torch.nonzero(~settled).flatten()
    if first < candidates.shape[1] and len(again):  # every candidate, for the rows the first stage left open
        values[again], columns[again], settled[again] = _stage(kernel, block[again], candidates[again], lowest_left[again],
                                                               squared_norms[again], k)
    again = torch.nonzero(~settled).flatten()
    wide = WIDE_STAGE * candidates.shape[1]
    if len(again) and wide < kernel.n:  # the few rows left: many more candidates, from the same score block
        kernel.rows_widened += len(again)
        wider, lowest = smallest_with_bound(scores[again], wide)
        values[again], columns[again], settled[again] = _stage(kernel, block[again], wider, lowest, squared_norms[again], k)
    return values, columns, torch.nonzero(~settled).flatten()


def _stage(kernel: PrunedEuclidean, block, candidates, lowest_left, squared_norms, k: int):
    candidates = candidates.sort(dim=1).values  # by index, so that equal distances keep index order
    values, columns, tied = kernel.full.select_candidates(block, candidates, k)  # (B, k) float64 squared distances
    # nothing left out may come within the tie tolerance either (real values: scikit-learn's rounding decides there)
    return values, columns, ~tied & (kernel.lowest_distance(squared_norms, lowest_left) > values[:, -1] + kernel.full.tolerance(block))


def _basis(references: torch.Tensor, dims: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Centre (D,) and the top ``dims`` principal directions (D, dims) of a sample of the references (R, D),
    scaled so that their norm is <= 1."""
    sample = references.to(device=device, dtype=torch.float32)
    center = sample.double().mean(dim=0)
    centred = sample - center.to(torch.float32)
    covariance = (centred.T @ centred).double().cpu()  # (D, D), float32 is plenty: the basis only sets the speed
    with one_thread():  # a 784 x 784 eigensolver is slow on a busy second thread (see threads.py)
        _, vectors = torch.linalg.eigh(covariance)  # ascending eigenvalues
        basis = vectors[:, -dims:].flip(1).contiguous()  # (D, dims), largest first
        norm = torch.linalg.matrix_norm(basis, ord=2).item()
    return center, (basis / (norm * (1 + NORM_SAFETY))).to(device)
