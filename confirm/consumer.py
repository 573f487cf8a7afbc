"""The flow's own consumer group on the alert stream (`okc:alerts:events`): every event the hook
receives reaches the flow as well as the alert workers, and neither waits for the other.

Reading never waits for handling: each entry read goes to its user's lane (alerts/lanes.py; the Okta
user the event is about), which handles that user's events in stream order while the consumer reads on. So a
burst's questions are asked side by side, an event that is slow to handle holds up only its user's,
and a user's events still meet the store in the order Okta wrote them. At most `concurrency` events
are handled at once (by default a whole read: a burst's questions come out together, before the
first answers' containment shares the process with the rest; what goes out to Slack and Okta at
once is bounded by their clients), and reading pauses while `max_in_flight` entries are read and
not yet handled (the memory bound).

An entry is acknowledged once the flow has handled it (or it is unreadable); one the flow failed on
stays pending and is taken over (XAUTOCLAIM) once idle `min_idle_ms`, by this consumer or another,
in a scan on start and every `reclaim_every_s`. An entry taken over while another consumer still
has it queued is handled twice, which changes nothing: the store opens or joins a question once per
event. The group starts at the end of the stream when created: events from before the flow was
switched on ask nobody.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import cast

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.exceptions import RedisError, ResponseError

from alerts.format import subject_user
from alerts.lanes import Lanes
from alerts.stream import STREAM_KEY
from oktaclient.models import LogEvent

log = logging.getLogger(__name__)

GROUP = "okc:confirm:workers"
_Entries = list[tuple[str, dict[str, str] | None]]  # None: trimmed from the stream while pending


@dataclass(frozen=True)
class _Entry:
    id: str
    event: LogEvent | None  # None: not a System Log event (acknowledged, skipped)

    @property
    def lane(self) -> str:
        """Whose events must keep their order: the user's; an event about nobody has a lane of its own."""
        subject = subject_user(self.event) if self.event is not None else None
        return f"user:{subject.id or subject.alternateId}" if subject is not None else f"entry:{self.id}"

    @staticmethod
    def id_of(entry: _Entry) -> str:
        return entry.id


class EventConsumer:
    def __init__(
        self,
        redis: aioredis.Redis,
        handle: Callable[[LogEvent], Awaitable[None]],
        consumer_name: str,
        *,
        stream: str = STREAM_KEY,
        batch_size: int = 50,
        max_in_flight: int = 500,
        concurrency: int = 50,
        block_ms: int = 2000,
        min_idle_ms: int = 60_000,
        reclaim_every_s: float = 30.0,
    ) -> None:
        """`block_ms`: how long a read waits for new entries, below the Redis client's socket timeout."""
        if max_in_flight < 1 or concurrency < 1:
            raise ValueError("max_in_flight and concurrency must be at least 1")
        self._redis = redis
        self._handle = handle
        self.consumer = consumer_name
        self.stream = stream
        self.batch_size = batch_size
        self.max_in_flight = max_in_flight
        self.concurrency = concurrency
        self.block_ms = block_ms
        self.min_idle_ms = min_idle_ms
        self.reclaim_every_s = reclaim_every_s
        self._reclaim_cursor = "0-0"
        self._next_reclaim = 0.0  # monotonic time of the next take-over scan; 0: at the first read

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self.stream, GROUP, id="$", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self) -> None:
        """Reads entries into the lanes until cancelled (which cuts the lanes off too: what they had
        not acknowledged is taken over once idle); a Redis outage is waited out."""
        async with asyncio.TaskGroup() as tasks:
            lanes = Lanes(
                tasks, self._handled, entry_id=_Entry.id_of, concurrency=self.concurrency, limit=self.max_in_flight,
                name="was-this-you lane",
            )  # fmt: skip
            while True:
                try:
                    room = await lanes.wait_for_room()
                    for entry_id, fields in await self._fetch(min(room, self.batch_size), lanes.queued):
                        entry = _Entry(entry_id, _event(entry_id, fields))
                        lanes.add(entry.lane, entry)
                except (RedisError, OSError) as exc:
                    log.warning("was-this-you consumer %s: Redis unavailable (%s)", self.consumer, type(exc).__name__)
                    await asyncio.sleep(1.0)

    async def _handled(self, _lane: str, entries: list[_Entry]) -> None:
        """Hands the event (a lane's round is one) to the flow and acknowledges it; a failure leaves
        it pending (taken over once idle). Never raises: a lane outlives its events."""
        (entry,) = entries
        if entry.event is not None:
            try:
                await self._handle(entry.event)
            except Exception:
                log.exception("was-this-you: event %s not handled yet", entry.event.uuid)
                return
        try:
            await self._redis.xack(self.stream, GROUP, entry.id)
        except (RedisError, OSError) as exc:  # handled: the retry finds the event's question and changes nothing
            log.warning("was-this-you: entry %s handled, not acknowledged yet (%s)", entry.id, type(exc).__name__)

    async def _fetch(self, limit: int, queued: Callable[[str], bool]) -> list[tuple[str, dict[str, str]]]:
        """Up to `limit` entries: idle ones to take over if a scan is due (not those `queued` here
        already), else new ones."""
        idle = [(entry_id, fields) for entry_id, fields in await self._take_over_idle(limit) if not queued(entry_id)]
        return idle or await self._read_new(limit)

    async def _take_over_idle(self, limit: int) -> list[tuple[str, dict[str, str]]]:
        if self._reclaim_cursor == "0-0" and time.monotonic() < self._next_reclaim:
            return []
        reply = await self._redis.xautoclaim(
            self.stream, GROUP, self.consumer, self.min_idle_ms, self._reclaim_cursor, count=limit
        )
        self._reclaim_cursor = str(reply[0])
        if self._reclaim_cursor == "0-0":  # scan complete: the next one is due in reclaim_every_s
            self._next_reclaim = time.monotonic() + self.reclaim_every_s
        claimed = cast(_Entries, reply[1])
        trimmed = [entry_id for entry_id, fields in claimed if not fields]
        if trimmed:  # gone from the stream: nothing left to handle (Redis 7 drops them itself)
            await self._redis.xack(self.stream, GROUP, *trimmed)
        return [(entry_id, fields) for entry_id, fields in claimed if fields]

    async def _read_new(self, limit: int) -> list[tuple[str, dict[str, str]]]:
        reply = await self._redis.xreadgroup(
            GROUP, self.consumer, {self.stream: ">"}, count=limit, block=self.block_ms or None
        )
        streams = cast(list[tuple[str, list[tuple[str, dict[str, str]]]]], reply or [])
        return [entry for _, entries in streams for entry in entries]


def _event(entry_id: str, fields: dict[str, str]) -> LogEvent | None:
    try:
        return LogEvent.model_validate_json(fields.get("event") or "")
    except ValidationError:
        log.error("alert stream entry %s is not a System Log event; skipped", entry_id)
        return None
