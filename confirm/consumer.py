"""The flow's own consumer group on the alert stream (`okc:alerts:events`): every event the hook
receives reaches the flow as well as the alert workers, and neither waits for the other.

An entry is acknowledged once the flow has handled it (or it is unreadable); one the flow failed on
stays pending and is taken over (XAUTOCLAIM) once idle `min_idle_ms`, by this consumer or another.
The group starts at the end of the stream when created: events from before the flow was switched on
ask nobody.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import cast

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.exceptions import RedisError, ResponseError

from alerts.stream import STREAM_KEY
from oktaclient.models import LogEvent

log = logging.getLogger(__name__)

GROUP = "okc:confirm:workers"
_Entries = list[tuple[str, dict[str, str]]]


class EventConsumer:
    def __init__(
        self,
        redis: aioredis.Redis,
        handle: Callable[[LogEvent], Awaitable[None]],
        consumer_name: str,
        *,
        stream: str = STREAM_KEY,
        batch_size: int = 50,
        block_ms: int = 2000,
        min_idle_ms: int = 60_000,
        concurrency: int = 16,
    ) -> None:
        self._redis = redis
        self._handle = handle
        self.consumer = consumer_name
        self.stream = stream
        self.batch_size = batch_size
        self.block_ms = block_ms
        self.min_idle_ms = min_idle_ms
        self.concurrency = concurrency

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self.stream, GROUP, id="$", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self) -> None:
        """Handles entries until cancelled; a Redis outage is waited out."""
        while True:
            try:
                await self.process_once()
            except (RedisError, OSError) as exc:
                log.warning("was-this-you consumer %s: Redis unavailable (%s)", self.consumer, type(exc).__name__)
                await asyncio.sleep(1.0)

    async def process_once(self, block_ms: int | None = None) -> int:
        """One batch: idle entries to take over, else new ones (waiting up to `block_ms`). Returns its size."""
        entries = await self._take_over_idle() or await self._read_new(self.block_ms if block_ms is None else block_ms)
        # The batch's events side by side (a burst's questions do not wait for one another); the
        # store's scripts keep one question per user whatever the order.
        slots = asyncio.Semaphore(self.concurrency)

        async def one(entry_id: str, fields: dict[str, str]) -> None:
            async with slots:
                if await self._handled(entry_id, fields):
                    await self._redis.xack(self.stream, GROUP, entry_id)

        await asyncio.gather(*(one(entry_id, fields) for entry_id, fields in entries))
        return len(entries)

    async def _handled(self, entry_id: str, fields: dict[str, str]) -> bool:
        try:
            event = LogEvent.model_validate_json(fields.get("event") or "")
        except ValidationError:
            log.error("alert stream entry %s is not a System Log event; skipped", entry_id)
            return True
        try:
            await self._handle(event)
        except Exception:  # stays pending: taken over once idle
            log.exception("was-this-you: event %s not handled yet", event.uuid)
            return False
        return True

    async def _take_over_idle(self) -> _Entries:
        reply = await self._redis.xautoclaim(
            self.stream, GROUP, self.consumer, self.min_idle_ms, "0-0", count=self.batch_size
        )
        return [(entry_id, fields) for entry_id, fields in cast(_Entries, reply[1]) if fields]

    async def _read_new(self, block_ms: int) -> _Entries:
        reply = await self._redis.xreadgroup(
            GROUP, self.consumer, {self.stream: ">"}, count=self.batch_size, block=block_ms or None
        )
        streams = cast(list[tuple[str, _Entries]], reply or [])
        return [entry for _, entries in streams for entry in entries]
