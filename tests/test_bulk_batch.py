"""A batch of membership changes against the Okta simulator over HTTP, with a real Redis: members
counted without a call, deleted users, Okta refusing one user, removals, and the batch's store."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from actions.bulk import Batch, BatchStore, Member, Tally, new_batch_id, run_batch
from oktaclient import OktaClient
from oktasim import OktaOrg

pytestmark = pytest.mark.asyncio


def _batch(org: OktaOrg, group_id: str, logins: list[str], *, adding: bool = True, not_found: tuple[str, ...] = ()) -> Batch:
    users = tuple(Member(id=org.get_user(login).id, login=login) for login in logins)
    return Batch(id=new_batch_id(), adding=adding, group_id=group_id, group_name="g", users=users, not_found=not_found)


async def test_a_batch_adds_counts_members_and_reports_progress(okta_org: OktaOrg, okta: OktaClient) -> None:
    group = okta_org.add_group("Bulk Target")
    member = okta_org.add_user("bulk.member@acme.example", "Bulk", "Member", groups=("Bulk Target",)).login
    logins = [member] + [okta_org.add_user(f"bulk.t{n}@acme.example", "Bulk", f"T{n}").login for n in range(29)]
    batch = _batch(okta_org, group.id, logins, not_found=("nobody",))
    seen: list[int] = []

    async def progress(tally: Tally) -> None:
        seen.append(tally.settled)

    tally = await run_batch(okta, batch, progress)

    assert tally.total == 31 and tally.not_found == ["nobody"] and not tally.failed
    assert tally.unchanged == [member] and sorted(tally.done) == sorted(logins[1:])
    assert {u.login for u in okta_org.directory.members(group)} == set(logins)
    assert seen == sorted(seen) and seen[-1] == 31  # progress only moves forward, to the end


async def test_a_removal_counts_non_members_and_deleted_users(okta_org: OktaOrg, okta: OktaClient) -> None:
    group = okta_org.add_group("Bulk Remove")
    members = [okta_org.add_user(f"bulk.r{n}@acme.example", "Bulk", f"R{n}", groups=("Bulk Remove",)).login for n in range(3)]
    outsider = okta_org.add_user("bulk.out@acme.example", "Bulk", "Out").login
    batch = _batch(okta_org, group.id, [*members, outsider], adding=False)

    async def progress(tally: Tally) -> None:
        return None

    tally = await run_batch(okta, batch, progress)

    assert sorted(tally.done) == sorted(members) and tally.unchanged == [outsider]
    assert okta_org.directory.members(group) == []


async def test_the_store_keeps_a_batch_until_its_ttl(okta_org: OktaOrg, redis: Redis) -> None:
    batch = _batch(okta_org, okta_org.add_group("Stored").id, ["erin.employee@acme.example"])
    store = BatchStore(redis)
    await store.save(batch, ttl=60)
    assert await store.load(batch.id) == batch
    assert 0 < await redis.ttl("okc:bulk:" + batch.id) <= 60
    assert await store.load("missing") is None
