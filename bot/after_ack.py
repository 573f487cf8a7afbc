"""Where listeners' slow work runs: in tasks of its own, started once the listener has acked.

Bolt runs with `process_before_response=True`, so it answers Slack the moment a listener
returns; a listener acks, hands its work to `AfterAck.start` and returns. (With Bolt's default,
each request instead polls every 10 ms for its ack, which under a burst costs more than the
ack itself: bench/bench_ack.py.)

Work waits until no listener has started any for QUIET_S, so the acks of a burst of commands are
not kept waiting behind the Okta and Redis work of the first ones; a steady stream delays it by
MAX_DEFER_S at most. Bounded work runs `limit` at a time, inside Okta's concurrency limit and
Redis' connection pool; work that waits on a person (an Okta Verify push, a modal's 3-second
trigger) is started unbounded so it never queues behind the rest.

On shutdown (`drain`) nothing new is taken; work may still start for a while, then what has not
started is dropped (its `dropped` callback tells the person nothing was done), and what still runs
at the end is cancelled (the work itself tells the person, and an approval's execution hands its
lease back: approvals/lease.py).
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, cast

log = logging.getLogger(__name__)

CONCURRENT_HANDLERS = 16
QUIET_S = 0.02
MAX_DEFER_S = 0.5


LAST_WORDS_S = 1.0  # for cut work to tell the person, once cancelled


@dataclass(frozen=True)
class _Work:
    work: Coroutine[Any, Any, None]
    bounded: bool
    dropped: Callable[[], Awaitable[None]] | None


class AfterAck:
    def __init__(self, limit: int = CONCURRENT_HANDLERS) -> None:
        self._slots = asyncio.Semaphore(limit)
        # Work held back until the quiet moment: one timer for all of it, re-armed by each start,
        # costs an ack less than a task per command waking to check the clock.
        self._held: list[_Work] = []
        self._oldest = 0.0  # when the oldest held work came, on the loop's clock
        self._release_timer: asyncio.TimerHandle | None = None
        self._running: set[asyncio.Task[None]] = set()  # strong references: the loop keeps only weak ones
        self._waiting: set[asyncio.Task[None]] = set()  # bounded work not started yet: waiting for a slot
        self._stopping = False

    def start(
        self,
        work: Coroutine[Any, Any, None],
        *,
        bounded: bool = True,
        dropped: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Run `work` soon, after the caller's ack is out. `work` reports its own failures, and
        its own cancellation; `dropped` tells the person when it is never started (shutdown)."""
        item = _Work(work, bounded, dropped)
        if self._stopping:  # acked while the process stops (Socket Mode delivers until it is closed)
            self._spawn(self._drop(item))
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        if not self._held:
            self._oldest = now
        self._held.append(item)
        if self._release_timer is not None:
            self._release_timer.cancel()
        self._release_timer = loop.call_at(min(now + QUIET_S, self._oldest + MAX_DEFER_S), self._release)

    def _release(self) -> None:
        self._release_timer = None
        held, self._held = self._held, []
        for item in held:
            task = self._spawn(self._bounded(item) if item.bounded else item.work)
            if item.bounded:
                self._waiting.add(task)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return task

    async def _bounded(self, item: _Work) -> None:
        try:
            await self._slots.acquire()
        except asyncio.CancelledError:  # the process stops before this work got a slot
            await self._drop(item)
            raise
        finally:
            self._waiting.discard(cast(asyncio.Task[None], asyncio.current_task()))
        try:
            await item.work
        finally:
            self._slots.release()

    @staticmethod
    async def _drop(item: _Work) -> None:
        # Never started: nothing of it ran. The coroutines the listener made for it go with it,
        # unawaited on purpose, so Python's "never awaited" warning would be a false alarm.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            item.work.close()
        if item.dropped is not None:
            try:
                await item.dropped()
            except Exception:
                log.warning("could not tell the person their request was dropped", exc_info=True)

    async def drain(self, timeout: float, *, start_within: float | None = None) -> None:
        """On shutdown: take nothing new; let work start for `start_within` seconds (default: all
        of `timeout`) and drop what has not started then; cancel what still runs after `timeout`,
        and give it LAST_WORDS_S to say so."""
        self._stopping = True
        if self._release_timer is not None:
            self._release_timer.cancel()
            self._release()
        loop = asyncio.get_running_loop()
        finish_by = loop.time() + timeout
        await self._until(loop.time() + min(timeout, timeout if start_within is None else start_within))
        dropped = len(self._waiting)
        for task in self._waiting:
            task.cancel()
        await self._until(finish_by)
        cut = len(self._running)
        for task in list(self._running):
            task.cancel()
        await self._until(loop.time() + LAST_WORDS_S)
        if dropped or cut:
            log.warning(
                "shutdown: %d handler(s) not started were dropped; %d still running after %.1f s were cancelled",
                dropped, cut, timeout,
            )

    async def _until(self, deadline: float) -> None:
        """Wait until every task is done, or `deadline` (loop clock)."""
        if self._running:
            await asyncio.wait(set(self._running), timeout=max(0.0, deadline - asyncio.get_running_loop().time()))
