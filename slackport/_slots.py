"""Concurrent Web API calls, a few at a time, people first.

A call for a person (a reply, a DM, a modal with its 3-second trigger) takes the next free slot
before any channel announcement that waits, so a backlog of alerts or audit lines never delays an
answer someone is looking at.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from slackport._models import Priority


class PrioritySlots:
    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self._free = size
        self._waiting: list[tuple[Priority, int, asyncio.Future[None]]] = []
        self._order = itertools.count()  # first come, first served within a priority

    @asynccontextmanager
    async def take(self, priority: Priority) -> AsyncIterator[None]:
        if self._free and not self._waiting:
            self._free -= 1
        else:
            turn = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiting, (priority, next(self._order), turn))
            try:
                await turn
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():  # handed a slot just as it was cancelled
                    self._release()
                raise
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        while self._waiting:
            _, _, turn = heapq.heappop(self._waiting)
            if not turn.done():  # a waiter cancelled meanwhile is skipped
                turn.set_result(None)
                return
        self._free += 1
