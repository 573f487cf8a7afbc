"""Digests: a burst of one kind of alert in one channel becomes one message, updated in place.

The rule, exactly. For each (channel, digestible kind), on the Redis server's clock at the time a
worker handles the event:
- an event joins the open digest if the digest's last event was at most `window_s` ago;
- otherwise, if more than `threshold` events of that kind went to that channel within the last
  `window_s` (this one included), it opens a new digest (it is the digest's first event);
- otherwise it is posted on its own.
So the first `threshold` events of a burst are posted one by one, the rest are counted in one digest
message (by actor and by client IP) that is updated with chat.update, and a quiet spell of
`window_s` ends the burst. Using handling time, not `published`, means a backlog replayed after an
outage is digested too instead of flooding the channel.

Redis keys owned here (`<c>` channel as routed, `<k>` the AlertKind):
- `okc:alerts:recent:<c>:<k>` (Sorted set, member event uuid, score server ms; expires after a
  quiet window): the events of the last window. A retried event is the same member, counted once.
- `okc:alerts:digest:<c>:<k>` (Hash, TTL as the ledger's): the open digest: `id` (its first event's
  uuid), `since`/`last` (server ms), `n`, `version` (bumped per event), `rendered` (the version the
  message shows), and counts `a:<actor>`, `i:<client ip>`. Opening a new digest replaces it.
- `okc:alerts:digest:<c>:<k>:flush` (String, expiring lock): the worker updating the message now.
The digest message itself is posted through the ledger under the key `digest:<id>`.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

import redis.asyncio as aioredis
from redis.exceptions import LockError

from alerts.format import AlertKind, AlertMessage, DigestSummary, render_digest
from alerts.ledger import Ledger
from alerts.publisher import Publisher, Refused
from slackport import Posted

log = logging.getLogger(__name__)

MAX_FLUSH_ROUNDS = 50  # updates one flush may make while a burst is still growing; later events flush again
FLUSH_LOCK_S = 30
MESSAGE_GONE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})

_ADMIT = """
if redis.call('HGET', KEYS[3], 'state') ~= 'posting' or redis.call('HGET', KEYS[3], 'owner') ~= ARGV[4] then
  return {'lost'}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window - 1)
redis.call('PEXPIRE', KEYS[1], window + 1)
local open = redis.call('HMGET', KEYS[2], 'id', 'last')
local id = open[1]
if not (id and now - tonumber(open[2]) <= window) then
  if redis.call('ZCARD', KEYS[1]) <= tonumber(ARGV[3]) then
    return {'single'}
  end
  id = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], 'id', id, 'since', now, 'n', 0, 'version', 0, 'rendered', 0)
end
redis.call('HSET', KEYS[2], 'last', now)
redis.call('HINCRBY', KEYS[2], 'n', 1)
redis.call('HINCRBY', KEYS[2], 'version', 1)
redis.call('HINCRBY', KEYS[2], 'a:' .. ARGV[5], 1)
redis.call('HINCRBY', KEYS[2], 'i:' .. ARGV[6], 1)
redis.call('EXPIRE', KEYS[2], ARGV[7])
redis.call('HSET', KEYS[3], 'state', 'digested', 'digest', id)
redis.call('EXPIRE', KEYS[3], ARGV[7])
return {'digest', id}
"""


@dataclass(frozen=True)
class DigestSettings:
    threshold: int  # events of a burst posted one by one before the rest go into a digest
    window_s: float
    kinds: frozenset[AlertKind] = field(default_factory=lambda: frozenset({AlertKind.FAILED_SIGN_IN}))

    def __post_init__(self) -> None:
        if self.threshold < 0 or self.window_s <= 0:
            raise ValueError("digest threshold must be >= 0 and window_s > 0")


@dataclass(frozen=True)
class Admission:
    """What became of an event offered to the digest: counted in `digest_id`, `lost`, or neither: post it alone."""

    digest_id: str | None = None
    lost: bool = False  # our claim on the event was taken over meanwhile: leave it to the new owner


class _Superseded(Exception):
    pass


@dataclass(frozen=True)
class _State:
    id: str
    version: int
    rendered: int
    summary: DigestSummary


def _ms(value: str) -> datetime:
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)


def _counts(raw: dict[str, str], prefix: str) -> list[tuple[str, int]]:
    rows = [(k[len(prefix) :], int(v)) for k, v in raw.items() if k.startswith(prefix)]
    return sorted(rows, key=lambda row: (-row[1], row[0]))


class Digests:
    def __init__(self, redis: aioredis.Redis, settings: DigestSettings, ledger: Ledger) -> None:
        self.settings = settings
        self._redis = redis
        self._ledger = ledger
        self._admit = redis.register_script(_ADMIT)

    def digestible(self, kind: AlertKind) -> bool:
        return kind in self.settings.kinds

    @staticmethod
    def key(channel: str, kind: AlertKind) -> str:
        return f"okc:alerts:digest:{channel}:{kind}"

    async def admit(self, channel: str, kind: AlertKind, event_key: str, owner: str, actor: str, ip: str) -> Admission:
        """Counts the event into the open digest (atomically marking it `digested`), or says to post it."""
        keys = [f"okc:alerts:recent:{channel}:{kind}", self.key(channel, kind), self._ledger.key(event_key)]
        window_ms = int(self.settings.window_s * 1000)
        args: list[str | int] = [event_key, window_ms, self.settings.threshold, owner, actor, ip, self._ledger.ttl_s]
        reply = await self._admit(keys=keys, args=args)
        if reply[0] == "digest":
            return Admission(digest_id=reply[1])
        return Admission(lost=reply[0] == "lost")

    async def _state(self, channel: str, kind: AlertKind, digest_id: str) -> _State | None:
        """The digest's state, or None once a newer digest has replaced it."""
        raw = cast(dict[str, str], await self._redis.hgetall(self.key(channel, kind)))
        if raw.get("id") != digest_id:
            return None
        summary = DigestSummary(
            kind=kind,
            count=int(raw["n"]),
            first=_ms(raw["since"]),
            last=_ms(raw["last"]),
            by_actor=_counts(raw, "a:"),
            by_ip=_counts(raw, "i:"),
            posted_individually=self.settings.threshold,
        )
        return _State(digest_id, int(raw["version"]), int(raw["rendered"]), summary)

    async def _set_rendered(self, channel: str, kind: AlertKind, version: int) -> None:
        await self._redis.hset(self.key(channel, kind), "rendered", version)

    async def publish(self, publisher: Publisher, channel: str, kind: AlertKind, digest_id: str) -> None:
        """Makes the digest message exist and show the latest counts (unless another worker is on it).
        Refused (alerts/publisher.py) when Slack refuses the message, or an update of it, for good."""
        rendered: list[int] = []

        async def render() -> AlertMessage:
            state = await self._state(channel, kind, digest_id)
            if state is None:
                raise _Superseded
            rendered.append(state.version)
            return render_digest(state.summary)

        try:
            posted = await publisher.ensure(f"digest:{digest_id}", channel, render)
        except _Superseded:
            log.warning("digest %s was replaced before its message was posted; its counts are not shown", digest_id)
            return
        if posted is None:
            return  # the worker posting it brings it up to date afterwards
        if rendered:
            await self._set_rendered(channel, kind, rendered[0])
        await self._flush(publisher, channel, kind, digest_id, posted)

    async def _flush(self, publisher: Publisher, channel: str, kind: AlertKind, digest_id: str, posted: Posted) -> None:
        """Brings the message up to the latest version. One updater at a time (a lock); whoever fails
        to get the lock leaves its version to the holder, which looks again after releasing it."""
        lock = self._redis.lock(self.key(channel, kind) + ":flush", timeout=FLUSH_LOCK_S, blocking=False)
        for _ in range(MAX_FLUSH_ROUNDS):
            if not await lock.acquire():
                return
            try:
                state = await self._state(channel, kind, digest_id)
                if state is not None and state.version > state.rendered:
                    shown = await self._show(publisher, channel, state, posted)
                    if shown is None:
                        return  # being posted anew by another worker, which brings it up to date
                    posted = shown
                    await self._set_rendered(channel, kind, state.version)
            finally:
                with contextlib.suppress(LockError):  # expired while Slack was slow: someone else may hold it now
                    await lock.release()
            state = await self._state(channel, kind, digest_id)  # anything counted while we held the lock?
            if state is None or state.version <= state.rendered:
                return

    async def _show(self, publisher: Publisher, channel: str, state: _State, posted: Posted) -> Posted | None:
        """Updates the message to `state`. A message Slack no longer lets us edit (deleted, too old)
        is posted anew, rather than the rest of the burst being parked; None: another worker is
        posting it. Refused (alerts/publisher.py) for any other refusal."""
        message = render_digest(state.summary)
        try:
            await publisher.update(posted, message)
            return posted
        except Refused as exc:
            if exc.error not in MESSAGE_GONE:
                raise
            log.warning("digest %s: Slack no longer lets us edit its message (%s); posting it anew", state.id, exc.error)
        key = f"digest:{state.id}"
        await publisher.ledger.forget(key, posted.ts)

        async def render() -> AlertMessage:
            return message

        return await publisher.ensure(key, channel, render)
