"""Distance kernels: how a block of queries is scored against every reference, one kernel per case.

Each kernel turns a query block (B, D) into a score block (B, N_padded) whose order per row is the
order of the true distances, plus the conversion from scores to the distances scikit-learn reports.

- :class:`PixelEuclidean`: integer pixels 0..255. Both sides are shifted by -128, which leaves
  distances unchanged, and ``|b|^2 - 2 a.b`` is computed exactly in integers, so ties are real ties.
  The product ``a.b`` runs either as int8 x int8 -> int32 (``torch._int_mm``: fast with AVX-512
  VNNI, AMX or a GPU, about 1 GOP/s on an AVX2-only CPU) or as a float32 product, which is exact
  too: each of the 784 terms is at most 128^2, so every partial sum is an integer below 2^24.
  :mod:`digitlab.knn.choice` measures which is faster on the running machine.
- :class:`FloatEuclidean`: any other real data, euclidean or cosine. A float32 matrix product
  proposes candidates, which are then re-ranked with float64 distances; a rigorous rounding bound
  says whether the true k nearest can have been missed, and such rows are recomputed in full.
- Both give exact squared distances of chosen candidates (``candidate_distances``), which the
  lower-bound pruning of :mod:`digitlab.knn.pruning` uses.
- :class:`Minkowski`: manhattan and other p: ``torch.cdist`` without the matrix-product shortcut,
  in float32 when that is provably exact (integer data, small sums), else float64.
"""

from __future__ import annotations

import math

import torch

from digitlab.knn.select import smallest_k
from digitlab.knn.threads import one_thread
from digitlab.pixels import in_pixel_range

PIXEL_OFFSET = 128  # uint8 - 128 fits int8; shifting both sides changes no distance
PRODUCTS = ("int8", "float32")  # the two exact products of shifted pixels
PIXEL_CHECK_ROWS = 64  # rows looked at first when asking whether data is pixels: real values show at once
EXACT_CHUNK = 2048  # candidate rows whose float64 distances are computed at once (12 MB of 784 features)
PRODUCT_CHUNK = 4096  # references per float32 product before its exact conversion to int32 (16 MB per 1,024 queries)
INT_PAD_SCORE = 2**30  # score of padding references: above any real int32 score (see fits_int8_product)
FLOAT_PAD_SCORE = 1e30  # the same for float32 scores of data scaled to about 1
FLOAT32_EXACT_INTEGER = 2**24  # float32 holds every integer up to this exactly
QUERY_CLIP = 1e15  # scaled queries are clipped here so float32 products stay finite
ROUNDING_SAFETY = 2.0  # the rounding bound is rigorous; doubling it costs a few re-ranked rows at most
SKLEARN_SAFETY = 4.0  # the same margin on scikit-learn's rounding: rows closer than it are left to scikit-learn
FLOAT32_UNIT, FLOAT64_UNIT = 2.0**-24, 2.0**-53  # unit roundoffs


def is_pixel_data(values: torch.Tensor) -> bool:
    """True when every value is an integer in 0..255 (uint8 images, or integers stored as floats)."""
    if values.dtype in (torch.uint8, torch.bool):
        return True
    if values.numel() == 0:
        return False
    if values.is_floating_point() and not _integers(values[:PIXEL_CHECK_ROWS]):  # real-valued data shows it at once
        return False
    low, high = torch.aminmax(values)
    if not in_pixel_range(low, high):
        return False
    return not values.is_floating_point() or _integers(values)


def _integers(values: torch.Tensor) -> bool:
    return bool(torch.equal(values, values.round()))


def fits_int8_product(n_features: int) -> bool:
    """Whether int32 scores of ``n_features`` shifted pixels stay below the padding score."""
    worst_score = 3 * n_features * PIXEL_OFFSET**2  # |b|^2 + 2|a.b|, each term at most 128^2
    return worst_score < INT_PAD_SCORE


def fits_float32_product(n_features: int) -> bool:
    """Whether a float32 product of ``n_features`` shifted pixels is exact: every partial sum is an
    integer of magnitude at most ``n_features * 128^2``, exactly representable below 2^24."""
    return n_features * PIXEL_OFFSET**2 < FLOAT32_EXACT_INTEGER


def padded_width(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def matmul_unit_roundoff(device: torch.device) -> float:
    """Unit roundoff of a float32 matrix product on ``device``, allowing for TF32 or bf16 shortcuts."""
    if device.type == "cuda" and torch.backends.cuda.matmul.allow_tf32:
        return 2.0**-11  # TF32 keeps 10 mantissa bits
    if torch.get_float32_matmul_precision() != "highest":
        return 2.0**-8  # bfloat16 keeps 7
    return FLOAT32_UNIT


class PixelEuclidean:
    """Exact squared euclidean distances of integer pixels, by an int8 or an exact float32 product."""

    is_exact = True
    score_dtype = torch.int32

    def __init__(self, references: torch.Tensor, width: int, device: torch.device, product: str = "int8") -> None:
        if product not in PRODUCTS:
            raise ValueError(f"product must be one of {PRODUCTS}, got {product!r}")
        n, d = references.shape
        self.product = product
        self.storage = torch.int8 if product == "int8" else torch.float32
        self.features = padded_width(d, 8) if product == "int8" else d  # int8 products want a multiple of 8 columns (CUDA)
        shifted = torch.zeros(width, self.features, dtype=self.storage, device=device)  # padding rows stay 0
        shifted[:n, :d] = self.shift(references.to(device))
        self.references = shifted  # (N_padded, D_padded) int8 or float32, values -128..127
        if product == "float32" and fits_float32_product(self.features):  # exact in float32 too, without an int32 copy
            self.reference_terms = torch.einsum("ij,ij->i", shifted, shifted).to(torch.int32)  # (N_padded,) |b'|^2
        else:
            self.reference_terms = shifted.to(torch.int32).square().sum(dim=1, dtype=torch.int32)
        self.reference_terms[n:] = INT_PAD_SCORE
        self.n, self.device = n, device

    def shift(self, pixels: torch.Tensor) -> torch.Tensor:
        if self.storage == torch.float32:  # pixels convert exactly; one pass fewer than through int16
            return pixels.to(torch.float32, copy=True).sub_(PIXEL_OFFSET)  # never the caller's tensor
        return (pixels.to(torch.int16) - PIXEL_OFFSET).to(self.storage)

    def prepare(self, block: torch.Tensor) -> torch.Tensor:
        # CUDA's int8 product wants the query count (the product's last dimension) a multiple of 8
        cuda_int8 = self.device.type == "cuda" and self.product == "int8"
        rows = padded_width(max(len(block), 1), 8) if cuda_int8 else len(block)
        queries = torch.zeros(rows, self.features, dtype=self.storage, device=self.device)
        queries[: len(block), : block.shape[1]] = self.shift(block)
        return queries

    def scores(self, queries: torch.Tensor, buffer: torch.Tensor) -> torch.Tensor:
        """(B, N_padded) int32 ``|b'|^2 - 2 a'.b'``: squared distance minus the query's own |a'|^2.

        Computed as references x queries (N_padded, B) and returned transposed: with the small query
        block as the product's second operand the int8 product runs about a quarter faster.
        """
        out = buffer[: len(self.references) * len(queries)].view(len(self.references), len(queries))
        if self.product == "int8":
            torch._int_mm(self.references, queries.T, out=out)  # a'.b', exact in int32
        else:
            scratch = torch.empty(min(PRODUCT_CHUNK, len(out)), len(queries), device=self.device)
            for start in range(0, len(out), PRODUCT_CHUNK):  # exact float32 a'.b', converted to int32 exactly
                part = scratch[: min(PRODUCT_CHUNK, len(out) - start)]
                out[start : start + len(part)].copy_(torch.mm(self.references[start : start + len(part)], queries.T, out=part))
        return torch.add(self.reference_terms.unsqueeze(1), out, alpha=-2, out=out).T

    def distances(self, scores: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
        own = queries.to(torch.int64).square().sum(dim=1, keepdim=True)  # (B, 1) |a'|^2
        return (scores.to(torch.int64) + own).to(torch.float64).sqrt()

    def candidate_distances(self, queries: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
        """Exact squared distances (B, C) float64 of the references at ``columns`` (B, C); padding: inf."""
        dtype = torch.float32 if fits_float32_product(self.features) else torch.float64  # exact either way
        rows, count = columns.shape
        candidates = self.references.index_select(0, columns.flatten()).view(rows, count, -1).to(dtype)  # (B, C, D')
        queries = queries[:rows]
        products = torch.bmm(candidates, queries.to(dtype).unsqueeze(2)).squeeze(2)  # (B, C) exact a'.b'
        own = queries.to(torch.int64).square().sum(dim=1, keepdim=True)  # (B, 1) |a'|^2
        squared = self.reference_terms[columns].to(torch.int64) + own - 2 * products.to(torch.int64)
        return squared.to(torch.float64).masked_fill(columns >= self.n, math.inf)

    def tolerance(self, queries: torch.Tensor) -> torch.Tensor:
        """(B,) zeros: integer distances are exact here and in scikit-learn alike."""
        return torch.zeros(len(queries), dtype=torch.float64, device=self.device)

    def select_candidates(self, queries: torch.Tensor, columns: torch.Tensor, k: int):
        """The k nearest of each row's candidate ``columns`` (B, C), sorted by column: exact squared
        distances (B, k) float64, their columns in (distance, column) order, rows tied at the k-th place."""
        exact = self.candidate_distances(queries, columns)
        picked, tied = smallest_k(exact, k)
        return exact.gather(1, picked), columns.gather(1, picked), tied


class FloatEuclidean:
    """Euclidean or cosine distances of real data: float32 candidates, float64 re-ranking."""

    is_exact = False
    score_dtype = torch.float32
    margin = 8  # extra candidates re-ranked beyond k; more makes recomputed rows rarer

    def __init__(self, references: torch.Tensor, width: int, device: torch.device, cosine: bool) -> None:
        n, d = references.shape
        self.cosine, self.device = cosine, device
        # Euclidean keeps the references as given (float32 or float64; integers widened), each gathered
        # row widened to float64 exactly when it is re-ranked: no float64 copy of the whole set.
        # Cosine keeps the rows normalised in float64, as scikit-learn normalises them.
        exact = references.to(device=device, dtype=_exact_dtype(references))
        if cosine:
            exact = torch.nn.functional.normalize(exact.to(torch.float64), dim=1)  # zero rows stay zero, as in sklearn
        low, high = torch.aminmax(exact) if exact.numel() else (torch.zeros(()), torch.zeros(()))
        largest = max(-low.item(), high.item())
        # A power of two scales the data to about 1 without rounding, so float32 cannot overflow
        # (cosine data is normalized already).
        self.scale = 2.0 ** -math.floor(math.log2(largest)) if largest > 0 and not cosine else 1.0
        self.references = torch.zeros(width, d + 1, dtype=torch.float32, device=device)  # rows [-2b, |b|^2], scaled
        self.references[n:, d] = FLOAT_PAD_SCORE
        squared_norms = torch.zeros(max(n, 1), dtype=torch.float64, device=device)
        for start in range(0, n, EXACT_CHUNK * 4):  # float64 a chunk at a time, rounded to float32 once, as a whole copy would
            scaled = exact[start : start + EXACT_CHUNK * 4].to(torch.float64) * self.scale
            rows = slice(start, start + len(scaled))
            squared_norms[rows] = torch.einsum("ij,ij->i", scaled, scaled)
            self.references[rows, :d] = scaled.mul_(-1.0 if cosine else -2.0)
            self.references[rows, d] = 0.0 if cosine else squared_norms[rows]
        self.exact_references = exact  # (N, D) float32 or float64
        self.largest_norm = squared_norms.max().sqrt().item()
        self.rounding = ROUNDING_SAFETY * _gamma(d + 3, matmul_unit_roundoff(device))
        # scikit-learn computes euclidean distances as |a|^2 - 2a.b + |b|^2 in float64 (float32 data
        # upcast), cosine ones in the data's own precision: each within gamma_(D+2) of (|a| + |b|)^2,
        # resp. of 2 (normalised rows), of the true value.
        unit = FLOAT32_UNIT if cosine and references.dtype == torch.float32 else FLOAT64_UNIT
        self.sklearn_rounding = SKLEARN_SAFETY * _gamma(d + 2, unit)

    def prepare(self, block: torch.Tensor) -> torch.Tensor:
        block = block.to(device=self.device, dtype=torch.float64)
        return torch.nn.functional.normalize(block, dim=1) if self.cosine else block

    def scores(self, queries: torch.Tensor, buffer: torch.Tensor) -> torch.Tensor:
        """(B, N_padded) float32 approximate ``|b|^2 - 2a.b`` (euclidean) or ``-a.b`` (cosine), scaled.

        Like :class:`PixelEuclidean`, computed as (N_padded, B) and returned transposed.
        """
        with one_thread():  # (B, D) bookkeeping: waking a second thread costs more on a busy machine
            augmented = self.augment(queries)
        out = buffer[: len(self.references) * len(queries)].view(len(self.references), len(queries))
        return torch.mm(self.references, augmented.T, out=out).T

    def augment(self, queries: torch.Tensor) -> torch.Tensor:
        """(B, D+1) float32 [a * scale, 1], the query side of every score."""
        # Far-away queries are clipped so float32 stays finite; their error bound then forces a recount.
        scaled = (queries * self.scale).clamp(-QUERY_CLIP, QUERY_CLIP)
        return torch.cat([scaled, torch.ones_like(scaled[:, :1])], dim=1).to(torch.float32)

    def candidate_scores(self, queries: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
        """(B, C) float32 scores, as :meth:`scores` gives them, of the references at ``columns`` (B, C)."""
        rows, count = columns.shape
        candidates = self.references.index_select(0, columns.flatten()).view(rows, count, -1)  # (B, C, D+1) float32
        return torch.bmm(candidates, self.augment(queries).unsqueeze(2)).squeeze(2)

    def approximate(self, scores: torch.Tensor, queries: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores in the units of :meth:`exact` (squared distance or cosine distance) and their error bound."""
        if self.cosine:
            return 1.0 + scores.to(torch.float64), torch.full_like(queries[:, 0], self.rounding * 2.0)
        scaled_norm = queries.norm(dim=1) * self.scale
        approximate = (scores.to(torch.float64) + scaled_norm.square().unsqueeze(1)) / self.scale**2
        bound = self.rounding * (2 * scaled_norm * self.largest_norm + self.largest_norm**2) / self.scale**2
        return approximate, bound

    def exact(self, queries: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
        """float64 squared euclidean or cosine distances (B, C) of the references at ``columns``."""
        n = len(self.exact_references)
        clamped = columns.clamp(max=n - 1)
        values = torch.empty(columns.shape, dtype=torch.float64, device=self.device)
        rows = max(1, EXACT_CHUNK // max(1, columns.shape[1]))  # queries per step: (rows, C, D) stays in cache
        for start in range(0, len(columns), rows):
            picked = clamped[start : start + rows]
            candidates = self.exact_references.index_select(0, picked.flatten()).view(*picked.shape, -1).to(torch.float64)  # (rows, C, D)
            query = queries[start : start + rows].unsqueeze(1)
            if self.cosine:
                values[start : start + rows] = (1.0 - candidates.mul_(query).sum(dim=2)).clamp(0.0, 2.0)  # sklearn clips too
            else:
                values[start : start + rows] = candidates.sub_(query).square_().sum(dim=2)
        return values.masked_fill(columns >= n, math.inf)  # padding references are never neighbours

    def candidate_distances(self, queries: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
        """float64 squared distances (B, C) at ``columns`` (euclidean only), the pruned search's exact step."""
        return self.exact(queries, columns)

    def select_candidates(self, queries: torch.Tensor, columns: torch.Tensor, k: int):
        """The k nearest of each row's candidate ``columns`` (B, C), as :meth:`exact` would rank them.

        float32 products rank the candidates; where the k-th and the next are further apart than
        twice the rounding bound the set is certain and only its k float64 distances are computed;
        other rows get float64 for every candidate. Returns float64 squared distances (B, k),
        columns (B, k) in (distance, column) order, and rows tied at the k-th place (B,).
        """
        rows, count = columns.shape
        approximate, bound = self.approximate(self.candidate_scores(queries, columns), queries)
        tolerance = self.tolerance(queries)
        firsts, order = approximate.topk(min(k + 1, count), dim=1, largest=False, sorted=True)
        certain = firsts[:, -1] - firsts[:, k - 1] > 2 * bound + tolerance if count > k else torch.ones(rows, dtype=torch.bool)
        chosen = columns.gather(1, order[:, :k]).sort(dim=1).values  # by column, so equal distances keep index order
        values = self.exact(queries, chosen)
        picked, tied = smallest_k(values, k, tolerance)
        values, chosen = values.gather(1, picked), chosen.gather(1, picked)
        unsure = torch.nonzero(~certain).flatten()
        if len(unsure):  # the candidates that may be among the k nearest, in float64
            values[unsure], chosen[unsure], tied[unsure] = self._settle(queries[unsure], columns[unsure], approximate[unsure],
                                                                       firsts[unsure, k - 1] + 2 * bound[unsure], k)
        return values, chosen, tied

    def _settle(self, queries: torch.Tensor, columns: torch.Tensor, approximate: torch.Tensor, limit: torch.Tensor, k: int):
        """The k nearest of ``columns`` (R, C) in float64, computing only those whose float32 value is within
        ``limit`` (R,) plus the tie tolerance: any other lies above the k-th exact distance by more than the
        tolerance (each of the k float32-first is below its value + bound, and the limit is the k-th float32
        value + 2 bounds), so it cannot be chosen or tied."""
        tolerance = self.tolerance(queries)
        possible = approximate <= (limit + tolerance).unsqueeze(1)  # (R, C), at least k per row
        width = max(k, int(possible.sum(dim=1).max()))
        order = approximate.masked_fill(~possible, math.inf).topk(width, dim=1, largest=False).indices
        kept = torch.where(possible.gather(1, order), columns.gather(1, order), self.exact_references.shape[0] + columns.shape[1])
        kept = kept.sort(dim=1).values  # by column (impossible ones, marked past the end, last): equal values keep index order
        exact = self.exact(queries, kept)  # columns past the references come back as inf
        picked, tied = smallest_k(exact, k, tolerance)
        return exact.gather(1, picked), kept.gather(1, picked), tied

    def tolerance(self, queries: torch.Tensor) -> torch.Tensor:
        """(B,) how far apart two of a row's exact values must be for scikit-learn's rounded ones to be
        ordered alike (twice its error, plus ours): closer ones are left to scikit-learn itself."""
        if self.cosine:
            return torch.full((len(queries),), 2 * 2 * self.sklearn_rounding, dtype=torch.float64, device=self.device)
        reach = queries.norm(dim=1) + self.largest_norm / self.scale  # |a| + max |b|, in the data's units
        return 2 * self.sklearn_rounding * reach.square()

    def distances(self, values: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
        return values if self.cosine else values.sqrt()


class Minkowski:
    """Exact Minkowski (manhattan for p=1, chebyshev for p=inf) distances with ``torch.cdist``."""

    is_exact = True

    def __init__(self, references: torch.Tensor, width: int, device: torch.device, p: float, integer: bool) -> None:
        n, d = references.shape
        # float32 is exact for integer data when every sum stays below 2^24 (p=1) or for maxima (p=inf)
        largest = references.abs().max().item() if references.numel() else 0
        small_sums = p == math.inf or (p == 1 and 2 * largest * d < FLOAT32_EXACT_INTEGER)
        exact_in_float32 = integer and largest < FLOAT32_EXACT_INTEGER and small_sums
        self.dtype = self.score_dtype = torch.float32 if exact_in_float32 else torch.float64
        self.references = references.to(device=device, dtype=self.dtype)
        self.p, self.n, self.width, self.device = p, n, width, device

    def prepare(self, block: torch.Tensor) -> torch.Tensor:
        return block.to(device=self.device, dtype=self.dtype)

    def scores(self, queries: torch.Tensor, buffer: torch.Tensor) -> torch.Tensor:
        out = buffer[: self.width * len(queries)].view(len(queries), self.width)
        out[:, : self.n] = torch.cdist(queries, self.references, p=self.p, compute_mode="donot_use_mm_for_euclid_dist")
        out[:, self.n :] = math.inf  # padding references are never neighbours
        return out

    def distances(self, scores: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
        return scores.to(torch.float64)


def _exact_dtype(references: torch.Tensor) -> torch.dtype:
    """float32 or float64 data as it is; integers widened exactly (uint8 fits float32, others float64)."""
    if references.dtype in (torch.float32, torch.float64):
        return references.dtype
    return torch.float32 if references.dtype in (torch.uint8, torch.bool) else torch.float64


def _gamma(n: int, unit: float) -> float:
    """Higham's gamma_n = n u / (1 - n u): the relative error bound of a sum of n rounded products."""
    return n * unit / (1 - n * unit)
