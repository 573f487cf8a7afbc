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

from oktaclient import OktaClient
from oktaclient.errors import OktaError, OktaNotFound

PREFIX = "okc:bulk:"
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
    tally = Tally(total=len(batch.users) + len(batch.not_found), not_found=list(batch.not_found))
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
