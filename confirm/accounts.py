"""The employee's Slack account, for the Okta user an event is about: their Okta email (their login
if none) looked up in Slack, and kept in Redis for every replica.

users.lookupByEmail is a Tier 3 method (about 50 calls a minute per workspace), and with the Okta
read before it, it was the better part of asking someone. Kept, a person asked again, or by another
replica, costs one Redis read: a burst of questions to people seen within `ttl_s` needs no look-up.
Only a member found is kept: someone with no Slack account is looked up again next time (they may
have joined since). A member kept whom a DM no longer reaches (deactivated, gone) is forgotten by
the flow and looked up afresh (`of(..., fresh=True)`); `ttl_s` bounds how long an email moved to
another Slack account goes on pointing at the old one.

Redis keys owned here:
- `okc:confirm:slack:<okta id>` (String, TTL `ttl_s`): the Slack member id found for the Okta user.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from oktaclient import OktaClient
from oktaclient.errors import OktaError
from slackport import SlackPort

KEY_PREFIX = "okc:confirm:slack:"
DEFAULT_TTL_S = 86_400
# What chat.postMessage answers for a member id whose DM cannot be reached any more.
UNREACHABLE = frozenset({"channel_not_found", "user_not_found", "user_disabled", "cannot_dm_bot"})


class SlackAccounts:
    def __init__(self, redis: aioredis.Redis, okta: OktaClient, slack: SlackPort, *, ttl_s: int = DEFAULT_TTL_S):
        self._redis = redis
        self._okta = okta
        self._slack = slack
        self._ttl_s = ttl_s

    async def of(self, okta_id: str, login: str, *, fresh: bool = False) -> str | None:
        """The member id, or None when Slack knows nobody by the user's email (or it is a bot's).
        `fresh`: looked up again, whatever is kept."""
        key = KEY_PREFIX + okta_id
        if not fresh:
            kept = await self._redis.get(key)
            if kept:
                return str(kept)
        member = await self._look_up(okta_id, login)
        if member is None:
            await self._redis.delete(key)
        else:
            await self._redis.set(key, member, ex=self._ttl_s)
        return member

    async def _look_up(self, okta_id: str, login: str) -> str | None:
        try:
            profile = (await self._okta.get_user(okta_id)).profile
            email = profile.email or profile.login
        except OktaError:
            email = login
        person = await self._slack.person_by_email(email) if "@" in email else None
        if person is None or person.deleted or person.is_bot:
            return None
        return person.id
