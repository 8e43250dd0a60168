"""Top-k selection: (value, index) order, boundary ties, and the replay of scikit-learn's heap."""

import numpy as np
import pytest
import torch
from sklearn.neighbors import NearestNeighbors

from digitlab.knn.select import grouped_smallest_k, heap_select, smallest_k


def reference(values: torch.Tensor, k: int):
    """Columns of the k first entries in (value, column) order, and whether the (k+1)-th ties the k-th."""
    columns, tied = [], []
    for row in values.tolist():
        order = sorted(range(len(row)), key=lambda c: (row[c], c))
        columns.append(order[:k])
        tied.append(len(row) > k and row[order[k]] == row[order[k - 1]])
    return torch.tensor(columns), torch.tensor(tied)


@pytest.mark.parametrize("dtype", [torch.int32, torch.float32, torch.float64])
@pytest.mark.parametrize("k", [1, 3, 7])
def test_smallest_k_is_value_then_index_order(dtype, k):
    values = torch.randint(0, 6, (50, 40), generator=torch.Generator().manual_seed(k)).to(dtype)  # many ties
    columns, tied = smallest_k(values, k)
    expected_columns, expected_tied = reference(values, k)
    assert torch.equal(columns, expected_columns)
    assert torch.equal(tied, expected_tied)


@pytest.mark.parametrize("dtype", [torch.int32, torch.float32])
@pytest.mark.parametrize("k", [1, 5])
@pytest.mark.parametrize("low, high", [(0, 8), (-1000, 1000)])
def test_grouped_selection_equals_full_scan(dtype, k, low, high):
    values = torch.randint(low, high, (64, 32 * 40), generator=torch.Generator().manual_seed(high)).to(dtype)
    columns, tied = grouped_smallest_k(values, k, group=32)
    expected_columns, expected_tied = reference(values, k)
    assert torch.equal(columns, expected_columns)
    assert torch.equal(tied, expected_tied)


def test_grouped_selection_reads_transposed_scores():
    stored = torch.randint(0, 50, (32 * 20, 16), generator=torch.Generator().manual_seed(3), dtype=torch.int32)
    scores = stored.T  # (16, 640) as the kernels return them
    assert torch.equal(grouped_smallest_k(scores, 4, 32)[0], reference(scores, 4)[0])


@pytest.mark.parametrize("k", [1, 4, 9])
def test_heap_replay_matches_scikit_learn(k, single_thread):
    rng = np.random.default_rng(k)
    X = rng.integers(0, 3, (500, 6)).astype(np.float64)
    queries = rng.integers(0, 3, (40, 6)).astype(np.float64)
    expected = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(X).kneighbors(queries, return_distance=False)
    squared = ((queries[:, None, :] - X[None]) ** 2).sum(-1)
    found = [np.sort(heap_select(row, k)) for row in squared]
    assert np.array_equal(np.sort(expected, axis=1), np.array(found))
    # and the answer is not simply "lowest index first" for at least one row
    lowest_first = [np.sort(np.lexsort((np.arange(len(row)), row))[:k]) for row in squared]
    assert k == 1 or not np.array_equal(np.array(found), np.array(lowest_first))
