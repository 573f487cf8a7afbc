"""Grants in Redis: a record per grant and sorted sets by time, changed only by atomic scripts.

Keys
- `okc:access:grant:{id}` (hash): `Grant.to_hash()`; kept `retention` seconds after the grant ends.
- `okc:access:ends` (zset): the active grants, scored by their end (or by the next try, after Okta
  refused a removal).
- `okc:access:reminders` (zset): the active grants not yet reminded, scored by when to remind.
- `okc:access:pair:{user id}:{group id}` (string): the one active grant of that user in that group.
- `okc:access:user:{user id}` (set): the user's active grants.
- `okc:access:unreviewed` (zset): break-glass grants no approver has reviewed yet, scored by their start;
  such a grant's record outlives its end until it is reviewed.
- `okc:access:flagged:{YYYY-MM-DD}` (string, EX): set by the one replica that flags that day's unreviewed ones.
- `okc:access:lease:{id}` (string, PX): whoever is ending the grant (expiry or release) holds it, so
  the removal is made once across replicas; a holder that dies lets it lapse and another takes over.

Time is the caller's (`now`, epoch seconds), so that tests drive expiry with a clock of their own.
"""

from __future__ import annotations

import json
import secrets
from importlib.resources import files
from typing import Any, cast

import redis.asyncio as aioredis

from access.models import Grant, GrantState
from audit import LUA_LIBRARY, AuditRecord
from audit.recorder import Recorder

PREFIX = "okc:access:"
ENDS_KEY = PREFIX + "ends"
REMINDERS_KEY = PREFIX + "reminders"
UNREVIEWED_KEY = PREFIX + "unreviewed"
LEASE_MS = 300_000  # longer than any removal, Okta's retries and rate-limit waits included

_AUDITED = ("finish", "extend", "review")


def _grant_key(grant_id: str) -> str:
    return f"{PREFIX}grant:{grant_id}"


def _pair_key(user_id: str, group_id: str) -> str:
    return f"{PREFIX}pair:{user_id}:{group_id}"


def _user_key(user_id: str) -> str:
    return f"{PREFIX}user:{user_id}"


def _lease_key(grant_id: str) -> str:
    return f"{PREFIX}lease:{grant_id}"


def _script(name: str) -> str:
    body = (files("access") / "scripts" / f"{name}.lua").read_text()
    return LUA_LIBRARY + "\n" + body if name in _AUDITED else body


class GrantStore:
    def __init__(self, redis: aioredis.Redis, recorder: Recorder, *, retention: int = 30 * 86400) -> None:
        self._redis = redis
        self.recorder = recorder
        self._retention = retention
        names = ("create", "discard", "claim", "postpone", "finish", "extend", "review")
        self._scripts = {name: redis.register_script(_script(name)) for name in names}

    def _all_keys(self, grant: Grant) -> list[str]:
        return [
            _grant_key(grant.id), ENDS_KEY, REMINDERS_KEY, _pair_key(grant.user_id, grant.group_id), _user_key(grant.user_id),
            UNREVIEWED_KEY,
        ]

    @staticmethod
    def new_id() -> str:
        return secrets.token_urlsafe(12)

    async def create(self, grant: Grant, remind_at: float) -> str | None:
        """Store a new active grant; None, or the id of the user's active grant in that group (then nothing is stored)."""
        fields = json.dumps(grant.to_hash())
        existing = await self._scripts["create"](keys=self._all_keys(grant), args=[grant.id, grant.ends, remind_at, fields])
        return str(existing) if existing else None

    async def discard(self, grant: Grant) -> None:
        await self._scripts["discard"](keys=self._all_keys(grant), args=[grant.id])

    async def get(self, grant_id: str) -> Grant | None:
        fields = cast(dict[str, str], await self._redis.hgetall(_grant_key(grant_id)))
        return Grant.from_hash(fields) if fields else None

    async def active_of(self, user_id: str) -> list[Grant]:
        return await self._many(await self._redis.smembers(_user_key(user_id)))

    async def all_active(self, limit: int = 1000) -> list[Grant]:
        return await self._many(await self._redis.zrange(ENDS_KEY, 0, limit - 1))

    async def _many(self, ids: Any) -> list[Grant]:
        found = [grant for grant_id in ids if (grant := await self.get(grant_id)) and grant.state == GrantState.ACTIVE]
        return sorted(found, key=lambda g: g.ends)

    async def due(self, now: float, limit: int) -> list[str]:
        """Active grants whose end (or next try) has come, soonest first."""
        return cast(list[str], await self._redis.zrangebyscore(ENDS_KEY, "-inf", now, start=0, num=limit))

    async def claim(self, grant_id: str, now: float, *, due_only: bool) -> tuple[Grant, str] | None:
        """The grant and a lease token, for the one caller allowed to end it now; None for everyone else."""
        token = secrets.token_urlsafe(12)
        flat = await self._scripts["claim"](
            keys=[_grant_key(grant_id), _lease_key(grant_id), ENDS_KEY],
            args=[grant_id, token, LEASE_MS, now, "1" if due_only else ""],
        )
        if not flat:
            return None
        return Grant.from_hash(dict(zip(flat[::2], flat[1::2], strict=True))), token

    async def postpone(self, grant: Grant, token: str, at: float) -> int:
        """Give up the lease and try again at `at`; the failures so far (-1: the lease was lost)."""
        keys = [_grant_key(grant.id), _lease_key(grant.id), ENDS_KEY]
        return int(await self._scripts["postpone"](keys=keys, args=[grant.id, token, at]))

    async def finish(self, grant: Grant, token: str, ended: dict[str, str], record: AuditRecord) -> bool:
        """End the grant and append its audit record, if `token` still holds the lease."""
        keys = [
            _grant_key(grant.id), _lease_key(grant.id), ENDS_KEY, REMINDERS_KEY,
            _pair_key(grant.user_id, grant.group_id), _user_key(grant.user_id),
        ]
        args: list[str | int] = [
            grant.id, token, json.dumps({"state": GrantState.ENDED.value, **ended}), self._retention, *self._audit(record)
        ]
        done = bool(await self._scripts["finish"](keys=keys, args=args))
        if done:
            self.recorder.recorded([record])
        return done

    async def extend(self, grant: Grant, ends: float, remind_at: float, *, by_self: bool, record: AuditRecord) -> int:
        """1: extended; 0: the grant is over or being ended; -1: the self-extension was used already."""
        keys = [_grant_key(grant.id), _lease_key(grant.id), ENDS_KEY, REMINDERS_KEY]
        args = [grant.id, ends, remind_at, "1" if by_self else "", *self._audit(record)]
        answer = int(await self._scripts["extend"](keys=keys, args=args))
        if answer == 1:
            self.recorder.recorded([record])
        return answer

    def _audit(self, record: AuditRecord) -> list[str]:
        return [json.dumps(self.recorder.audit.lua_config()), json.dumps(record.to_fields())]

    async def announced(self, grant_id: str, channel: str, ts: str) -> None:
        """Where the break-glass announcement is, so that the review can mark it."""
        await self._redis.hset(_grant_key(grant_id), "announced", f"{channel} {ts}")

    async def review(self, grant_id: str, reviewer: str, at: float, record: AuditRecord) -> int:
        """1: reviewed now; 0: reviewed already; -1: no such break-glass grant."""
        keys = [_grant_key(grant_id), UNREVIEWED_KEY]
        args: list[str | int] = [grant_id, reviewer, repr(at), self._retention, *self._audit(record)]
        answer = int(await self._scripts["review"](keys=keys, args=args))
        if answer == 1:
            self.recorder.recorded([record])
        return answer

    async def owes_review(self, before: float) -> bool:
        """Whether a break-glass grant taken before `before` is still unreviewed (one cheap read per tick)."""
        return bool(await self._unreviewed_ids(before, 1))

    async def unreviewed(self, before: float, limit: int = 1000) -> list[Grant]:
        """Break-glass grants taken before `before` that nobody has reviewed, the oldest first (ended ones
        too: the review is still owed)."""
        return [grant for grant_id in await self._unreviewed_ids(before, limit) if (grant := await self.get(grant_id)) is not None]

    async def _unreviewed_ids(self, before: float, limit: int) -> list[str]:
        return cast(list[str], await self._redis.zrangebyscore(UNREVIEWED_KEY, "-inf", f"({before!r}", start=0, num=limit))

    async def flag_day(self, day: str) -> bool:
        """True for the one caller, across replicas and restarts, that flags `day`'s unreviewed grants."""
        return bool(await self._redis.set(f"{PREFIX}flagged:{day}", "1", nx=True, ex=2 * 86400))

    async def reminders_due(self, now: float, limit: int) -> list[str]:
        return cast(list[str], await self._redis.zrangebyscore(REMINDERS_KEY, "-inf", now, start=0, num=limit))

    async def take_reminder(self, grant_id: str) -> bool:
        """True for the one caller that removed the reminder: it sends it."""
        return bool(await self._redis.zrem(REMINDERS_KEY, grant_id))
