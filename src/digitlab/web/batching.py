"""Dynamic batching: the drawings waiting at one moment are answered together, on the event loop.

The first request of a quiet moment is answered at once (nobody waits for company, so one user sees
no added latency). While a batch is computed, new requests pile up, and the next batch answers them
all: under load, batches grow by themselves and each model pass serves several drawings.

The batch runs on the event loop's own thread, blocking it for a few milliseconds. That is on
purpose: a worker thread would have to share Python's GIL with the event loop, and on a 2-core
laptop handing the GIL back and forth cost more than the work (measured with ``benchmarks/web_load.py``:
server CPU per request 2.0-2.8 ms here against 3.1-3.8 ms with a worker thread, and a p99 about
half as long). ``max_batch`` bounds how long the loop is held; slow inputs (large photos) should not
come here: the app decodes those in a thread.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Answer = TypeVar("Answer")

DEFAULT_MAX_BATCH = 16  # drawings per batch: ~2 ms each, so the loop is never held much past 30 ms


class MicroBatcher(Generic[Item, Answer]):
    """Answers ``submit(item)`` calls with ``answer_batch(items)``, one batch of waiting items at a time.

    ``answer_batch`` returns one entry per item, in order; an entry that is an exception is raised to
    that item's caller alone. An exception raised by ``answer_batch`` itself goes to every caller of the batch.

    Examples
    --------
    >>> import asyncio
    >>> batcher = MicroBatcher(lambda numbers: [n * n for n in numbers])
    >>> async def ask():
    ...     return await asyncio.gather(*(batcher.submit(n) for n in range(4)))
    >>> asyncio.run(ask())
    [0, 1, 4, 9]
    >>> list(batcher.batch_sizes)  # the four calls arrived together and were answered in one batch
    [4]
    """

    def __init__(self, answer_batch: Callable[[list[Item]], Sequence[Answer | Exception]], max_batch: int = DEFAULT_MAX_BATCH):
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.answer_batch = answer_batch
        self.max_batch = max_batch
        self.batch_sizes: deque[int] = deque(maxlen=1000)  # the latest batches, for monitoring and tests
        self._waiting: deque[tuple[Item, asyncio.Future[Answer]]] = deque()
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Answer:
        """The answer for ``item``, computed with the items waiting beside it."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()
        self._waiting.append((item, future))
        if self._worker is None or self._worker.done() or self._worker.get_loop() is not loop:
            # Scheduled, not run: requests that are ready in this turn of the loop join the batch.
            self._worker = loop.create_task(self._answer_waiting())
        return await future

    async def _answer_waiting(self) -> None:
        """Answer batches until nobody waits; the next submit starts anew."""
        while self._waiting:
            batch = [self._waiting.popleft() for _ in range(min(self.max_batch, len(self._waiting)))]
            batch = [(item, future) for item, future in batch if not future.done()]  # skip clients that left
            if batch:
                self.answer(batch)
            if self._waiting:
                await asyncio.sleep(0)  # more than max_batch waited: let the loop breathe between batches

    def answer(self, batch: list[tuple[Item, asyncio.Future[Answer]]]) -> None:
        self.batch_sizes.append(len(batch))
        try:
            answers = self.answer_batch([item for item, _ in batch])
            if len(answers) != len(batch):
                raise RuntimeError(f"answer_batch gave {len(answers)} answers for {len(batch)} items")
        except Exception as error:  # noqa: BLE001 - every caller of the batch gets the error, the server lives on
            answers = [error] * len(batch)
        for (_, future), answer in zip(batch, answers, strict=True):
            if isinstance(answer, Exception):
                future.set_exception(answer)
            else:
                future.set_result(answer)
