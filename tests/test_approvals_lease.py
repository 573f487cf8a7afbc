"""The execution lease held while an approved action runs: renewed while it lives, lost to a sweeper
once it stops renewing, handed back when its work is cancelled. Short leases on the real clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from approvals import ApprovalStore, run_sweeper
from approvals.lease import STOPPED, LeaseLost, holding
from oktaclient import OktaClient
from oktasim import OktaOrg
from slacksim import SlackWorkspace
from tests.chatops_support import ARJUN, HANA, ChatOps, run_chatops
from tests.conftest import SIM_API_TOKEN
from tests.test_approvals_slack import approval_id, ask, trail, updated, writes

LEASE = 0.3


@pytest.fixture
def store(redis: aioredis.Redis) -> ApprovalStore:
    return ApprovalStore(redis, lease=LEASE)


async def executing(store: ApprovalStore, now: float) -> tuple[str, str]:
    req = await store.create(requester="U1", verb="suspend", target_id="00u1", now=now - 1)
    res = await store.approve(req.id, "U2", now=now)
    assert res.executor
    return req.id, res.executor


async def okta_call_that_hangs(started: asyncio.Event, cancelled: asyncio.Event) -> None:
    started.set()
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        cancelled.set()
        raise


async def test_a_living_holder_keeps_its_lease_past_its_first_term(store: ApprovalStore) -> None:
    started = time.time()
    approval, token = await executing(store, started)

    async def slow_okta_call() -> str:
        await asyncio.sleep(4 * LEASE)  # the action outlasts the lease it started with
        return "done"

    assert await holding(store, approval, token, slow_okta_call()) == "done"
    expiry = await store.next_lease_expiry()
    assert expiry is not None and expiry > started + 3 * LEASE  # renewed as it ran
    assert await store.renew(approval, token)  # still its own: nobody took it over


async def test_a_holder_whose_lease_was_taken_over_stops_its_work(store: ApprovalStore) -> None:
    now = time.time()
    approval, token = await executing(store, now - 2 * LEASE)  # it stalled past its lease...
    [claim] = await store.claim_expired(now=now)  # ...and a sweeper took the execution over
    cancelled = asyncio.Event()

    with pytest.raises(LeaseLost):
        await asyncio.wait_for(holding(store, approval, token, okta_call_that_hangs(asyncio.Event(), cancelled)), 5)
    assert cancelled.is_set()
    assert await store.renew(approval, claim.executor)  # the sweeper's lease is untouched


async def test_a_cancelled_holder_hands_its_lease_back(store: ApprovalStore) -> None:
    approval, token = await executing(store, time.time())
    started, cancelled = asyncio.Event(), asyncio.Event()
    held = asyncio.create_task(holding(store, approval, token, okta_call_that_hangs(started, cancelled)))
    await started.wait()
    held.cancel()  # the process is stopping
    with pytest.raises(asyncio.CancelledError):
        await held
    assert cancelled.is_set()
    [claim] = await store.claim_expired(now=time.time())  # the next sweep takes over at once
    assert claim.request.id == approval
    records = [e.record for e in await store.audit.for_approval(approval)]
    assert [(r.outcome, r.detail) for r in records[-2:]] == [
        ("handed_back", STOPPED), ("reclaimed", "execution lease expired: its executor stopped renewing it; checking Okta")
    ]


@pytest.fixture
async def short_leases(ws: SlackWorkspace, slack, okta_org: OktaOrg, okta: OktaClient, redis) -> AsyncIterator[ChatOps]:  # type: ignore[no-untyped-def]
    """The whole bot with short execution leases and its sweeper running, as `serve` runs it."""
    async for running in run_chatops(ws=ws, slack_url=slack.url, org=okta_org, okta=okta, redis=redis, approval_lease_s=LEASE):
        flow = running.bot.handlers.approvals
        sweeper = asyncio.create_task(run_sweeper(flow.store, flow.expired, flow.reconcile))
        yield running
        sweeper.cancel()
        await asyncio.wait({sweeper})


async def test_an_okta_call_slower_than_the_lease_is_never_taken_from_a_living_executor(short_leases: ChatOps) -> None:
    ws, org = short_leases.ws, short_leases.org
    message = await ask(short_leases, HANA, "suspend alex.kim@acme.example")
    org.inject_delay("POST", f"/api/v1/users/{org.get_user('alex.kim@acme.example').id}/lifecycle/suspend", 5 * LEASE)
    await short_leases.click(ARJUN, "approval:approve", message)

    await updated(ws, message, "Approved and done")
    steps = await trail(short_leases, approval_id(message))
    assert steps[-2:] == [("executing", ARJUN), ("succeeded", ARJUN)]  # the executor's own finish
    assert "reclaimed" not in {outcome for outcome, _ in steps}
    assert writes(org, "/lifecycle/suspend") == 1


@pytest.fixture
async def impatient(ws: SlackWorkspace, slack, okta_org: OktaOrg, okta_sim, redis) -> AsyncIterator[ChatOps]:  # type: ignore[no-untyped-def]
    """The whole bot with an Okta client that waits 0.5 s for an answer, and never retries a write."""
    async with OktaClient.from_api_token(okta_sim.url, SIM_API_TOKEN, timeout=0.5) as okta:
        async for running in run_chatops(ws=ws, slack_url=slack.url, org=okta_org, okta=okta, redis=redis):
            yield running


async def test_a_write_okta_carried_out_but_answered_too_late_is_recorded_as_done(impatient: ChatOps) -> None:
    ws, org = impatient.ws, impatient.org
    message = await ask(impatient, HANA, "suspend alex.kim@acme.example")
    suspend = f"/api/v1/users/{org.get_user('alex.kim@acme.example').id}/lifecycle/suspend"
    org.inject_delay("POST", suspend, 5)  # carried out at once, answered after the client gave up
    await impatient.click(ARJUN, "approval:approve", message)

    done = await updated(ws, message, "Approved and done")
    assert "answered too late, but shows it done" in str(done.blocks)
    assert (await trail(impatient, approval_id(message)))[-1] == ("succeeded", ARJUN)
    assert writes(org, "/lifecycle/suspend") == 1
