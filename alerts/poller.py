"""Fallback for orgs whose event hooks cannot reach the bot: poll the System Log into the alert stream.

Redis keys owned here:
- `okc:alerts:poll_cursor` (String): Okta's `after` cursor of the next poll. It is written in the
  same atomic step as the events it follows, so a crash can neither skip events nor append them twice;
  two pollers racing may append some twice, which the workers' ledger absorbs.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from alerts.stream import DEFAULT_MAXLEN, STREAM_KEY, RawEvent, StreamWriter
from oktaclient import OktaClient, OktaError

log = logging.getLogger(__name__)

CURSOR_KEY = "okc:alerts:poll_cursor"


class LogPoller:
    """`await poller.poll_once()` appends one page of new events; `await poller.run()` keeps polling."""

    def __init__(
        self,
        redis: aioredis.Redis,
        okta: OktaClient,
        *,
        filter: str | None = None,
        page_size: int = 100,
        stream: str = STREAM_KEY,
        maxlen: int = DEFAULT_MAXLEN,
    ) -> None:
        self._redis = redis
        self._okta = okta
        self._filter = filter
        self._page_size = page_size
        self._writer = StreamWriter(redis, stream=stream, maxlen=maxlen)

    async def poll_once(self) -> int:
        """Appends the next page; returns how many events it held (0: caught up)."""
        cursor = cast(str | None, await self._redis.get(CURSOR_KEY))
        # Without a cursor start from now: Okta's default (7 days back) would replay a week as alerts.
        since = None if cursor else datetime.now(UTC)
        page = await self._okta.poll_log_events(after=cursor, since=since, filter=self._filter, limit=self._page_size)
        events = [RawEvent(e.uuid, e.model_dump_json(by_alias=True, exclude_unset=True)) for e in page.items]
        await self._writer.append(events, cursor=None if page.after is None else (CURSOR_KEY, page.after))
        return len(events)

    async def run(self, interval_s: float = 30.0) -> None:
        """Drains what is new, then waits `interval_s`; until cancelled. Failures are retried next round."""
        while True:
            try:
                while await self.poll_once() == self._page_size:
                    pass
            except (OktaError, RedisError, OSError) as exc:
                log.warning("System Log poll failed (%s); retrying in %.0f s", type(exc).__name__, interval_s)
            await asyncio.sleep(interval_s)
