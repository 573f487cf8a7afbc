"""The posting ledger: what has become of each alert message, so that each is posted exactly once.

Redis keys owned here:
- `okc:alerts:msg:<key>` (Hash, TTL `ttl_s`, default 7 days, far beyond Okta's redelivery horizon):
  `key` is an event uuid, or `digest:<id>` for a digest message. Fields:
  `state` = `posting` (claimed: `owner`, `since` = server ms of the latest claim, `first` = of the
  first one, where a look for the message starts) | `posted` (`channel`, `ts`) |
  `digested` (`digest` = the digest id the event was counted in).

Claiming is one Lua script using the Redis server's clock, so every worker agrees on a claim's age.
A `posting` claim older than `stale_ms` belongs to a worker presumed dead: the next claimant takes it
over and is told so (`STALE`), and must look in the channel for the message before posting again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import cast

import redis.asyncio as aioredis

KEY_PREFIX = "okc:alerts:msg:"
DEFAULT_TTL_S = 7 * 24 * 3600

_CLAIM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cur = redis.call('HMGET', KEYS[1], 'state', 'since', 'channel', 'ts', 'digest', 'first')
if not cur[1] then
  redis.call('HSET', KEYS[1], 'state', 'posting', 'owner', ARGV[1], 'since', now, 'first', now)
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  return {'new', tostring(now)}
end
if cur[1] ~= 'posting' then
  return {cur[1], cur[3] or '', cur[4] or '', cur[5] or ''}
end
if now - tonumber(cur[2]) < tonumber(ARGV[2]) then
  return {'busy'}
end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'since', now)
return {'stale', cur[6]}
"""

_RELEASE = """
if redis.call('HGET', KEYS[1], 'state') == 'posting' and redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


# Only the record of that very message: a newer one posted meanwhile stays.
_FORGET = """
if redis.call('HGET', KEYS[1], 'state') == 'posted' and redis.call('HGET', KEYS[1], 'ts') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class ClaimState(StrEnum):
    NEW = "new"  # ours to post
    STALE = "stale"  # ours now, but a dead worker may have posted it: look before posting
    BUSY = "busy"  # another worker is posting it right now: leave the entry pending
    POSTED = "posted"
    DIGESTED = "digested"


@dataclass(frozen=True)
class Claim:
    state: ClaimState
    since_ms: int = 0  # NEW/STALE: when the message was first claimed (where to start looking in the channel)
    channel: str = ""  # POSTED
    ts: str = ""  # POSTED
    digest: str = ""  # DIGESTED


class Ledger:
    def __init__(self, redis: aioredis.Redis, *, stale_ms: int, ttl_s: int = DEFAULT_TTL_S) -> None:
        self._redis = redis
        self.stale_ms = stale_ms
        self.ttl_s = ttl_s
        self._claim = redis.register_script(_CLAIM)
        self._release = redis.register_script(_RELEASE)
        self._forget = redis.register_script(_FORGET)

    @staticmethod
    def key(message_key: str) -> str:
        return KEY_PREFIX + message_key

    async def claim(self, message_key: str, owner: str) -> Claim:
        args: list[str | int] = [owner, self.stale_ms, self.ttl_s]
        reply = cast(list[str], await self._claim(keys=[self.key(message_key)], args=args))
        state = ClaimState(reply[0])
        if state in (ClaimState.NEW, ClaimState.STALE):
            return Claim(state, since_ms=int(reply[1]))
        if state is ClaimState.POSTED:
            return Claim(state, channel=reply[1], ts=reply[2])
        if state is ClaimState.DIGESTED:
            return Claim(state, digest=reply[3])
        return Claim(state)

    async def release(self, message_key: str, owner: str) -> None:
        """Drops our claim on a message Slack certainly did not post, so the retry needs no lookup."""
        await self._release(keys=[self.key(message_key)], args=[owner])

    async def forget(self, message_key: str, ts: str) -> None:
        """Drops the record of a posted message that is gone from Slack (`ts`), so it can be posted anew."""
        await self._forget(keys=[self.key(message_key)], args=[ts])

    async def mark_posted(self, message_key: str, channel_id: str, ts: str) -> None:
        # Unconditional: whoever posted, this records the message that exists in Slack.
        key = self.key(message_key)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"state": "posted", "channel": channel_id, "ts": ts})
            pipe.expire(key, self.ttl_s)
            await pipe.execute()

    async def posted(self, message_key: str) -> tuple[str, str] | None:
        """(channel_id, ts) of a posted message, else None."""
        fields = await self._redis.hmget(self.key(message_key), ["state", "channel", "ts"])
        state, channel, ts = cast(list[str | None], fields)
        return (channel, ts) if state == "posted" and channel and ts else None
