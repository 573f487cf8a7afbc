"""The flow's background work as one async context manager, for the bot's `serve`: the consumer of
the alert stream and the sweeper (deadlines, and work a dead replica left), each restarted after a
failure. Run one per replica: the store's scripts keep every question's steps to one worker."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self

import redis.asyncio as aioredis

from confirm.consumer import EventConsumer
from confirm.flow import WasThisYouFlow

log = logging.getLogger(__name__)


class WasThisYouService:
    def __init__(
        self,
        redis: aioredis.Redis,
        flow: WasThisYouFlow,
        *,
        consumer_name: str,
        sweep_interval_s: float = 5.0,
        restart_delay_s: float = 1.0,
    ) -> None:
        self.flow = flow
        self.consumer = EventConsumer(redis, flow.on_event, consumer_name)
        self._sweep_interval_s = sweep_interval_s
        self._restart_delay_s = restart_delay_s
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Self:
        await self.consumer.ensure_group()  # before the first event: a group starts at the stream's end
        self._tasks = [
            asyncio.create_task(self._supervise("consumer", self.consumer.run)),
            asyncio.create_task(self._supervise("sweeper", lambda: self.flow.run_sweeper(self._sweep_interval_s))),
        ]
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.flow.drain(timeout=10.0)
        late = set(self._tasks)
        while late:
            # Again until it takes: Python 3.11's asyncio.wait_for, with which redis-py sends each command,
            # drops a cancel that lands as the send completes (as in alerts/service.py).
            for task in late:
                task.cancel()
            _, late = await asyncio.wait(late, timeout=1.0)
        self._tasks.clear()

    async def _supervise(self, name: str, start: Callable[[], Awaitable[None]]) -> None:
        while True:
            try:
                await start()
            except Exception:
                log.exception("was-this-you %s failed; restarting it in %.0f s", name, self._restart_delay_s)
            await asyncio.sleep(self._restart_delay_s)
