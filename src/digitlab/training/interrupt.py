"""Ctrl-C during training: finish the current batch, then stop cleanly.

Inside :func:`stop_on_interrupt` the first Ctrl-C only raises a flag that the training loop checks
after every batch, so the last completed epoch's checkpoint stays intact and the caller can say
how to resume. A second Ctrl-C interrupts at once, as usual.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass
class InterruptFlag:
    requested: bool = False


@contextlib.contextmanager
def stop_on_interrupt() -> Iterator[InterruptFlag]:
    """Yield a flag that turns True on the first SIGINT (only the main thread can catch signals)."""
    flag = InterruptFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag  # e.g. training inside a web server's worker thread: leave signals alone
        return

    def handle(signum: int, frame: object) -> None:
        if flag.requested:
            raise KeyboardInterrupt  # second Ctrl-C: the user really wants out now
        flag.requested = True

    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
