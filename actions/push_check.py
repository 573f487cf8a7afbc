"""Okta Verify push as an identity check: one push to the person's enrolled push factor, then a
bounded wait for their phone's answer.

Okta's Factors API names no poll interval, so the transaction is polled every `interval` seconds
until it leaves WAITING or `timeout` has passed. Okta gives up on a push after five minutes by
itself; our own bound is shorter, so an employee is never left waiting on a silent bot.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from oktaclient import OktaClient
from oktaclient.models import FactorTransaction


class PushResult(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    UNANSWERED = "unanswered"  # timed out (ours or Okta's), or ended any other way than yes or no
    NO_FACTOR = "no push factor"


@dataclass(frozen=True)
class PushTiming:
    """Seconds to wait for an answer, and between polls (tests pass a few milliseconds)."""

    timeout: float = 60.0
    interval: float = 2.0


DEFAULT_TIMING = PushTiming()


async def push_check(
    okta: OktaClient,
    user_id: str,
    timing: PushTiming,
    sent: Callable[[FactorTransaction], Awaitable[None]],
    *,
    number_challenge: bool = False,
) -> PushResult:
    """Push to the user's active Okta Verify factor and wait for the answer; `sent` is told once the
    push is on its way (to say "check your phone", or which number to pick when `number_challenge`).
    Raises the client's typed errors."""
    factors = await okta.list_factors(user_id)
    factor = next((f for f in factors if f.factorType == "push" and f.status == "ACTIVE"), None)
    if factor is None:
        return PushResult.NO_FACTOR
    tx = await okta.verify_push(user_id, factor.id, number_challenge=number_challenge)
    await sent(tx)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timing.timeout
    while tx.factorResult == "WAITING" and tx.poll_url is not None:
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        await asyncio.sleep(min(timing.interval, remaining))
        tx = await okta.poll_factor_transaction(tx.poll_url)  # once more at the deadline: a last-moment yes counts
    return {"SUCCESS": PushResult.APPROVED, "REJECTED": PushResult.REJECTED}.get(tx.factorResult, PushResult.UNANSWERED)
