"""AfterAck: handlers start once a burst of acks is out, a bounded number at a time, and a stopping
server lets them finish, or drops or cuts them in bounded time with a word to each person."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest

from bot.after_ack import QUIET_S, AfterAck


async def _yield_a_few_times() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_work_waits_for_a_quiet_moment_then_runs_within_its_bound() -> None:
    after_ack = AfterAck(limit=2)
    loop = asyncio.get_running_loop()
    started: list[float] = []
    running = peak = 0
    release, two_started = asyncio.Event(), asyncio.Event()

    async def handler() -> None:
        nonlocal running, peak
        started.append(loop.time())
        if len(started) == 2:
            two_started.set()
        running += 1
        peak = max(peak, running)
        await release.wait()
        running -= 1

    first = loop.time()
    for _ in range(5):
        after_ack.start(handler())
        await _yield_a_few_times()  # the loop turns, as it does between acks
    assert started == []  # nothing started while commands kept coming

    await asyncio.wait_for(two_started.wait(), 5)
    assert min(started) - first >= QUIET_S
    await _yield_a_few_times()
    assert len(started) == 2  # bounded: the first two hold both slots

    release.set()
    await after_ack.drain(timeout=5)
    assert len(started) == 5 and peak == 2


async def test_unbounded_work_does_not_queue_behind_bounded_work() -> None:
    after_ack = AfterAck(limit=1)
    blocked, prompt = asyncio.Event(), asyncio.Event()

    async def slow() -> None:
        await blocked.wait()

    async def push_wait() -> None:
        prompt.set()

    after_ack.start(slow())
    after_ack.start(push_wait(), bounded=False)
    await asyncio.wait_for(prompt.wait(), 5)
    blocked.set()
    await after_ack.drain(timeout=5)


async def test_drain_starts_held_work_at_once_and_cancels_what_outlives_it(caplog: pytest.LogCaptureFixture) -> None:
    after_ack = AfterAck()
    finished, cancelled = asyncio.Event(), asyncio.Event()

    async def quick() -> None:
        finished.set()

    async def stuck() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    after_ack.start(quick())
    after_ack.start(stuck())
    with caplog.at_level(logging.WARNING, logger="bot.after_ack"):
        await after_ack.drain(timeout=0.2)
    assert finished.is_set() and cancelled.is_set()
    assert "0 handler(s) not started were dropped; 1 still running" in caplog.text


async def test_drain_drops_work_that_has_not_started_by_then_and_takes_nothing_new() -> None:
    after_ack = AfterAck(limit=1)
    release, running, second_dropped = asyncio.Event(), asyncio.Event(), asyncio.Event()
    ran: list[str] = []
    told: list[str] = []

    async def holds_the_slot() -> None:
        running.set()
        await release.wait()
        ran.append("first")

    async def queued(name: str) -> None:
        ran.append(name)

    def tell(name: str) -> Callable[[], Awaitable[None]]:
        async def dropped() -> None:
            told.append(name)
            if name == "second":
                second_dropped.set()

        return dropped

    after_ack.start(holds_the_slot(), dropped=tell("first"))
    after_ack.start(queued("second"), dropped=tell("second"))
    after_ack.start(queued("unbounded"), bounded=False, dropped=tell("unbounded"))
    await asyncio.wait_for(running.wait(), 5)

    draining = asyncio.create_task(after_ack.drain(5, start_within=0.05))
    await asyncio.wait_for(second_dropped.wait(), 5)  # the queued one, once start_within is up
    after_ack.start(queued("late"), dropped=tell("late"))  # acked while stopping: not taken
    release.set()
    await draining
    assert ran == ["unbounded", "first"] and told == ["second", "late"]
