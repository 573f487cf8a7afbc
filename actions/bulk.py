"""A batch of membership changes: up to BULK_MAX users added to or removed from one group.

The batch can be saved in Redis while it waits for an approval (a request's form cannot carry 500
ids), then is run once: the group's members are read first (one paged read, not one per user), so a
user already in the group (or, for a removal, not in it) is counted without a call; the others are
changed `CONCURRENCY` at a time. The Okta client paces every call on the rate-limit headers, so a
batch never spends more than Okta's limits allow: 1,000 adds take N / limit windows and no 429
reaches the batch (bench/bench_bulk.py measures both).

Keys
- `okc:bulk:{batch id}` (string): the batch as JSON; expires `ttl` seconds after it is saved.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict
from redis.asyncio import Redis

from oktaclient import OktaClient, search
from oktaclient.errors import OktaError, OktaNotFound
from policy import Policy

PREFIX = "okc:bulk:"
PROTECTED = "protected account: change it in the Okta admin console"
CONCURRENCY = 8  # far below Okta's 75 in flight per org; the client's own cap applies too


class Member(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    login: str


class Batch(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    adding: bool  # added to the group, or removed from it
    group_id: str
    group_name: str
    users: tuple[Member, ...]
    not_found: tuple[str, ...] = ()  # as typed: names the resolver could not match
    refused: tuple[tuple[str, str], ...] = ()  # login, why: left out (a protected account)
    requester: str = ""  # the Slack member who asked
    channel: str | None = None  # where they asked: the progress message goes there

    @property
    def total(self) -> int:
        return len(self.users) + len(self.not_found) + len(self.refused)


def new_batch_id() -> str:
    return secrets.token_urlsafe(12)


@dataclass
class Tally:
    """How a batch went, so far or in the end."""

    total: int
    done: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # already a member (add), not a member (remove)
    not_found: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # login, Okta's words

    @property
    def settled(self) -> int:
        return len(self.done) + len(self.unchanged) + len(self.not_found) + len(self.failed)


class BatchStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def save(self, batch: Batch, ttl: int) -> None:
        await self._redis.set(PREFIX + batch.id, batch.model_dump_json(), ex=ttl)

    async def load(self, batch_id: str) -> Batch | None:
        raw = await self._redis.get(PREFIX + batch_id)
        return None if raw is None else Batch.model_validate_json(raw)


Progress = Callable[[Tally], Awaitable[None]]


async def run_batch(okta: OktaClient, batch: Batch, progress: Progress) -> Tally:
    """Make the batch's changes; `progress` is awaited after each settled user (it decides itself
    how often to show it). Raises the client's typed errors only for reading the group's members."""
    tally = Tally(total=batch.total, not_found=list(batch.not_found), failed=list(batch.refused))
    members = {user.id async for user in okta.list_group_users(batch.group_id)}
    change = okta.add_user_to_group if batch.adding else okta.remove_user_from_group
    todo: asyncio.Queue[Member] = asyncio.Queue()
    for user in batch.users:
        if (user.id in members) == batch.adding:
            tally.unchanged.append(user.login)
        else:
            todo.put_nowait(user)
    await progress(tally)

    async def worker() -> None:
        while not todo.empty():
            user = todo.get_nowait()
            try:
                await change(batch.group_id, user.id)
            except OktaNotFound:  # deleted since the batch was made
                tally.not_found.append(user.login)
            except OktaError as exc:
                tally.failed.append((user.login, getattr(exc, "error_summary", None) or type(exc).__name__))
            else:
                tally.done.append(user.login)
            await progress(tally)

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return tally


async def without_protected(okta: OktaClient, policy: Policy, batch: Batch) -> Batch:
    """The batch with the users the policy protects now moved to `refused`: protected logins, and
    members of protected groups (each such group's members read once, not each user's groups)."""
    shielded: set[str] = set()
    for name in policy.protected.okta_groups:
        async for group in okta.search_groups(search.eq("profile.name", name)):
            shielded |= {user.id async for user in okta.list_group_users(group.id)}
    keep = [u for u in batch.users if u.id not in shielded and not policy.is_protected(u.login, ())]
    refused = [(u.login, PROTECTED) for u in batch.users if u not in keep]
    return batch.model_copy(update={"users": tuple(keep), "refused": (*batch.refused, *refused)})
