"""The approval state machine against a real Redis: every rule, with an explicit clock."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
import redis.asyncio as aioredis
from pydantic import ValidationError

from approvals import (
    ApprovalRequest,
    ApprovalState,
    ApprovalStore,
    Claim,
    Refusal,
    Swept,
    TransitionResult,
    run_sweeper,
    sweep_once,
)
from approvals.store import EXECUTING_KEY, PENDING_KEY
from bot.redis_once import ONCE_PREFIX

T0 = 1_700_000_000.0
TTL = 3600.0


@pytest.fixture
def store(redis: aioredis.Redis) -> ApprovalStore:
    return ApprovalStore(redis, retention=86400)


async def new(store: ApprovalStore, n: int = 1, now: float = T0, **kw: object) -> ApprovalRequest:
    values: dict[str, object] = {
        "requester": "U1", "verb": "suspend", "target": "lee@acme.example", "target_id": "00u1",
        "params": {"notify": True}, "reason": "offboarding", "required_approvals": n, "expires_in": TTL,
    }
    return await store.create(**(values | kw), now=now)  # type: ignore[arg-type]


async def executing(store: ApprovalStore, now: float = T0 + 1) -> tuple[ApprovalRequest, str]:
    req = await new(store, now=now - 1)
    res = await store.approve(req.id, "U2", now=now)
    assert res.execute and res.executor and res.request
    return res.request, res.executor


async def outcomes(store: ApprovalStore, approval_id: str) -> list[str]:
    return [e.record.outcome for e in await store.audit.for_approval(approval_id)]


async def test_create_stores_the_request_indexed_by_deadline(store: ApprovalStore, redis: aioredis.Redis) -> None:
    req = await new(store, n=2)
    assert re.fullmatch(r"[A-Za-z0-9_-]{16}", req.id) and req.id != (await new(store)).id
    assert req.state is ApprovalState.PENDING and req.approvals == () and req.params == {"notify": True}
    assert req.deadline.timestamp() == T0 + TTL
    assert await redis.zscore(PENDING_KEY, req.id) == T0 + TTL
    assert await redis.ttl(f"okc:approval:{req.id}") == -1  # live requests never expire
    assert await store.get(req.id) == req
    [entry] = await store.audit.for_approval(req.id)
    assert entry.record.outcome == "requested" and entry.record.actor == "U1"
    assert entry.record.verb == "suspend" and entry.record.target == "lee@acme.example"
    assert entry.record.detail == "needs 2 approval(s) by approver: offboarding"


async def test_text_survives_the_lua_round_trip(store: ApprovalStore) -> None:
    reason = 'Zoë left 🚪 — "urgent"\\ / <tab>\t'
    req = await new(store, reason=reason, target="zoë@acme.example", params={"note": "ünïcode 🚀"})
    got = await store.get(req.id)
    assert got == req and got.reason == reason and got.params == {"note": "ünïcode 🚀"}
    res = await store.deny(req.id, "U2", reason, now=T0)
    assert res.request and res.request.outcome_detail == reason and res.request.target == "zoë@acme.example"
    assert [e.record.detail for e in await store.audit.for_approval(req.id)][-1] == reason


async def test_create_validates(store: ApprovalStore) -> None:
    with pytest.raises(ValueError, match="expires_in"):
        await new(store, expires_in=0)
    with pytest.raises(ValidationError):
        await new(store, n=0)


async def test_attach_message(store: ApprovalStore, redis: aioredis.Redis) -> None:
    req = await new(store)
    assert await store.attach_message(req.id, "C1", "1700000000.000100")
    got = await store.get(req.id)
    assert got and (got.channel, got.message_ts) == ("C1", "1700000000.000100")
    assert not await store.attach_message("missing", "C1", "1.0")
    assert not await redis.exists("okc:approval:missing")


async def test_self_approval_and_duplicate_approvals(store: ApprovalStore) -> None:
    req = await new(store, n=2)
    res = await store.approve(req.id, "U1", now=T0)
    assert res.refusal is Refusal.SELF_APPROVAL and res.state is ApprovalState.PENDING and res.approvals == ()

    first = await store.approve(req.id, "U2", now=T0)
    again = await store.approve(req.id, "U2", now=T0)
    assert first.ok and not first.execute and first.approvals == ("U2",)
    assert again.refusal is Refusal.ALREADY_APPROVED_BY_YOU and again.approvals == ("U2",) and not again.execute


async def test_the_nth_distinct_approval_claims_execution(store: ApprovalStore, redis: aioredis.Redis) -> None:
    req = await new(store, n=2)
    await store.approve(req.id, "U2", now=T0 + 1)
    res = await store.approve(req.id, "U3", now=T0 + 2)
    assert res.ok and res.execute and res.executor and res.state is ApprovalState.EXECUTING
    assert res.request and res.request.executed_by == "U3" and res.request.started_at
    assert res.approvals == ("U2", "U3")
    assert await redis.zscore(PENDING_KEY, req.id) is None
    assert await redis.zscore(EXECUTING_KEY, req.id) == T0 + 2 + store.lease  # the execution lease

    late = await store.approve(req.id, "U4", now=T0 + 3)
    assert late.refusal is Refusal.NOT_PENDING and late.state is ApprovalState.EXECUTING and not late.execute
    assert late.executor is None  # the token never reaches anyone but the owner


async def test_deny(store: ApprovalStore, redis: aioredis.Redis) -> None:
    req = await new(store, n=2)
    await store.approve(req.id, "U2", now=T0)
    res = await store.deny(req.id, "U3", "not without a ticket", now=T0 + 5)
    assert res.ok and res.state is ApprovalState.DENIED and res.request
    assert (res.request.closed_by, res.request.outcome_detail) == ("U3", "not without a ticket")
    assert res.request.closed_at and res.request.closed_at.timestamp() == T0 + 5
    assert await redis.zscore(PENDING_KEY, req.id) is None
    assert 0 < await redis.ttl(f"okc:approval:{req.id}") <= 86400  # kept for lookups, then dropped

    for late in (await store.approve(req.id, "U4", now=T0 + 6), await store.deny(req.id, "U4", now=T0 + 6)):
        assert late.refusal is Refusal.NOT_PENDING and late.state is ApprovalState.DENIED
    assert await outcomes(store, req.id) == ["requested", "approved", "denied", "refused", "refused"]


async def test_cancel_only_by_the_requester_and_only_pending(store: ApprovalStore) -> None:
    req = await new(store)
    other = await store.cancel(req.id, "U2", now=T0)
    assert other.refusal is Refusal.NOT_REQUESTER and other.state is ApprovalState.PENDING
    res = await store.cancel(req.id, "U1", now=T0)
    assert res.ok and res.state is ApprovalState.CANCELLED and res.request and res.request.closed_by == "U1"
    again = await store.cancel(req.id, "U1", now=T0)
    assert again.refusal is Refusal.NOT_PENDING and again.state is ApprovalState.CANCELLED

    running, _ = await executing(store)
    late = await store.cancel(running.id, "U1", now=T0 + 2)
    assert late.refusal is Refusal.NOT_PENDING and late.state is ApprovalState.EXECUTING


async def test_unknown_ids_are_not_found_and_leave_no_trace(store: ApprovalStore, redis: aioredis.Redis) -> None:
    results = [
        await store.approve("nope", "U2"),
        await store.deny("nope", "U2"),
        await store.cancel("nope", "U1"),
        await store.finish("nope", True, executor="x"),
        await store.reconcile("nope", True, executor="x"),
    ]
    assert all(r.refusal is Refusal.NOT_FOUND and r.request is None for r in results)
    assert not await store.renew("nope", "x") and not await store.hand_back("nope", "x", "stopping")
    assert await store.get("nope") is None
    # only the client's record of each script call's answer (bot/redis_once.py), which expires
    left = await redis.keys("*")
    assert all(key.startswith(ONCE_PREFIX) for key in left), left
    assert all(ttl > 0 for ttl in [await redis.pttl(key) for key in left])


async def test_the_sweeper_step_expires_due_requests_once(store: ApprovalStore, redis: aioredis.Redis) -> None:
    req = await new(store)
    assert await store.expire_due(now=T0 + TTL - 1) == []
    [expired] = await store.expire_due(now=T0 + TTL + 1)
    assert expired.id == req.id and expired.state is ApprovalState.EXPIRED
    assert await store.expire_due(now=T0 + TTL + 2) == []
    assert await redis.zcard(PENDING_KEY) == 0

    late = await store.approve(req.id, "U2", now=T0 + TTL + 3)
    assert late.refusal is Refusal.NOT_PENDING and late.state is ApprovalState.EXPIRED
    [*_, entry, _refused] = await store.audit.for_approval(req.id)
    assert (entry.record.outcome, entry.record.actor) == ("expired", "system:sweeper")


async def test_expire_due_works_in_batches(store: ApprovalStore) -> None:
    for i in range(5):
        await new(store, now=T0 + i)
    sizes = [len(await store.expire_due(now=T0 + TTL + 10, limit=2)) for _ in range(4)]
    assert sizes == [2, 2, 1, 0]


@pytest.mark.parametrize("op", ["approve", "deny", "cancel"])
async def test_past_the_deadline_nothing_passes_even_before_the_sweeper(store: ApprovalStore, op: str) -> None:
    req = await new(store)
    deadline = T0 + TTL

    async def call(now: float) -> TransitionResult:
        if op == "approve":
            return await store.approve(req.id, "U2", now=now)
        if op == "deny":
            return await store.deny(req.id, "U2", "no", now=now)
        return await store.cancel(req.id, "U1", now=now)

    res = await call(deadline)  # the deadline itself is already too late
    assert res.refusal is Refusal.EXPIRED and res.state is ApprovalState.EXPIRED and not res.execute
    again = await call(deadline + 1)
    assert again.refusal is Refusal.NOT_PENDING and again.state is ApprovalState.EXPIRED
    assert await store.expire_due(now=deadline + 2) == []  # reported once: to the click that found it
    trail = await store.audit.for_approval(req.id)
    assert trail[1].record.outcome == "expired" and trail[1].record.detail == f"deadline passed; {op} refused"


async def test_finish_only_by_the_execution_owner(store: ApprovalStore, redis: aioredis.Redis) -> None:
    req, token = await executing(store)
    wrong = await store.finish(req.id, True, "done", executor="someone-else", now=T0 + 2)
    assert wrong.refusal is Refusal.NOT_EXECUTOR and wrong.state is ApprovalState.EXECUTING

    res = await store.finish(req.id, True, "User suspended", "req-42", executor=token, now=T0 + 3)
    assert res.ok and res.state is ApprovalState.SUCCEEDED and res.request
    assert (res.request.outcome_detail, res.request.okta_request_id) == ("User suspended", "req-42")
    assert await redis.zcard(EXECUTING_KEY) == 0

    twice = await store.finish(req.id, False, "again", executor=token, now=T0 + 4)
    assert twice.refusal is Refusal.NOT_EXECUTING and twice.state is ApprovalState.SUCCEEDED

    trail = [e.record for e in await store.audit.for_approval(req.id)]
    assert [(r.outcome, r.actor) for r in trail[-3:]] == [("refused", "U2"), ("succeeded", "U2"), ("refused", "U2")]
    assert trail[-2].okta_request_id == "req-42" and trail[-2].detail == "User suspended"
    assert trail[-1].detail == "not_executing: SUCCEEDED; reported failed: again"


async def test_finish_failed_and_finish_before_execution(store: ApprovalStore) -> None:
    req, token = await executing(store)
    res = await store.finish(req.id, False, "E0000001: Api validation failed", executor=token, now=T0 + 2)
    assert res.state is ApprovalState.FAILED and res.request
    assert (res.request.outcome_detail or "").startswith("E0000001")

    pending = await new(store)
    early = await store.finish(pending.id, True, executor=token)
    assert early.refusal is Refusal.NOT_EXECUTING and early.state is ApprovalState.PENDING
    assert (await store.audit.for_approval(pending.id))[-1].record.actor == "system:executor"


@pytest.mark.parametrize(
    ("took_effect", "state", "note"),
    [
        (True, ApprovalState.SUCCEEDED, "took effect"),
        (False, ApprovalState.FAILED, "before it took effect"),
        (None, ApprovalState.FAILED, "outcome unknown"),
    ],
)
async def test_an_expired_lease_is_claimed_and_reconciled_never_rerun(
    store: ApprovalStore, took_effect: bool | None, state: ApprovalState, note: str
) -> None:
    req, token = await executing(store, now=T0)
    lease = store.lease
    assert await store.claim_expired(now=T0 + lease - 1) == []
    [claim] = await store.claim_expired(now=T0 + lease)
    assert claim.request.id == req.id and claim.request.state is ApprovalState.EXECUTING and claim.executor != token

    res = await store.reconcile(req.id, took_effect, executor=claim.executor, by="U9", now=T0 + lease + 1)
    assert res.ok and res.state is state and not res.execute and res.request
    assert res.request.reconciled and res.request.closed_by == "U9" and note in (res.request.outcome_detail or "")
    assert await store.claim_expired(now=T0 + 10 * lease) == [] and await store.next_lease_expiry() is None

    # the presumed-dead owner comes back late: refused, and what it reported is kept in the trail
    late = await store.finish(req.id, True, "User suspended", executor=token, now=T0 + lease + 2)
    assert late.refusal is Refusal.NOT_EXECUTING and late.state is state
    trail = [e.record for e in await store.audit.for_approval(req.id)]
    assert [r.outcome for r in trail] == ["requested", "approved", "executing", "reclaimed", state.lower(), "refused"]
    assert (trail[3].actor, trail[3].at.timestamp()) == ("system:reconcile", T0 + lease)
    assert trail[4].actor == "U9" and trail[-1].detail.endswith("reported succeeded: User suspended")


async def test_the_lease_fences_out_the_owner_it_was_taken_from(store: ApprovalStore, redis: aioredis.Redis) -> None:
    req, token = await executing(store, now=T0)
    lease = store.lease
    # renewed by its owner, the lease outlives its first term
    assert await store.renew(req.id, token, now=T0 + lease - 1)
    assert await redis.zscore(EXECUTING_KEY, req.id) == T0 + 2 * lease - 1 == await store.next_lease_expiry()
    assert await store.claim_expired(now=T0 + lease) == []
    assert not await store.renew(req.id, "someone-else", now=T0 + lease)

    # the owner stalls past it: a sweeper takes over, and then the owner can neither renew nor finish
    [claim] = await store.claim_expired(now=T0 + 2 * lease)
    assert not await store.renew(req.id, token, now=T0 + 2 * lease + 1)
    late = await store.finish(req.id, True, "User suspended", executor=token, now=T0 + 2 * lease + 1)
    assert late.refusal is Refusal.NOT_EXECUTOR and late.state is ApprovalState.EXECUTING
    assert (await store.audit.for_approval(req.id))[-1].record.detail == "not_executor; reported succeeded: User suspended"

    # nor does a second sweeper claim it while the first holds the new lease; once that runs out, it does
    assert await store.claim_expired(now=T0 + 3 * lease - 1) == []
    [again] = await store.claim_expired(now=T0 + 3 * lease)
    assert again.executor != claim.executor
    stale = await store.reconcile(req.id, True, executor=claim.executor, now=T0 + 3 * lease)
    assert stale.refusal is Refusal.NOT_EXECUTOR
    done = await store.reconcile(req.id, True, executor=again.executor, now=T0 + 3 * lease + 1)
    assert done.ok and done.state is ApprovalState.SUCCEEDED
    outcomes_ = [e.record.outcome for e in await store.audit.for_approval(req.id)]
    assert outcomes_.count("reclaimed") == 2 and outcomes_.count("succeeded") == 1


async def test_a_lease_handed_back_is_claimed_at_the_next_sweep(store: ApprovalStore, redis: aioredis.Redis) -> None:
    req, token = await executing(store, now=T0)
    assert not await store.hand_back(req.id, "someone-else", "stopping", now=T0 + 1)
    assert await store.hand_back(req.id, token, "the replica stopped", now=T0 + 1)
    assert await redis.zscore(EXECUTING_KEY, req.id) == T0 + 1
    [entry] = (await store.audit.for_approval(req.id))[-1:]
    assert (entry.record.outcome, entry.record.actor, entry.record.detail) == (
        "handed_back", "system:executor", "the replica stopped"
    )
    [claim] = await store.claim_expired(now=T0 + 1)
    assert claim.request.id == req.id


async def test_claims_come_in_batches_and_other_states_are_never_claimed(store: ApprovalStore) -> None:
    running = [(await executing(store, now=T0 + i))[0] for i in range(3)]
    pending = await new(store)
    done, token = await executing(store, now=T0)
    await store.finish(done.id, True, executor=token, now=T0 + 1)
    late = T0 + store.lease + 10
    sizes = [len(await store.claim_expired(now=late, limit=2)) for _ in range(3)]
    assert sizes == [2, 1, 0]
    assert (await store.get(pending.id)).state is ApprovalState.PENDING  # type: ignore[union-attr]
    assert {e.record.outcome for r in running for e in await store.audit.for_approval(r.id)} >= {"reclaimed"}
    assert "reclaimed" not in await outcomes(store, done.id)


async def test_reconcile_only_touches_executing_requests(store: ApprovalStore) -> None:
    req = await new(store)
    res = await store.reconcile(req.id, True, executor="x", now=T0)
    assert res.refusal is Refusal.NOT_EXECUTING and res.state is ApprovalState.PENDING


def test_a_lease_must_be_positive(redis: aioredis.Redis) -> None:
    with pytest.raises(ValueError, match="lease"):
        ApprovalStore(redis, lease=0)


async def test_pending_lists_live_requests_newest_first(store: ApprovalStore) -> None:
    a = await new(store, now=T0)
    b = await new(store, now=T0 + 10, expires_in=60)
    c = await new(store, now=T0 + 20)
    done, _ = await executing(store, now=T0 + 30)
    await store.cancel(c.id, "U1", now=T0 + 40)

    assert [r.id for r in await store.pending(now=T0 + 50)] == [b.id, a.id]
    assert [r.id for r in await store.pending(limit=1, now=T0 + 50)] == [b.id]
    assert [r.id for r in await store.pending(now=T0 + 70)] == [a.id]  # b is past its deadline
    assert done.id not in {r.id for r in await store.pending(now=T0 + 50)}


async def test_every_transition_is_in_the_audit_trail_in_order(store: ApprovalStore) -> None:
    req = await new(store, n=2)
    await store.approve(req.id, "U1", now=T0 + 1)
    await store.approve(req.id, "U2", now=T0 + 2)
    await store.approve(req.id, "U2", now=T0 + 3)
    res = await store.approve(req.id, "U3", now=T0 + 4)
    assert res.executor
    await store.finish(req.id, True, "User suspended", "req-7", executor=res.executor, now=T0 + 5)

    trail = [e.record for e in await store.audit.for_approval(req.id)]
    assert [(r.outcome, r.actor, r.detail) for r in trail] == [
        ("requested", "U1", "needs 2 approval(s) by approver: offboarding"),
        ("refused", "U1", "self_approval"),
        ("approved", "U2", "1/2 approvals"),
        ("refused", "U2", "already_approved_by_you"),
        ("approved", "U3", "2/2 approvals"),
        ("executing", "U3", "execution claimed"),
        ("succeeded", "U3", "User suspended"),
    ]
    assert [r.at.timestamp() for r in trail] == [T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4, T0 + 4, T0 + 5]
    assert {(r.verb, r.target, r.source, r.approval_id) for r in trail} == {
        ("suspend", "lee@acme.example", "approval", req.id)
    }


async def test_sweep_once_drains_in_batches(store: ApprovalStore) -> None:
    for _ in range(5):
        await new(store, expires_in=1, now=T0)  # long past due on the real clock
    for i in range(3):
        await executing(store, now=T0 + i)  # leases long run out
    seen: list[str] = []
    claims: list[Claim] = []

    async def on_expired(req: ApprovalRequest) -> None:
        seen.append(req.id)

    async def on_reclaimed(claim: Claim) -> None:
        claims.append(claim)

    assert await sweep_once(store, on_expired, on_reclaimed, batch=2) == Swept(expired=5, reclaimed=3)
    assert len(set(seen)) == 5 and len({c.request.id for c in claims}) == 3


async def test_run_sweeper_reports_expiries_survives_a_failing_callback_and_cancels(store: ApprovalStore) -> None:
    first = await new(store, expires_in=1, now=T0)
    second = await new(store, expires_in=1, now=T0 + 1)
    seen: list[str] = []
    done = asyncio.Event()

    async def on_expired(req: ApprovalRequest) -> None:
        seen.append(req.id)
        if len(seen) == 2:
            done.set()
        if req.id == first.id:
            raise RuntimeError("Slack is down")

    task = asyncio.create_task(run_sweeper(store, on_expired, _unexpected, interval=0.01))
    await asyncio.wait_for(done.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(seen) == sorted([first.id, second.id])


async def test_run_sweeper_wakes_when_a_lease_runs_out(redis: aioredis.Redis) -> None:
    # a sweep interval far longer than the lease: the sweeper still claims the execution as its
    # lease runs out, on the real clock
    store = ApprovalStore(redis, lease=0.2)
    req, _ = await executing(store, now=time.time())
    claimed: asyncio.Future[Claim] = asyncio.get_running_loop().create_future()

    async def on_reclaimed(claim: Claim) -> None:
        claimed.set_result(claim)

    task = asyncio.create_task(run_sweeper(store, _unexpected, on_reclaimed, interval=3600))
    try:
        claim = await asyncio.wait_for(claimed, timeout=5)
    finally:
        task.cancel()
    assert claim.request.id == req.id


async def _unexpected(_: object) -> None:
    raise AssertionError("not expected here")
