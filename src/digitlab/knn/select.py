"""Pick the k smallest scores per row without sorting whole rows, and settle ties as scikit-learn does.

:func:`smallest_k` keeps the k first entries in (value, column) order. :func:`grouped_smallest_k`
gets the same answer faster on wide rows: it cuts each row into groups of ``group`` columns, keeps
the k groups with the smallest minima (ties to the lower group) and looks only inside those. Exact:
if an entry among the k first were in a group left out, each of the k kept groups would hold a
minimum coming before it in (value, column) order, so k entries would come before it.

When the k-th value is tied with entries left out, scikit-learn's answer is not "lowest index
first": its brute-force search pushes each training point, in index order, onto a fixed-size
max-heap that refuses a value equal to its top, and a smaller newcomer evicts whichever tied entry
sits on top. :func:`heap_select` replays that heap for such rows (a few per ten thousand on MNIST).
"""

from __future__ import annotations

import numpy as np
import torch

from digitlab.knn.threads import one_thread, threads_for

GROUP = 32  # columns per group in the two-stage selection: one pass over a row, then 32*k entries


def smallest_k(values: torch.Tensor, k: int, tolerance: torch.Tensor | float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Columns (B, k) of the k first entries of each row of ``values`` (B, N) in (value, column) order.

    Also returns ``tied`` (B,): whether the entry after the k-th has the k-th value (a boundary tie),
    or lies within ``tolerance`` (per row) of it.
    """
    firsts, columns = _first(values, min(k + 1, values.shape[1]))
    return columns[:, :k], _boundary_tie(firsts, k, tolerance)


def grouped_smallest_k(scores: torch.Tensor, k: int, group: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Same answer as :func:`smallest_k`, reading each row once plus ``k * group`` entries.

    ``scores`` (B, N) must have N divisible by ``group``; padding columns should hold values larger
    than any real score so that they are never chosen.
    """
    batch, width = scores.shape
    n_groups = width // group
    if width % group or n_groups < 2 * k:  # too few groups for the shortcut to pay: scan the rows
        return smallest_k(scores, k)
    group_min = _group_minima(scores, group)  # (B, n_groups): the one pass over every score, on all threads
    with one_thread():  # the rest touches (B, k * group) entries
        group_firsts, kept = _first(group_min, k + 1)  # (B, k+1): the k groups kept, then the best left out
        offsets = torch.arange(group, device=scores.device)
        kept = kept[:, :k].sort(dim=1).values  # ascending, so candidate positions follow column order
        candidates = (kept.unsqueeze(2) * group + offsets).view(batch, k * group)  # (B, k*group) columns, ascending
        firsts, picked = _first(scores.gather(1, candidates), k + 1)
        kth = firsts[:, k - 1]
        # A tie at the k-th place sits either among the candidates or in the best group left out.
        tied = (firsts[:, k] == kth) | (group_firsts[:, k] <= kth)
        return candidates.gather(1, picked[:, :k]), tied


def smallest_with_bound(scores: torch.Tensor, k: int, group: int = GROUP) -> tuple[torch.Tensor, torch.Tensor]:
    """Columns (B, k) of k smallest scores per row (any order among equal ones) and the smallest
    score left out (B,): every other column scores at least that. Needs more than k columns.

    The same grouping as :func:`grouped_smallest_k`: entries left out lie either in a kept group,
    after the k-th candidate, or in a group whose minimum is at least the (k+1)-th group minimum.
    """
    batch, width = scores.shape
    if width % group or width // group < 2 * k:
        values, columns = scores.topk(k + 1, dim=1, largest=False, sorted=True)
        return columns[:, :k], values[:, k]
    group_min = _group_minima(scores, group)  # (B, n_groups), on all threads
    with threads_for(batch):
        group_firsts, kept = group_min.topk(k + 1, dim=1, largest=False, sorted=True)
        offsets = torch.arange(group, device=scores.device)
        candidates = (kept[:, :k].unsqueeze(2) * group + offsets).view(batch, k * group)
        firsts, picked = scores.gather(1, candidates).topk(k + 1, dim=1, largest=False, sorted=True)
        return candidates.gather(1, picked[:, :k]), torch.minimum(firsts[:, k], group_firsts[:, k])


def _first(values: torch.Tensor, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``count`` first entries per row in (value, column) order: their values and columns (B, count).

    ``topk`` alone orders equal values arbitrarily, so rows where two of the first ``count`` values
    are equal (rare) are redone with a stable sort.
    """
    firsts, columns = values.topk(count, dim=1, largest=False, sorted=True)
    repeated = (firsts[:, 1:] == firsts[:, :-1]).any(dim=1).nonzero().flatten()
    if len(repeated):
        ordered, order = values[repeated].sort(dim=1, stable=True)
        firsts[repeated], columns[repeated] = ordered[:, :count], order[:, :count]
    return firsts, columns


def _group_minima(scores: torch.Tensor, group: int) -> torch.Tensor:
    """(B, N / group) minima of consecutive columns, for scores stored row-major or transposed."""
    batch, width = scores.shape
    if scores.is_contiguous():
        return scores.view(batch, width // group, group).amin(dim=2)
    return scores.T.view(width // group, group, batch).amin(dim=1).T  # stored (N, B): reduce the middle axis


def _boundary_tie(firsts: torch.Tensor, k: int, tolerance: torch.Tensor | float = 0.0) -> torch.Tensor:
    if firsts.shape[1] <= k:  # no entry after the k-th
        return torch.zeros(len(firsts), dtype=torch.bool, device=firsts.device)
    return (firsts[:, k] == firsts[:, k - 1]) | (firsts[:, k] - firsts[:, k - 1] <= tolerance)


def heap_select(values: np.ndarray, k: int) -> np.ndarray:
    """Columns (k,) that scikit-learn's ``ArgKmin`` keeps for one row of distances (its heap, replayed).

    Values are pushed in column order; only those below the heap's top enter, so after the first
    few blocks almost none need a Python step.
    """
    heap_values, heap_columns = [np.inf] * k, [-1] * k
    start, step = 0, 4 * k
    while start < len(values):
        part = values[start : start + step]
        for offset in np.flatnonzero(part < heap_values[0]).tolist():
            if part[offset] < heap_values[0]:  # the top may have dropped within this block
                _heap_push(heap_values, heap_columns, float(part[offset]), start + offset)
        start, step = start + step, min(2 * step, 1 << 16)
    return np.array(heap_columns, dtype=np.int64)


def _heap_push(values: list, columns: list, value: float, column: int) -> None:
    """scikit-learn's ``heap_push`` (sklearn/utils/_heap.pyx): replace the top, sift down; ``>=`` kept."""
    size, current = len(values), 0
    while True:
        left = 2 * current + 1
        right = left + 1
        if left >= size:
            break
        if right >= size:
            if values[left] > value:
                swap = left
            else:
                break
        elif values[left] >= values[right]:
            if value < values[left]:
                swap = left
            else:
                break
        elif value < values[right]:
            swap = right
        else:
            break
        values[current], columns[current] = values[swap], columns[swap]
        current = swap
    values[current], columns[current] = value, column
