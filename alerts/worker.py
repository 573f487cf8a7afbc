"""Alert workers: read the alert stream in a consumer group and post each event to its channel once.

A worker acknowledges an entry only when its event is in Slack (posted, or counted in a digest
whose message is up to date), dropped by the router, unreadable, or parked in the dead-letter stream
because Slack refused its message for good (alerts/deadletters.py). Anything else stays pending:
entries left by a dead worker (or by a failed post) are taken over with XAUTOCLAIM once idle for
`min_idle_ms`, on start and every `reclaim_every_s`; after each full scan, consumers gone for good
are removed from the group (alerts/consumers.py). Exactly-once posting is the ledger's job
(alerts/publisher.py).

Channels do not wait for each other: each entry read goes to its channel's lane (alerts/lanes.py), which
handles the channel's entries in stream order while the worker keeps reading, so a channel being
paced through a burst holds up only itself. Reading stops while `max_in_flight` entries are in the
lanes, and entries waiting there are kept looking fresh to the group, since they are not abandoned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.exceptions import RedisError, ResponseError

from alerts.consumers import IdleConsumers
from alerts.deadletters import DeadLetters, Parcel
from alerts.digest import Digests, DigestSettings
from alerts.format import AlertKind, actor_label, classify, client_ip, render_event
from alerts.lanes import Lanes
from alerts.ledger import DEFAULT_TTL_S, ClaimState, Ledger
from alerts.publisher import Publisher, Refused
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

# Sets the idle time (ARGV[3] ms) of the listed entries that are still pending with this consumer:
# 0 says "still being worked on", min_idle_ms hands them back for the next reclaim scan. Entries
# acknowledged meanwhile, or already taken over by another worker, are left alone.
_SET_IDLE = """
for i = 4, #ARGV do
  if #redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2]) == 1 then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'IDLE', ARGV[3], 'JUSTID')
  end
end
"""


@dataclass(frozen=True)
class _Digested:
    kind: AlertKind
    digest_id: str


_ACK = "ack"
_LEAVE = "leave"  # stays pending: retried after min_idle_ms (by this worker or another)
_Outcome = _Digested | str


@dataclass(frozen=True)
class _Item:
    """A stream entry in a lane: its id, its event, and the event's JSON as received (a dead letter keeps it)."""

    entry_id: str
    event: LogEvent
    json: str

    @property
    def parcel(self) -> Parcel:
        return Parcel(self.entry_id, self.event.uuid, self.json)

    @staticmethod
    def id_of(item: _Item) -> str:
        return item.entry_id


def _entries(raw: Sequence[tuple[str, list[str]]]) -> list[StreamEntry]:
    """Entries as Lua returns them: [id, [field, value, ...]]."""
    return [StreamEntry.parse(entry_id, dict(zip(flat[::2], flat[1::2], strict=True))) for entry_id, flat in raw]


async def _set_within(event: asyncio.Event, timeout: float) -> bool:
    """Whether `event` is set within `timeout` seconds."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)
    return event.is_set()


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
        max_in_flight: int = 500,
        block_ms: int = 2000,
        min_idle_ms: int = 60_000,
        reclaim_every_s: float = 30.0,
        post_timeout_s: float = 20.0,
        ledger_ttl_s: int = DEFAULT_TTL_S,
        forget_after_s: float = 3600.0,
    ) -> None:
        """`batch_size`: entries per read, and per lane round. `block_ms`: how long a read waits for new
        entries; keep it below the Redis client's socket timeout (redis-py's default is 5 s), which
        would cut the read off as a connection failure. `max_in_flight`: entries read and not yet
        handled, at most (the memory bound); room for a burst in one channel to be read past, so that
        the other channels' entries behind it are reached. `min_idle_ms`: how long an entry (and a claim
        on its message) may sit with a consumer, untouched, before others presume it dead; entries in
        the lanes are touched every third of it. Each post is cut off at `post_timeout_s`, which must be
        below it, so that a live but slow worker never overlaps a taker (0 presumes every other consumer
        dead at once: for tests and manual recovery). `forget_after_s`: how long another consumer of
        the group may sit idle, with nothing pending, before it is removed (alerts/consumers.py)."""
        if max_in_flight < batch_size:
            raise ValueError("max_in_flight must be at least batch_size")
        self._redis = redis
        self._router = router
        self._org_url = org_url.rstrip("/")
        self.consumer = consumer_name
        self.group = group
        self.stream = stream
        self.batch_size = batch_size
        self.max_in_flight = max_in_flight
        self.block_ms = block_ms
        self.min_idle_ms = min_idle_ms
        self.reclaim_every_s = reclaim_every_s
        ledger = Ledger(redis, stale_ms=min_idle_ms, ttl_s=ledger_ttl_s)
        # Unique per incarnation: a restarted worker with the same consumer name is a different owner.
        owner = f"{consumer_name}:{secrets.token_hex(4)}"
        self._publisher = Publisher(ledger, sink, owner, post_timeout_s=post_timeout_s)
        self._digests = Digests(redis, digest, ledger) if digest is not None else None
        self._dead_letters = DeadLetters(redis, stream=stream)
        self._idle_consumers = IdleConsumers(redis, stream, group, idle_ms=int(forget_after_s * 1000))
        self._reclaim = redis.register_script(_RECLAIM)
        self._set_idle_script = redis.register_script(_SET_IDLE)
        self._reclaim_cursor = "0-0"
        self._next_reclaim = 0.0  # monotonic time of the next reclaim scan; 0: at the first read
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
        """Makes run() stop reading at once and return when each lane has finished the round it has
        started; entries still queued are handed back (made idle, for the next reclaim scan to take).
        (Cancelling run() is safe too, but entries cut off wait `min_idle_ms` to be taken over.)"""
        self._stopping.set()

    async def run(self) -> None:
        """Reads entries into the lanes until stop() or cancellation; a Redis outage is waited out, not fatal."""
        async with self._lanes() as lanes:
            while not self._stopping.is_set():
                try:
                    room = await self._unless_stopped(lanes.wait_for_room())
                    if room:
                        entries = await self._fetch(min(room, self.batch_size), self.block_ms)
                        await self._ack(self._dispatch(lanes, entries))
                except (RedisError, OSError) as exc:
                    log.warning("alert worker %s: Redis unavailable (%s); retrying", self.consumer, type(exc).__name__)
                    self._group_ready = False  # a Redis that lost its data lost the group too
                    await self._unless_stopped(asyncio.sleep(1.0))
            await self._hand_back(lanes)

    async def process_once(self, block_ms: int | None = None) -> int:
        """Handles one batch and returns once it is handled: idle entries to take over if a reclaim scan
        is due, else new entries (waiting up to `block_ms`, default the worker's; 0 does not wait).
        Returns the batch size."""
        entries = await self._fetch(self.batch_size, self.block_ms if block_ms is None else block_ms)
        async with self._lanes() as lanes:
            settled = self._dispatch(lanes, entries)
        await self._ack(settled)
        return len(entries)

    @contextlib.asynccontextmanager
    async def _lanes(self) -> AsyncIterator[Lanes[_Item]]:
        """Lanes (kept fresh) that are waited for on leaving the block, and cancelled if it is cut off."""
        async with asyncio.TaskGroup() as tasks:
            lanes = Lanes(
                tasks, self._handle_channel, entry_id=_Item.id_of, round_size=self.batch_size, limit=self.max_in_flight,
                name="alert lane",
            )  # fmt: skip
            closed = asyncio.Event()
            if self.min_idle_ms:
                tasks.create_task(self._keep_fresh(lanes, closed))
            try:
                yield lanes
                await lanes.drained()
            finally:
                # Loops end on these, not on cancellation alone: Python 3.11's asyncio.wait_for, with which
                # redis-py sends each command, drops a cancel that lands as the send completes.
                closed.set()
                lanes.take_back()

    async def _keep_fresh(self, lanes: Lanes[_Item], closed: asyncio.Event) -> None:
        """XAUTOCLAIM goes by idle time, and an entry queued behind a paced burst is not abandoned: every
        third of `min_idle_ms` the entries in the lanes are made to look just delivered."""
        while not await _set_within(closed, self.min_idle_ms / 3000):
            try:
                await self._set_idle(lanes.in_flight(), 0)
            except (RedisError, OSError) as exc:
                log.warning("alert worker %s: entries not kept fresh (%s)", self.consumer, type(exc).__name__)

    async def _hand_back(self, lanes: Lanes[_Item]) -> None:
        """Makes idle, for another worker's next reclaim scan, what this one holds and will not handle:
        entries queued in the lanes, and those a read cut short by stop() was given but never saw
        (pending to this consumer, in no round under way)."""
        queued = lanes.take_back()
        try:
            pending = await self._redis.xpending_range(
                self.stream, self.group, min="-", max="+", count=self.max_in_flight + self.batch_size,
                consumername=self.consumer,
            )
            busy = set(lanes.in_flight())
            held = set(queued) | {str(p["message_id"]) for p in pending if p["message_id"] not in busy}
            await self._set_idle(sorted(held), self.min_idle_ms)
        except (RedisError, OSError) as exc:  # they are taken over anyway, only later
            log.warning(
                "alert worker %s: %d entries not handed back (%s)", self.consumer, len(queued), type(exc).__name__
            )

    async def _set_idle(self, entry_ids: list[str], idle_ms: int) -> None:
        if entry_ids:
            await self._set_idle_script(keys=[self.stream], args=[self.group, self.consumer, idle_ms, *entry_ids])

    async def _unless_stopped(self, work: Awaitable[T]) -> T | None:
        """`work`'s result, or None when stop() comes first. `work` is then cancelled: the entries an
        XREADGROUP cut short was given stay pending, and are handed back (`_hand_back`)."""
        task, stopped = asyncio.ensure_future(work), asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait((task, stopped), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pending in (task, stopped):
                pending.cancel()  # a no-op on what is done
            await asyncio.gather(task, stopped, return_exceptions=True)
        return task.result() if not task.cancelled() else None

    async def _fetch(self, limit: int, block_ms: int) -> list[StreamEntry]:
        """Up to `limit` entries: idle ones to take over if a reclaim scan is due, else new ones."""
        await self.ensure_group()
        return await self._take_over_idle(limit) or await self._read_new(limit, block_ms)

    async def _take_over_idle(self, limit: int) -> list[StreamEntry]:
        if self._reclaim_cursor == "0-0" and time.monotonic() < self._next_reclaim:
            return []
        args: list[str | int] = [self.group, self.consumer, self.min_idle_ms, self._reclaim_cursor, limit]
        reply = await self._reclaim(keys=[self.stream], args=args)
        cursor, raw = cast(tuple[str, list[tuple[str, list[str]]]], reply)
        self._reclaim_cursor = cursor
        if cursor == "0-0":  # scan complete: the next one is due in reclaim_every_s
            self._next_reclaim = time.monotonic() + self.reclaim_every_s
            await self._forget_idle_consumers()
        return _entries(raw)

    async def _forget_idle_consumers(self) -> None:
        """After a full scan, dead consumers have nothing pending any more: remove those idle long."""
        removed = await self._idle_consumers.forget(keep=self.consumer)
        if removed:
            shown = ", ".join(removed[:5]) + (f" and {len(removed) - 5} more" if len(removed) > 5 else "")
            log.info(
                "alert worker %s: removed %d consumers idle over %.0f s with nothing pending: %s",
                self.consumer, len(removed), self._idle_consumers.idle_ms / 1000, shown,
            )  # fmt: skip

    async def _read_new(self, limit: int, block_ms: int) -> list[StreamEntry]:
        read = self._redis.xreadgroup(
            self.group, self.consumer, {self.stream: ">"}, count=limit, block=block_ms or None
        )
        reply = await self._unless_stopped(read)
        streams = cast(list[tuple[str, list[tuple[str, dict[str, str]]]]], reply or [])
        return [StreamEntry.parse(entry_id, fields) for _, messages in streams for entry_id, fields in messages]

    def _dispatch(self, lanes: Lanes[_Item], entries: list[StreamEntry]) -> list[str]:
        """Queues each entry in its channel's lane; returns the ids of those with nothing to post."""
        settled: list[str] = []
        for entry in entries:
            event = self._event(entry)
            if event is None or entry.event_json is None:
                settled.append(entry.id)
                continue
            try:
                channel = self._router(event)
            except Exception:  # a routing bug must not lose the event: leave it pending
                log.exception("alert router failed on event %s", event.uuid)
                continue
            if channel is None:
                settled.append(entry.id)  # dropped by policy
                count(Stage.DROPPED)
            else:
                lanes.add(channel, _Item(entry.id, event, entry.event_json))
        return settled

    async def _ack(self, entry_ids: list[str]) -> None:
        if entry_ids:
            await self._redis.xack(self.stream, self.group, *entry_ids)

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

    async def _handle_channel(self, channel: str, items: list[_Item]) -> None:
        """A lane's round: entries of one channel, in stream order; acknowledges those that are done,
        and parks (acknowledging them too) those whose message Slack refused for good."""
        done: list[str] = []
        digested: dict[_Digested, list[_Item]] = {}
        for item in items:
            try:
                outcome = await self._handle_event(channel, item.event)
            except Refused as exc:
                await self._park(channel, [item], exc)
                continue
            except Exception:  # Slack or Redis trouble: the entry stays pending and is retried
                log.exception("alert %s for %s not delivered yet", item.event.uuid, channel)
                continue
            if isinstance(outcome, _Digested):
                digested.setdefault(outcome, []).append(item)
            elif outcome == _ACK:
                done.append(item.entry_id)
        # One digest update per round, not per event; its events are acknowledged once it shows them.
        for ref, counted in digested.items():
            assert self._digests is not None  # only a worker with digests has _Digested outcomes
            try:
                await self._digests.publish(self._publisher, channel, ref.kind, ref.digest_id)
            except Refused as exc:
                await self._park(channel, counted, exc, digest=ref.digest_id)
                continue
            except Exception:
                log.exception("digest %s for %s not updated yet", ref.digest_id, channel)
                continue
            done.extend(item.entry_id for item in counted)
        try:
            await self._ack(done)
        except (RedisError, OSError) as exc:  # posted: a retry finds them in the ledger and only acknowledges
            log.warning("alerts for %s posted but not acknowledged yet (%s)", channel, type(exc).__name__)

    async def _park(self, channel: str, items: list[_Item], refused: Refused, digest: str = "") -> None:
        """Into the dead-letter stream with them; if that fails, they stay pending and come round again."""
        what = f"digest {digest} ({len(items)} events)" if digest else f"alert {items[0].event.uuid}"
        try:
            await self._dead_letters.park(
                self.group,
                [item.parcel for item in items],
                channel=channel,
                error=refused.error,
                plain_error=refused.plain_error,
                digest=digest,
            )
        except (RedisError, OSError) as exc:
            log.warning("%s for %s refused by Slack, and not parked yet (%s)", what, channel, type(exc).__name__)
            return
        log.warning(
            "%s for %s refused by Slack (%s; as plain text: %s): parked in %s; "
            "see `okta-chatops alerts dead-letters`",
            what, channel, refused.error, refused.plain_error, self._dead_letters.key,
        )  # fmt: skip

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
