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
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)

CONCURRENT_HANDLERS = 16
QUIET_S = 0.02
MAX_DEFER_S = 0.5


class AfterAck:
    def __init__(self, limit: int = CONCURRENT_HANDLERS) -> None:
        self._slots = asyncio.Semaphore(limit)
        # Work held back until the quiet moment: one timer for all of it, re-armed by each start,
        # costs an ack less than a task per command waking to check the clock.
        self._held: list[tuple[Coroutine[Any, Any, None], bool]] = []
        self._oldest = 0.0  # when the oldest held work came, on the loop's clock
        self._release_timer: asyncio.TimerHandle | None = None
        self._running: set[asyncio.Task[None]] = set()  # strong references: the loop keeps only weak ones

    def start(self, work: Coroutine[Any, Any, None], *, bounded: bool = True) -> None:
        """Run `work` soon, after the caller's ack is out. `work` reports its own failures."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        if not self._held:
            self._oldest = now
        self._held.append((work, bounded))
        if self._release_timer is not None:
            self._release_timer.cancel()
        self._release_timer = loop.call_at(min(now + QUIET_S, self._oldest + MAX_DEFER_S), self._release)

    def _release(self) -> None:
        self._release_timer = None
        held, self._held = self._held, []
        for work, bounded in held:
            task = asyncio.get_running_loop().create_task(work if not bounded else self._bounded(work))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _bounded(self, work: Coroutine[Any, Any, None]) -> None:
        async with self._slots:
            await work

    async def drain(self, timeout: float) -> None:
        """On shutdown: let the work started so far finish (every request it serves was acked), for
        `timeout` at most."""
        if self._release_timer is not None:
            self._release_timer.cancel()
            self._release()
        if not self._running:
            return
        _, pending = await asyncio.wait(set(self._running), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("shutdown: %d handler(s) still running after %.0f s were cancelled", len(pending), timeout)
            await asyncio.wait(pending)
