"""Dynamic batching: together when they wait together, in order, errors to the right caller only."""

from __future__ import annotations

import asyncio

import pytest

from digitlab.web.app import MicroBatcher


def squares_or_refusal(numbers: list[int]) -> list[int | Exception]:
    return [ValueError(f"no negatives: {n}") if n < 0 else n * n for n in numbers]


def run(coroutine):
    return asyncio.run(coroutine)


def recorded_batcher() -> tuple[MicroBatcher, list[list[int]]]:
    """A batcher of squares that records each batch it was asked to answer."""
    seen: list[list[int]] = []

    def answer(numbers):
        seen.append(list(numbers))
        return squares_or_refusal(numbers)

    return MicroBatcher(answer), seen


def test_requests_that_wait_together_are_answered_in_one_batch_in_order():
    batcher, seen = recorded_batcher()

    async def scenario():
        together = await asyncio.gather(*(batcher.submit(n) for n in range(5)))
        alone = await batcher.submit(7)
        return together, alone

    assert run(scenario()) == ([0, 1, 4, 9, 16], 49)
    assert seen == [[0, 1, 2, 3, 4], [7]]
    assert list(batcher.batch_sizes) == [5, 1]


def test_a_lone_request_is_answered_without_waiting_for_company():
    batcher = MicroBatcher(squares_or_refusal)

    async def scenario():
        return await asyncio.wait_for(batcher.submit(3), timeout=1)

    assert run(scenario()) == 9


def test_an_error_for_one_item_reaches_its_caller_alone():
    batcher = MicroBatcher(squares_or_refusal)

    async def scenario():
        return await asyncio.gather(*(batcher.submit(n) for n in (2, -1, 3)), return_exceptions=True)

    good, bad, other = run(scenario())
    assert (good, other) == (4, 9)
    assert isinstance(bad, ValueError) and "no negatives: -1" in str(bad)


def test_a_failing_batch_fails_its_callers_and_the_next_batch_works():
    calls = []

    def flaky(numbers):
        calls.append(list(numbers))
        if len(calls) == 1:
            raise RuntimeError("model exploded")
        return squares_or_refusal(numbers)

    batcher = MicroBatcher(flaky)

    async def scenario():
        first = await asyncio.gather(batcher.submit(1), batcher.submit(2), return_exceptions=True)
        return first, await batcher.submit(4)

    first, later = run(scenario())
    assert all(isinstance(outcome, RuntimeError) and "exploded" in str(outcome) for outcome in first)
    assert later == 16


def test_a_wrong_number_of_answers_is_an_error_not_a_silent_mismatch():
    batcher = MicroBatcher(lambda numbers: [0])

    async def scenario():
        return await asyncio.gather(batcher.submit(1), batcher.submit(2), return_exceptions=True)

    assert all(isinstance(outcome, RuntimeError) and "1 answers for 2" in str(outcome) for outcome in run(scenario()))


def test_max_batch_splits_a_crowd_into_several_batches():
    batcher = MicroBatcher(squares_or_refusal, max_batch=3)

    async def scenario():
        return await asyncio.gather(*(batcher.submit(n) for n in range(7)))

    assert run(scenario()) == [n * n for n in range(7)]
    assert list(batcher.batch_sizes) == [3, 3, 1]


def test_a_caller_that_left_is_not_computed():
    batcher, seen = recorded_batcher()

    async def scenario():
        leaving = asyncio.ensure_future(batcher.submit(100))
        staying = asyncio.ensure_future(batcher.submit(5))
        await asyncio.sleep(0)  # both are queued now
        leaving.cancel()
        return await staying

    assert run(scenario()) == 25
    assert seen == [[5]]


def test_the_batcher_survives_a_new_event_loop():
    batcher = MicroBatcher(squares_or_refusal)
    assert run(batcher.submit(2)) == 4
    assert run(batcher.submit(3)) == 9  # a second asyncio.run: another loop, as when a test server restarts


def test_max_batch_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        MicroBatcher(squares_or_refusal, max_batch=0)
