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

A message Slack refuses for good (`refused_for_good`: its blocks, its length, its channel) is sent
once more as plain text, since a Block Kit problem should not cost the alert; refused again, it
raises `Refused`, and the worker parks the event in the dead-letter stream (alerts/deadletters.py).
Errors that concern every message alike (bad token, missing scope) are not the message's fault:
those stay retryable, like Slack being busy, and nothing is parked for them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from alerts.format import AlertMessage
from alerts.ledger import Claim, ClaimState, Ledger
from alerts.sink import Sink, message_metadata
from slackport import Posted, Reply, SlackError

log = logging.getLogger(__name__)
T = TypeVar("T")

# How far before a stale claim to start looking for its message: room for clock skew between the
# Redis server (claim times) and Slack (message ts).
LOOKUP_MARGIN_S = 300.0

# Refusals that are about the app, not the message: every post would get them, so parking the
# messages would only empty the stream into the dead letters. Answers that are not Slack's own
# (`http_<status>`, `unknown_error`: a proxy in the way) are treated alike.
APP_ERRORS = frozenset(
    {
        "not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired", "no_permission",
        "missing_scope", "not_allowed_token_type", "team_access_not_granted", "ekm_access_denied",
        "org_login_required", "enterprise_is_restricted", "access_denied", "two_factor_setup_required",
        "unknown_method", "method_deprecated", "deprecated_endpoint", "unknown_error",
    }
)  # fmt: skip


def refused_for_good(exc: SlackError) -> bool:
    """Whether Slack refused this message itself (or its channel), so that sending it again as it is
    can never succeed."""
    return not exc.retryable and exc.error not in APP_ERRORS and not exc.error.startswith("http_")


class Refused(SlackError):
    """Slack refused a message for good, and its plain-text retry too: park it. `error` is Slack's
    code for the message, `plain_error` for the retry."""

    def __init__(self, method: str, error: str, plain_error: str) -> None:
        super().__init__(method, error)  # certain: nothing was posted
        self.plain_error = plain_error


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
        """For a STALE claim: the message its dead owner managed to post, now recorded; else None. A
        channel Slack will not let us read (gone, or the bot is not in it) cannot hold our message
        either: None, and the post that follows is refused and parked, not looked up for ever."""
        if claim.state is not ClaimState.STALE:
            return None
        oldest = claim.since_ms / 1000 - LOOKUP_MARGIN_S
        try:
            found = await self.sink.find_posted(channel, message_metadata(key), oldest=oldest)
        except SlackError as exc:
            if not refused_for_good(exc):
                raise
            log.warning("%s: cannot look for alert %s in %s (%s)", exc.method, key, channel, exc.error)
            return None
        if found is not None:
            await self.ledger.mark_posted(key, found.channel, found.ts)
        return found

    async def post(self, key: str, channel: str, message: AlertMessage) -> Posted:
        """Posts under our claim and records it. On a SlackError that is `certain` (nothing was posted)
        the claim is dropped; otherwise it is left to go stale, for the next claimant to look first.
        Refused: Slack refused it, and as plain text too."""
        metadata = message_metadata(key)
        try:
            async with asyncio.timeout(self.post_timeout_s):  # a TimeoutError leaves the claim to go stale
                posted = await self._send(lambda reply: self.sink.post(channel, reply, metadata=metadata), message)
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

    async def update(self, posted: Posted, message: AlertMessage) -> None:
        """Replaces the message's content; Refused as `post`."""
        await self._send(lambda reply: self.sink.update(posted.channel, posted.ts, reply), message)

    @staticmethod
    async def _send(send: Callable[[Reply], Awaitable[T]], message: AlertMessage) -> T:
        """`send(message.reply)`; if Slack refuses it for good, `send(message.plain)` once more."""
        try:
            return await send(message.reply)
        except SlackError as exc:
            if not refused_for_good(exc):
                raise
            first = exc
        log.warning("Slack refused an alert message (%s); sending it as plain text", first.error)
        try:
            return await send(message.plain)
        except SlackError as exc:
            if refused_for_good(exc):
                raise Refused(first.method, first.error, exc.error) from exc
            raise
