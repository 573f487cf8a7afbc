"""Who passed `/okta verify`, and when: the policy can make helpdesk changes wait for a recent one.

Keys
- `okc:verified:{okta user id}` (string): JSON `{"by": agent's Slack id, "at": ISO time}` of the
  user's latest approved number-challenge push; expires after the window the policy asks for (or
  `DEFAULT_TTL`), and `recent` compares `at` too, so a shorter window set later still applies.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict
from redis.asyncio import Redis

PREFIX = "okc:verified:"
DEFAULT_TTL = 900  # when no verb waits for a verification, one still shows in the record for a while


class Verified(BaseModel):
    model_config = ConfigDict(frozen=True)

    by: str  # the agent who ran `/okta verify`
    at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


class Verifications:
    def __init__(self, redis: Redis, clock: Callable[[], datetime] = _now) -> None:
        self._redis = redis
        self._clock = clock

    async def remember(self, okta_user_id: str, by: str, ttl: int | None) -> None:
        record = Verified(by=by, at=self._clock())
        await self._redis.set(PREFIX + okta_user_id, record.model_dump_json(), ex=ttl or DEFAULT_TTL)

    async def recent(self, okta_user_id: str, within: int) -> Verified | None:
        """The user's verification if it is at most `within` seconds old, else None."""
        raw = await self._redis.get(PREFIX + okta_user_id)
        if raw is None:
            return None
        record = Verified.model_validate_json(raw)
        return record if self._clock() - record.at <= timedelta(seconds=within) else None
