"""The sweeper: expires PENDING requests past their deadline and reports each one once.

Run one per replica if you like: `expire_due` is atomic, so each expiry is reported by exactly one
sweeper (or, if a click got there first, to that click as Refusal.EXPIRED).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from approvals.models import ApprovalRequest
from approvals.store import ApprovalStore

log = logging.getLogger(__name__)


async def sweep_once(
    store: ApprovalStore,
    on_expired: Callable[[ApprovalRequest], Awaitable[None]],
    batch: int = 100,
    *,
    now: float | None = None,
) -> int:
    """Expire everything due at `now` (epoch seconds, default the clock), in batches; returns how
    many were expired."""
    total = 0
    while True:
        expired = await store.expire_due(now, limit=batch)
        for request in expired:
            try:
                await on_expired(request)
            except Exception:  # one failed Slack update must not keep the others from being reported
                log.exception("on_expired failed for approval %s", request.id)
        total += len(expired)
        if len(expired) < batch:
            return total


async def run_sweeper(
    store: ApprovalStore,
    on_expired: Callable[[ApprovalRequest], Awaitable[None]],
    interval: float = 5.0,
    batch: int = 100,
) -> None:
    """Sweep every `interval` seconds until cancelled. A Redis outage is logged and retried next tick."""
    while True:
        try:
            await sweep_once(store, on_expired, batch)
        except Exception:
            log.exception("approval sweep failed; retrying in %.0fs", interval)
        await asyncio.sleep(interval)
