"""Exactly-once posting of one alert message, over at-least-once delivery.

Why this is enough: a message is claimed in the ledger (atomic, server clock) before it is posted,
and marked posted after. Duplicates of an event see `posting`/`posted` and do not post. A worker
that dies leaves either
- a claim but no message: the claim goes stale, the next claimant finds nothing in the channel and
  posts; or
- a message but no mark: the next claimant finds the message by its metadata (conversations.history,
  include_all_metadata) and only records it.
The remaining window is a worker that is alive but slower than the stale time between claiming and
Slack's answer; the worker bounds each post well below the stale time to keep that shut.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from alerts.format import AlertMessage
from alerts.ledger import Claim, ClaimState, Ledger
from alerts.sink import Sink, message_metadata
from slackport import Posted, SlackError

# How far before a stale claim to start looking for its message: room for clock skew between the
# Redis server (claim times) and Slack (message ts).
LOOKUP_MARGIN_S = 300.0


class Publisher:
    def __init__(self, ledger: Ledger, sink: Sink, owner: str, *, post_timeout_s: float) -> None:
        if post_timeout_s * 1000 >= ledger.stale_ms > 0:
            raise ValueError("post_timeout_s must be well below the ledger's stale time")
        self.ledger = ledger
        self.sink = sink
        self.owner = owner
        self.post_timeout_s = post_timeout_s

    async def claim(self, key: str) -> Claim:
        return await self.ledger.claim(key, self.owner)

    async def recover(self, key: str, claim: Claim, channel: str) -> Posted | None:
        """For a STALE claim: the message its dead owner managed to post, now recorded; else None."""
        if claim.state is not ClaimState.STALE:
            return None
        found = await self.sink.find_posted(channel, message_metadata(key), oldest=claim.since_ms / 1000 - LOOKUP_MARGIN_S)
        if found is not None:
            await self.ledger.mark_posted(key, found.channel, found.ts)
        return found

    async def post(self, key: str, channel: str, message: AlertMessage) -> Posted:
        """Posts under our claim and records it. On a SlackError that is `certain` (nothing was posted)
        the claim is dropped; otherwise it is left to go stale, for the next claimant to look first."""
        try:
            async with asyncio.timeout(self.post_timeout_s):  # a TimeoutError leaves the claim to go stale
                posted = await self.sink.post(channel, message.reply, metadata=message_metadata(key))
        except SlackError as exc:
            if exc.certain:
                await self.ledger.release(key, self.owner)
            raise
        await self.ledger.mark_posted(key, posted.channel, posted.ts)
        return posted

    async def ensure(self, key: str, channel: str, render: Callable[[], Awaitable[AlertMessage]]) -> Posted | None:
        """Makes sure the message exists in Slack; None while another worker is posting it."""
        claim = await self.claim(key)
        if claim.state is ClaimState.POSTED:
            return Posted(channel=claim.channel, ts=claim.ts)
        if claim.state is ClaimState.BUSY:
            return None
        return await self.recover(key, claim, channel) or await self.post(key, channel, await render())
