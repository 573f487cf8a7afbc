"""Many bot replicas clicking at once: separate clients (own connection pools) on one real Redis,
and separate OS processes with their own event loops."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections import Counter
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor

import pytest
import redis.asyncio as aioredis

from approvals import ApprovalState, ApprovalStore, Refusal, TransitionResult

REPLICAS = 5
T0 = 1_700_000_000.0


@pytest.fixture
async def replicas(redis: aioredis.Redis, redis_url: str) -> AsyncIterator[list[ApprovalStore]]:
    """One store per simulated replica, each with its own client and pool (after `redis` flushed the DB)."""
    clients = [aioredis.Redis.from_url(redis_url, decode_responses=True) for _ in range(REPLICAS)]
    yield [ApprovalStore(client) for client in clients]
    for client in clients:
        await client.aclose()


async def create(store: ApprovalStore, n: int, expires_in: float = 3600) -> str:
    req = await store.create(
        requester="U1", verb="suspend", target="lee@acme.example", required_approvals=n, expires_in=expires_in, now=T0
    )
    return req.id


async def test_fifty_concurrent_single_approvals_execute_once(replicas: list[ApprovalStore]) -> None:
    approval_id = await create(replicas[0], n=1)
    results = await asyncio.gather(
        *(replicas[i % REPLICAS].approve(approval_id, f"A{i}", now=T0 + 1) for i in range(50))
    )
    winners = [r for r in results if r.execute]
    assert len(winners) == 1 and winners[0].executor
    losers = [r for r in results if not r.execute]
    assert all(r.refusal is Refusal.NOT_PENDING and r.state is ApprovalState.EXECUTING for r in losers)

    final = await replicas[1].get(approval_id)
    assert final and final.state is ApprovalState.EXECUTING and final.approvals == winners[0].approvals
    assert final.executed_by == winners[0].approvals[0]
    trail = Counter(e.record.outcome for e in await replicas[2].audit.for_approval(approval_id))
    assert trail == {"requested": 1, "approved": 1, "executing": 1, "refused": 49}


async def test_three_approvers_clicking_repeatedly_with_two_required(replicas: list[ApprovalStore]) -> None:
    for _ in range(10):
        approval_id = await create(replicas[0], n=2)
        clicks = [(approver, k) for k in range(17) for approver in ("A", "B", "C")]
        results: list[TransitionResult] = await asyncio.gather(
            *(replicas[k % REPLICAS].approve(approval_id, approver, now=T0 + 1) for approver, k in clicks)
        )
        [winner] = [r for r in results if r.execute]
        assert len(winner.approvals) == 2 and set(winner.approvals) <= {"A", "B", "C"}
        assert {r.refusal for r in results if not r.ok} <= {Refusal.ALREADY_APPROVED_BY_YOU, Refusal.NOT_PENDING}
        assert sum(r.ok for r in results) == 2  # exactly two approvals counted, the second one executes

        final = await replicas[3].get(approval_id)
        assert final and final.approvals == winner.approvals and final.executed_by in winner.approvals
        trail = Counter(e.record.outcome for e in await replicas[4].audit.for_approval(approval_id))
        assert (trail["approved"], trail["executing"]) == (2, 1)


async def test_approve_deny_and_cancel_racing_end_in_exactly_one_transition(replicas: list[ApprovalStore]) -> None:
    for _ in range(20):
        approval_id = await create(replicas[0], n=1)
        results = await asyncio.gather(
            replicas[0].approve(approval_id, "A", now=T0 + 1),
            replicas[1].deny(approval_id, "B", "no", now=T0 + 1),
            replicas[2].cancel(approval_id, "U1", now=T0 + 1),
            replicas[3].approve(approval_id, "C", now=T0 + 1),
        )
        assert sum(r.ok for r in results) == 1 and sum(r.execute for r in results) <= 1
        final = await replicas[4].get(approval_id)
        assert final and final.state is next(r for r in results if r.ok).state


async def test_each_expiry_is_reported_exactly_once_among_sweepers_and_late_clicks(
    replicas: list[ApprovalStore],
) -> None:
    ids = [await create(replicas[0], n=1, expires_in=10) for _ in range(30)]
    late = T0 + 11
    sweeps = [store.expire_due(now=late, limit=7) for store in replicas]
    clicks = [replicas[i % REPLICAS].approve(approval_id, "A", now=late) for i, approval_id in enumerate(ids)]
    swept, clicked = await asyncio.gather(asyncio.gather(*sweeps), asyncio.gather(*clicks))
    while batch := await replicas[0].expire_due(now=late, limit=7):  # what the sweeps' limits left over
        swept.append(batch)

    reported = [req.id for batch in swept for req in batch] + [
        r.request.id for r in clicked if r.refusal is Refusal.EXPIRED and r.request
    ]
    assert sorted(reported) == sorted(ids)
    assert not any(r.execute for r in clicked)


def _approve_in_own_process(redis_url: str, approval_id: str, approvers: list[str]) -> list[bool]:
    """A replica in another OS process: its own event loop, client and pool."""

    async def run() -> list[bool]:
        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        store = ApprovalStore(client)
        clicks = approvers * 5  # each approver clicks repeatedly, concurrently
        results = await asyncio.gather(*(store.approve(approval_id, a, now=T0 + 1) for a in clicks))
        await client.aclose()
        return [r.execute for r in results]

    return asyncio.run(run())


@pytest.mark.slow  # a real process
async def test_separate_processes_execute_once(replicas: list[ApprovalStore], redis_url: str) -> None:
    ids = [await create(replicas[0], n=2) for _ in range(5)]
    # spawn, not fork: the test process runs an event loop and the redis-server log thread
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
        loop = asyncio.get_running_loop()
        jobs = [
            (approval_id, loop.run_in_executor(pool, _approve_in_own_process, redis_url, approval_id, ["A", "B", "C"]))
            for _ in range(4)
            for approval_id in ids
        ]
        executes = await asyncio.gather(*(job for _, job in jobs))
    per_request: Counter[str] = Counter()
    for (approval_id, _), flags in zip(jobs, executes, strict=True):
        per_request[approval_id] += sum(flags)
    assert per_request == {approval_id: 1 for approval_id in ids}
    for approval_id in ids:
        final = await replicas[0].get(approval_id)
        assert final and final.state is ApprovalState.EXECUTING and len(final.approvals) == 2
