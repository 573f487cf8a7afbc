"""Holding an execution lease while the work under it runs (the lease itself: approvals/store.py).

The lease is renewed every third of its length, so a holder that lives keeps it and one that dies
loses it within one lease. A renewal that Redis refuses (another replica took the execution
over) cancels the work: the new holder settles the request. A renewal that fails (Redis out of
reach) is tried again at the next tick; the lease may run out meanwhile, and then the fencing
token keeps this holder's late finish out. Work cancelled from outside (the process is stopping)
hands the lease back, so that a sweeper on another replica takes over at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

from redis.exceptions import RedisError

from approvals.store import ApprovalStore

log = logging.getLogger(__name__)

T = TypeVar("T")

STOPPED = "the replica running it stopped before it finished"


class LeaseLost(Exception):
    """Another replica took the execution over; the work was cancelled and the new holder settles it."""


async def holding(store: ApprovalStore, approval_id: str, executor: str, work: Coroutine[Any, Any, T]) -> T:
    """Run `work` while holding the execution lease of `approval_id` under the token `executor`;
    its result, or LeaseLost."""
    task = asyncio.ensure_future(work)
    try:
        while not (await asyncio.wait({task}, timeout=store.lease / 3))[0]:
            held = await _renewed(store, approval_id, executor)
            cancel_swallowed()
            if not held:
                task.cancel()
                await asyncio.wait({task})
                raise LeaseLost(approval_id)
        return task.result()
    except asyncio.CancelledError:
        task.cancel()
        await asyncio.wait({task})
        try:
            await store.hand_back(approval_id, executor, STOPPED)
        except RedisError:  # then the lease runs out on its own
            log.warning("approval %s: could not hand back its execution lease", approval_id)
        raise


def cancel_swallowed() -> None:
    """Raise the CancelledError of a cancel that landed as a Redis reply arrived: Python 3.11's
    asyncio.wait_for (redis-py's) then returns the reply and drops the error, but the task still
    counts the request (Task.cancelling)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def _renewed(store: ApprovalStore, approval_id: str, executor: str) -> bool:
    try:
        return await store.renew(approval_id, executor)
    except RedisError:
        log.warning("approval %s: execution lease not renewed (Redis); trying again", approval_id)
        return True
