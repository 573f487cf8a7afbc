"""Who approved when: the store keeps each approval's time (the approval message shows it)."""

from __future__ import annotations

from datetime import UTC, datetime

import redis.asyncio as aioredis

from approvals import Approval, ApprovalRequest, ApprovalStore, Claim, Swept, sweep_once

T0 = 1_700_000_000.0


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


async def test_approvals_keep_their_order_and_time_in_every_read(redis: aioredis.Redis) -> None:
    store = ApprovalStore(redis)
    req = await store.create(requester="U1", verb="suspend", required_approvals=3, now=T0)
    await store.approve(req.id, "U9", now=T0 + 1.25)
    second = await store.approve(req.id, "U2", now=T0 + 2.5)
    expected = (Approval(by="U9", at=at(T0 + 1.25)), Approval(by="U2", at=at(T0 + 2.5)))
    assert second.request is not None and second.request.approved == expected  # a transition's answer (Lua)
    fetched = await store.get(req.id)  # a plain read (pipeline)
    assert fetched is not None and fetched.approved == expected and fetched.approvals == ("U9", "U2")


async def test_the_sweeper_expires_what_is_due_at_the_given_time(redis: aioredis.Redis) -> None:
    store = ApprovalStore(redis)
    due = await store.create(requester="U1", verb="suspend", expires_in=60, now=T0)
    later = await store.create(requester="U1", verb="suspend", expires_in=120, now=T0)
    seen: list[ApprovalRequest] = []

    async def on_expired(request: ApprovalRequest) -> None:
        seen.append(request)

    async def on_reclaimed(claim: Claim) -> None:
        raise AssertionError("nothing is executing")

    assert await sweep_once(store, on_expired, on_reclaimed, now=T0 + 90) == Swept(expired=1, reclaimed=0)
    assert [r.id for r in seen] == [due.id]
    assert [r.id for r in await store.pending(now=T0 + 90)] == [later.id]
