"""Alert workers: read the alert stream in a consumer group and post each event to its channel once.

A worker acknowledges an entry only when its event is in Slack (posted, or counted in a digest
whose message is up to date), dropped by the router, or unreadable. Anything else stays pending:
entries left by a dead worker (or by a failed post) are taken over with XAUTOCLAIM once idle for
`min_idle_ms`, on start and every `reclaim_every_s`. Exactly-once posting is the ledger's job
(alerts/publisher.py); a batch's entries for one channel are handled in order, channels in parallel.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.exceptions import RedisError, ResponseError

from alerts.digest import Digests, DigestSettings
from alerts.format import AlertKind, actor_label, classify, client_ip, render_event
from alerts.ledger import DEFAULT_TTL_S, ClaimState, Ledger
from alerts.publisher import Publisher
from alerts.sink import Sink
from alerts.stages import Stage, count
from alerts.stream import STREAM_KEY, StreamEntry
from oktaclient.models import LogEvent

log = logging.getLogger(__name__)

DEFAULT_GROUP = "okc:alerts:workers"
Router = Callable[[LogEvent], str | None]
T = TypeVar("T")

# One round trip: take over idle entries and fetch them; entries trimmed from the stream while
# pending have nothing left to deliver and are acknowledged (on Redis 6.2 XAUTOCLAIM without
# JUSTID returns them without their ids).
_RECLAIM = """
local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], 'COUNT', ARGV[5], 'JUSTID')
local entries = {}
for _, id in ipairs(claimed[2]) do
  local found = redis.call('XRANGE', KEYS[1], id, id)
  if #found == 0 then
    redis.call('XACK', KEYS[1], ARGV[1], id)
  else
    table.insert(entries, found[1])
  end
end
return {claimed[1], entries}
"""


@dataclass(frozen=True)
class _Digested:
    kind: AlertKind
    digest_id: str


_ACK = "ack"
_LEAVE = "leave"  # stays pending: retried after min_idle_ms (by this worker or another)
_Outcome = _Digested | str


def _entries(raw: Sequence[tuple[str, list[str]]]) -> list[StreamEntry]:
    """Entries as Lua returns them: [id, [field, value, ...]]."""
    return [StreamEntry.parse(entry_id, dict(zip(flat[::2], flat[1::2], strict=True))) for entry_id, flat in raw]


class AlertWorker:
    def __init__(
        self,
        redis: aioredis.Redis,
        sink: Sink,
        router: Router,
        consumer_name: str,
        group: str = DEFAULT_GROUP,
        *,
        org_url: str,
        digest: DigestSettings | None = None,
        stream: str = STREAM_KEY,
        batch_size: int = 20,
        block_ms: int = 5000,
        min_idle_ms: int = 60_000,
        reclaim_every_s: float = 30.0,
        post_timeout_s: float = 20.0,
        ledger_ttl_s: int = DEFAULT_TTL_S,
    ) -> None:
        """`min_idle_ms`: how long an entry (and a claim on its message) may sit with a consumer before
        others presume it dead; keep it above the time a batch takes. Each post is cut off at
        `post_timeout_s`, which must be below it, so that a live but slow worker never overlaps a taker
        (0 presumes every other consumer dead at once: for tests and manual recovery)."""
        self._redis = redis
        self._router = router
        self._org_url = org_url.rstrip("/")
        self.consumer = consumer_name
        self.group = group
        self.stream = stream
        self.batch_size = batch_size
        self.block_ms = block_ms
        self.min_idle_ms = min_idle_ms
        self.reclaim_every_s = reclaim_every_s
        ledger = Ledger(redis, stale_ms=min_idle_ms, ttl_s=ledger_ttl_s)
        # Unique per incarnation: a restarted worker with the same consumer name is a different owner.
        owner = f"{consumer_name}:{secrets.token_hex(4)}"
        self._publisher = Publisher(ledger, sink, owner, post_timeout_s=post_timeout_s)
        self._digests = Digests(redis, digest, ledger) if digest is not None else None
        self._reclaim = redis.register_script(_RECLAIM)
        self._reclaim_cursor = "0-0"
        self._next_reclaim = 0.0  # monotonic time of the next reclaim scan; 0: at the first batch
        self._group_ready = False
        self._stopping = asyncio.Event()

    async def ensure_group(self) -> None:
        """Creates the consumer group (and the stream) if missing; a new group starts at the stream's beginning."""
        if self._group_ready:
            return
        try:
            await self._redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def stop(self) -> None:
        """Makes run() return once the batch at hand is handled; a wait for new entries ends at once.
        (Cancelling run() is safe too, but a batch cut off mid-post waits `min_idle_ms` to be taken over.)"""
        self._stopping.set()

    async def run(self) -> None:
        """Processes batches until stop() or cancellation; a Redis outage is waited out, not fatal."""
        while not self._stopping.is_set():
            try:
                await self.process_once()
            except (RedisError, OSError) as exc:
                log.warning("alert worker %s: Redis unavailable (%s); retrying", self.consumer, type(exc).__name__)
                self._group_ready = False  # a Redis that lost its data lost the group too
                await self._unless_stopped(asyncio.sleep(1.0))

    async def _unless_stopped(self, work: Awaitable[T]) -> T | None:
        """`work`'s result, or None when stop() comes first. `work` is then cancelled: an XREADGROUP cut
        short may leave the entries Redis gave it pending, for a reclaim to take over; nothing is lost."""
        task, stopped = asyncio.ensure_future(work), asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait((task, stopped), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pending in (task, stopped):
                pending.cancel()  # a no-op on what is done
            await asyncio.gather(task, stopped, return_exceptions=True)
        return task.result() if not task.cancelled() else None

    async def process_once(self, block_ms: int | None = None) -> int:
        """Handles one batch: idle entries to take over if a reclaim scan is due, else new entries
        (waiting up to `block_ms`, default the worker's; 0 does not wait). Returns the batch size."""
        await self.ensure_group()
        entries = await self._take_over_idle()
        if not entries:
            entries = await self._read_new(self.block_ms if block_ms is None else block_ms)
        await self._handle(entries)
        return len(entries)

    async def _take_over_idle(self) -> list[StreamEntry]:
        if self._reclaim_cursor == "0-0" and time.monotonic() < self._next_reclaim:
            return []
        args: list[str | int] = [self.group, self.consumer, self.min_idle_ms, self._reclaim_cursor, self.batch_size]
        reply = await self._reclaim(keys=[self.stream], args=args)
        cursor, raw = cast(tuple[str, list[tuple[str, list[str]]]], reply)
        self._reclaim_cursor = cursor
        if cursor == "0-0":  # scan complete: the next one is due in reclaim_every_s
            self._next_reclaim = time.monotonic() + self.reclaim_every_s
        return _entries(raw)

    async def _read_new(self, block_ms: int) -> list[StreamEntry]:
        read = self._redis.xreadgroup(
            self.group, self.consumer, {self.stream: ">"}, count=self.batch_size, block=block_ms or None
        )
        reply = await self._unless_stopped(read)
        streams = cast(list[tuple[str, list[tuple[str, dict[str, str]]]]], reply or [])
        return [StreamEntry.parse(entry_id, fields) for _, messages in streams for entry_id, fields in messages]

    async def _handle(self, entries: list[StreamEntry]) -> None:
        acks: list[str] = []
        by_channel: dict[str, list[tuple[str, LogEvent]]] = {}
        for entry in entries:
            event = self._event(entry)
            if event is None:
                acks.append(entry.id)
                continue
            try:
                channel = self._router(event)
            except Exception:  # a routing bug must not lose the event: leave it pending
                log.exception("alert router failed on event %s", event.uuid)
                continue
            if channel is None:
                acks.append(entry.id)  # dropped by policy
                count(Stage.DROPPED)
            else:
                by_channel.setdefault(channel, []).append((entry.id, event))
        for done in await asyncio.gather(*(self._handle_channel(c, items) for c, items in by_channel.items())):
            acks.extend(done)
        if acks:
            await self._redis.xack(self.stream, self.group, *acks)

    @staticmethod
    def _event(entry: StreamEntry) -> LogEvent | None:
        if entry.event_json is None:
            log.error("alert stream entry %s has no event; skipping it", entry.id)
            return None
        try:
            return LogEvent.model_validate_json(entry.event_json)
        except ValidationError:
            log.error("alert stream entry %s is not a System Log event; skipping it", entry.id)
            return None

    async def _handle_channel(self, channel: str, items: list[tuple[str, LogEvent]]) -> list[str]:
        """The entries of one channel, in stream order; returns the ids to acknowledge."""
        done: list[str] = []
        digested: dict[_Digested, list[str]] = {}
        for entry_id, event in items:
            try:
                outcome = await self._handle_event(channel, event)
            except Exception:  # Slack or Redis trouble: the entry stays pending and is retried
                log.exception("alert %s for %s not delivered yet", event.uuid, channel)
                continue
            if isinstance(outcome, _Digested):
                digested.setdefault(outcome, []).append(entry_id)
            elif outcome == _ACK:
                done.append(entry_id)
        # One digest update per batch, not per event; its events are acknowledged once it shows them.
        for ref, entry_ids in digested.items():
            assert self._digests is not None  # only a worker with digests has _Digested outcomes
            try:
                await self._digests.publish(self._publisher, channel, ref.kind, ref.digest_id)
            except Exception:
                log.exception("digest %s for %s not updated yet", ref.digest_id, channel)
                continue
            done.extend(entry_ids)
        return done

    async def _handle_event(self, channel: str, event: LogEvent) -> _Outcome:
        publisher, kind = self._publisher, classify(event)
        claim = await publisher.claim(event.uuid)
        if claim.state is ClaimState.POSTED:
            count(Stage.DEDUPLICATED)
            return _ACK  # a duplicate delivery
        if claim.state is ClaimState.DIGESTED:  # counted; make sure the digest shows it (if we do digests)
            count(Stage.DEDUPLICATED)
            return _Digested(kind, claim.digest) if self._digests is not None else _ACK
        if claim.state is ClaimState.BUSY:
            return _LEAVE
        if await publisher.recover(event.uuid, claim, channel) is not None:
            count(Stage.POSTED)  # by a worker that died before it could count it
            return _ACK
        if self._digests is not None and self._digests.digestible(kind):
            admission = await self._digests.admit(
                channel, kind, event.uuid, publisher.owner, actor_label(event), client_ip(event)
            )
            if admission.lost:
                return _LEAVE
            if admission.digest_id is not None:
                count(Stage.DIGESTED)
                return _Digested(kind, admission.digest_id)
        await publisher.post(event.uuid, channel, render_event(event, self._org_url))
        count(Stage.POSTED)
        return _ACK
