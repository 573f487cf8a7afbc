"""Slack's Web API rate limits: a token bucket per method (per channel for chat.postMessage), per workspace.

Sources: docs.slack.dev/apis/web-api/rate-limits (tiers; "429 Too Many Requests" with `Retry-After`
in seconds) and each method's reference page (its tier). Slack counts per method, per workspace,
per app, over a minute and "tolerates bursts": a bucket holds `burst` calls and refills at
`per_minute` a minute. A refused call takes nothing from the bucket.

Choices where the docs give no number:
- chat.postMessage: "1 message per second per channel, short bursts of more than 1 allowed": a
  burst of 5, refilled at 1 a second. Five is what a real workspace absorbs from one app posting
  into a channel in practice; an app that needs more must pace (alerts/pacing.py does).
- Tier 1 ("1+ per minute, a small amount of burst tolerated"): a burst of 3.
- "Special" methods without a published number (auth.test, chat.getPermalink): Tier 4.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from slacksim._clock import Clock


@dataclass(frozen=True)
class Allowance:
    per_minute: float
    burst: int


TIER_1 = Allowance(per_minute=1, burst=3)
TIER_2 = Allowance(per_minute=20, burst=20)
TIER_3 = Allowance(per_minute=50, burst=50)
TIER_4 = Allowance(per_minute=100, burst=100)
POST_PER_CHANNEL = Allowance(per_minute=60, burst=5)
PER_CHANNEL_METHODS = frozenset({"chat.postMessage"})  # counted by the handler, once it knows the channel

METHOD_ALLOWANCES: Final[Mapping[str, Allowance]] = MappingProxyType(
    {
        "apps.connections.open": TIER_1,
        "auth.test": TIER_4,  # special
        "chat.postMessage": POST_PER_CHANNEL,  # special: per channel
        "chat.postEphemeral": TIER_4,
        "chat.update": TIER_3,
        "chat.delete": TIER_3,
        "chat.getPermalink": TIER_4,  # special
        "users.info": TIER_4,
        "users.lookupByEmail": TIER_3,
        "usergroups.list": TIER_2,
        "usergroups.users.list": TIER_2,
        "conversations.open": TIER_3,
        "conversations.info": TIER_3,
        "conversations.list": TIER_2,
        "conversations.history": TIER_3,  # internal apps; Marketplace rules differ
        "views.open": TIER_4,
        "views.push": TIER_4,
        "views.update": TIER_4,
        "views.publish": TIER_4,
    }
)


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimits:
    """`take(method, scope)`: None when the call may go ahead, else the seconds to wait (Retry-After).
    `enabled` is on by default, as on Slack; tests that need a burst turn it off for their workspace."""

    def __init__(self, clock: Clock) -> None:
        self.enabled = True
        self._clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def take(self, method: str, scope: str = "") -> int | None:
        allowance = METHOD_ALLOWANCES.get(method)
        if not self.enabled or allowance is None:
            return None
        now = self._clock.monotonic()
        rate = allowance.per_minute / 60  # tokens a second
        bucket = self._buckets.setdefault((method, scope), _Bucket(float(allowance.burst), now))
        bucket.tokens = min(float(allowance.burst), bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return max(1, math.ceil((1 - bucket.tokens) / rate))
