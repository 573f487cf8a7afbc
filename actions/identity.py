"""Who is calling: a Slack member, their Okta account (by the Slack profile email) and their roles.

Roles come from the policy's grants: Slack user id, Slack user groups, Okta group names. The
Okta side costs two API calls, so the resolved identity is cached in Redis for `ttl` seconds
(at most `MAX_TTL`, shared by every replica); a role change in Okta is seen within that time.
The cache key carries the policy's fingerprint: a process that loads another policy never reads
roles worked out under the old one (a reload drops the cache).

Keys
- `okc:identity:{policy fingerprint}:{slack user id}` (string): the Identity as JSON, `ttl` seconds.
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, ConfigDict
from redis.asyncio import Redis

from oktaclient import OktaClient, search
from oktaclient.models import User
from policy import Caller, Policy
from slackport import SlackPerson, SlackPort

CACHE_PREFIX = "okc:identity:"
MAX_TTL = 60  # roles read from Okta are at most this old when a command is decided


class Identity(BaseModel):
    model_config = ConfigDict(frozen=True)

    person: SlackPerson
    okta_user: User | None = None
    okta_groups: frozenset[str] = frozenset()
    slack_usergroups: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()

    @property
    def slack_id(self) -> str:
        return self.person.id

    @property
    def email(self) -> str | None:
        return self.person.email

    @property
    def okta_user_id(self) -> str | None:
        return self.okta_user.id if self.okta_user else None

    def is_okta_user(self, okta_user_id: str | None) -> bool:
        """Whether this caller is the Okta user `okta_user_id` (e.g. the target of a request)."""
        return self.okta_user is not None and self.okta_user.id == okta_user_id


class Identities:
    def __init__(self, redis: Redis, okta: OktaClient, slack: SlackPort, policy: Policy, *, ttl: int = MAX_TTL) -> None:
        """`ttl`: seconds an identity is reused, 0 to resolve every time; more than MAX_TTL is refused."""
        if not 0 <= ttl <= MAX_TTL:
            raise ValueError(f"the identity cache ttl must be 0 to {MAX_TTL} seconds, not {ttl}")
        self._redis = redis
        self._okta = okta
        self._slack = slack
        self._policy = policy
        self._ttl = ttl
        self._prefix = f"{CACHE_PREFIX}{policy.fingerprint}:"
        # usergroups.list is one more Slack call (and scope) per caller: made only if a role needs it
        self._grants_by_usergroup = any(grant.slack_usergroups for grant in policy.roles.values())

    async def of(self, slack_user_id: str, *, fresh: bool = False) -> Identity:
        """Who `slack_user_id` is; `fresh`: read now from Slack and Okta, not from the cache (for
        decisions that must not rest on roles a minute old, such as approving)."""
        key = self._prefix + slack_user_id
        cached = None if fresh or not self._ttl else await self._redis.get(key)
        if cached is not None:
            return Identity.model_validate_json(cached)
        identity = await self._resolve(slack_user_id)
        if self._ttl:
            await self._redis.set(key, identity.model_dump_json(), ex=self._ttl)
        return identity

    async def _resolve(self, slack_user_id: str) -> Identity:
        if self._grants_by_usergroup:  # two Slack calls that do not depend on each other
            person, usergroups = await asyncio.gather(
                self._slack.person(slack_user_id), self._slack.usergroups_of(slack_user_id)
            )
        else:
            person, usergroups = await self._slack.person(slack_user_id), frozenset()
        okta_user = None
        groups: frozenset[str] = frozenset()
        # A guest, a bot or an unverified address is never matched to an Okta account: an email
        # alone is only proof of identity when Slack vouches for it.
        if person.email and person.email_verified and not (person.is_bot or person.is_guest or person.deleted):
            okta_user = await okta_user_by_email(self._okta, person.email, self._policy.self_service.email_attribute)
            if okta_user is not None:
                groups = frozenset([g.profile.name async for g in self._okta.list_user_groups(okta_user.id)])
        caller = Caller(slack_user_id=slack_user_id, slack_usergroups=usergroups, okta_groups=groups)
        return Identity(
            person=person,
            okta_user=okta_user,
            okta_groups=groups,
            slack_usergroups=usergroups,
            roles=self._policy.roles_for(caller),
        )


async def okta_user_by_email(okta: OktaClient, email: str, attribute: str = "profile.email") -> User | None:
    """The one Okta user whose `attribute` equals `email` (Okta compares case-insensitively);
    None when there is none or more than one: an ambiguous match is no match."""
    matches: list[User] = []
    async for user in okta.search_users(search.eq(attribute, email), limit=2):
        matches.append(user)
        if len(matches) > 1:
            return None
    return matches[0] if matches else None
