"""Run small tensor work on one thread.

torch splits even a few thousand elements over its threads, and waking the second thread costs
more than the work when the machine is busy: on the 2-core benchmark machine, with other jobs
running, ``sqrt`` of 5,000 doubles took 8 ms on two threads and 7 microseconds on one; a 784 x 784
eigensolver took 0.3-14 s on two threads and 0.1-0.2 s on one; deskewing 10,000 digits 0.45 s on
two and 0.15 s on one. Matrix products and passes over whole score blocks keep every thread;
bookkeeping on (queries x k) arrays and the preprocessing transforms run inside :func:`one_thread`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Set torch to one intra-op thread for the block, then restore the previous count."""
    threads = torch.get_num_threads()
    if threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def threads(count: int) -> Iterator[None]:
    """Set torch to ``count`` intra-op threads for the block (large work inside a :func:`one_thread` caller)."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


PARALLEL_ROWS = 64  # blocks of at least this many queries: (queries x candidates) work pays for every thread


def threads_for(rows: int) -> contextlib.AbstractContextManager:
    """All threads for a block of ``rows`` queries of per-query work, one thread for fewer.

    Measured on the quiet 2-core machine (2,000 MNIST queries, pruned kernel): the candidates'
    exact distances and selections took 0.85 s on one thread, 0.70 s on both.
    """
    return one_thread() if rows < PARALLEL_ROWS else contextlib.nullcontext()
