"""The sweeper: ends the requests nobody else will, on whichever replica gets there first.

Each sweep expires PENDING requests past their deadline, and claims EXECUTING requests whose
execution lease ran out (their replica was killed, or stopped mid-action and handed the lease
back) for reconciliation from Okta's state. Run one per replica: both steps are atomic scripts,
so each expiry is reported, and each execution settled, by exactly one sweeper (or an expiry, if
a click got there first, to that click as Refusal.EXPIRED).

Between sweeps the sweeper sleeps until the earliest lease runs out, `interval` at most, so a
dead executor's request is settled within one lease of its last renewal.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from approvals.lease import cancel_swallowed
from approvals.models import ApprovalRequest, Claim
from approvals.store import ApprovalStore

log = logging.getLogger(__name__)

MIN_SLEEP_S = 0.05  # between sweeps, so a lease that keeps running out cannot spin the loop


@dataclass(frozen=True)
class Swept:
    expired: int  # PENDING requests expired
    reclaimed: int  # executions taken over from an executor whose lease ran out


async def sweep_once(
    store: ApprovalStore,
    on_expired: Callable[[ApprovalRequest], Awaitable[None]],
    on_reclaimed: Callable[[Claim], Awaitable[None]],
    batch: int = 100,
    *,
    now: float | None = None,
) -> Swept:
    """Expire everything due at `now` (epoch seconds, default the clock) and claim every execution
    whose lease expired by then, in batches; each claim is handed to `on_reclaimed` (which settles
    it: ApprovalFlow.reconcile), the claims of a batch concurrently."""
    expired = reclaimed = 0
    while True:
        requests = await store.expire_due(now, limit=batch)
        for request in requests:
            await _reported(on_expired(request), "on_expired", request.id)
        expired += len(requests)
        if len(requests) < batch:
            break
    while True:
        claims = await store.claim_expired(now=now, limit=batch)
        await asyncio.gather(*(_reported(on_reclaimed(claim), "on_reclaimed", claim.request.id) for claim in claims))
        reclaimed += len(claims)
        if len(claims) < batch:
            return Swept(expired, reclaimed)


async def _reported(work: Awaitable[None], name: str, approval_id: str) -> None:
    try:
        await work
    except Exception:  # one failed Slack update or Okta check must not keep the others from going on
        log.exception("%s failed for approval %s", name, approval_id)


async def run_sweeper(
    store: ApprovalStore,
    on_expired: Callable[[ApprovalRequest], Awaitable[None]],
    on_reclaimed: Callable[[Claim], Awaitable[None]],
    interval: float = 5.0,
    batch: int = 100,
) -> None:
    """Sweep until cancelled: every `interval` seconds, and as each execution lease runs out. A
    Redis outage is logged and retried next time. Cancelled mid-sweep (the process stops), a
    reconciliation hands its lease back for another replica."""
    # A lease taken after a sweep runs out a whole lease later: no later than that, the next
    # sweep has seen it and sleeps until then.
    interval = min(interval, store.lease)
    while True:
        wake = time.time() + interval
        try:
            await sweep_once(store, on_expired, on_reclaimed, batch)
            first_expiry = await store.next_lease_expiry()
            if first_expiry is not None:
                wake = min(wake, first_expiry)
        except Exception:
            log.exception("approval sweep failed; retrying in %.0fs", interval)
        cancel_swallowed()
        await asyncio.sleep(max(MIN_SLEEP_S, wake - time.time()))
