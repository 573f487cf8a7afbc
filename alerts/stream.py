"""The alert stream: Okta System Log events waiting to be posted, one Stream entry per event.

Redis keys owned here:
- `okc:alerts:events` (Stream): entries `uuid=<event uuid> event=<LogEvent JSON>`, appended by the
  hook receiver and the fallback poller, read by the workers' consumer group. Capped with
  `MAXLEN ~` so an outage of Slack cannot grow it without bound; the cap is far above any backlog
  the workers should ever have (an entry trimmed while still pending is acknowledged and skipped).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

STREAM_KEY = "okc:alerts:events"
DEFAULT_MAXLEN = 1_000_000


@dataclass(frozen=True)
class RawEvent:
    """An event as it travels through the stream: its uuid and its JSON, every field Okta sent."""

    uuid: str
    json: str


# One EVALSHA per batch: atomic like MULTI/EXEC (a delivery is stored whole or not at all), but one
# command to encode and one reply to parse instead of two per event, which is what bounds ingest
# (bench/bench_hooks.py). KEYS[2], when given, is a cursor set in the same step (the poller's).
_APPEND = """
for i = 3, #ARGV, 2 do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'uuid', ARGV[i], 'event', ARGV[i + 1])
end
if KEYS[2] then
  redis.call('SET', KEYS[2], ARGV[2])
end
return (#ARGV - 2) / 2
"""


class StreamWriter:
    def __init__(self, redis: aioredis.Redis, *, stream: str = STREAM_KEY, maxlen: int = DEFAULT_MAXLEN) -> None:
        self._stream = stream
        self._maxlen = maxlen
        self._append = redis.register_script(_APPEND)

    async def append(self, events: Sequence[RawEvent], *, cursor: tuple[str, str] | None = None) -> None:
        """Appends all events in one round trip, atomically; `cursor` = (key, value) is set with them."""
        if not events and cursor is None:
            return
        keys = [self._stream] if cursor is None else [self._stream, cursor[0]]
        args: list[str | int] = [self._maxlen, "" if cursor is None else cursor[1]]
        for event in events:
            args += [event.uuid, event.json]
        await self._append(keys=keys, args=args)


@dataclass(frozen=True)
class StreamEntry:
    id: str
    event_json: str | None  # None: not an entry of ours

    @classmethod
    def parse(cls, entry_id: str, fields: dict[str, Any]) -> StreamEntry:
        return cls(entry_id, fields.get("event"))
