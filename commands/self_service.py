"""Employees acting on their own Okta account: `/okta unlock` (or `unlock me`), `/okta reset-password`
and the Home tab's buttons.

The account is always the caller's own, found from their Slack profile email (the Identity), never
from anything typed. Guests, bots, unverified emails and people without an Okta match are refused
with a reason; a per-employee rate limit in Redis caps how often it can be used (and so how many
pushes a stolen Slack session can send). When the policy asks for it, an Okta Verify push the
employee approves on their phone comes before the change. Every use is audited and, when the policy
names an `announce_channel`, announced there; a rejected push is also posted to the security alerts
channel, since it may mean someone else is using the employee's Slack session.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from redis.asyncio import Redis

from actions.identity import Identity
from actions.invocation import Invocation
from actions.okta_errors import explain
from actions.operations import EFFECTS, Operation, perform
from actions.push_check import DEFAULT_TIMING, PushResult, PushTiming, push_check
from audit import AuditRecord
from audit.recorder import now
from commands.cards import fitting_actions
from commands.context import Services
from oktaclient.errors import OktaError
from oktaclient.models import FactorTransaction, User, UserStatus
from policy import Policy, Verb
from policy.sections import SelfServiceRule
from slackport import Reply
from slacktext import escape

log = logging.getLogger(__name__)

RATE_PREFIX = "okc:self-service:rate:"  # + Slack user id: uses in the current window (expires with it)

# One step: count this use and start the window on the first one (INCR + EXPIRE NX).
_RATE_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class Answer(NamedTuple):
    detail: str  # for the audit trail and the announcement: short, about the employee
    text: str  # for the employee


class _Wording(NamedTuple):
    working: str  # for "Unlocking your account failed. …"
    done: str


_WORDING = {
    Verb.UNLOCK: _Wording(
        "Unlocking your account", ":white_check_mark: Your Okta account is unlocked. Sign in again with your usual password."
    ),
    Verb.RESET_PASSWORD: _Wording(
        "Resetting your password", ":email: Okta has emailed you a password reset link. It expires soon: use it now."
    ),
}

_PUSH_REFUSALS = {
    PushResult.REJECTED: Answer(
        "Okta Verify push rejected",
        ":no_entry: The Okta Verify push was rejected on your phone, so nothing was changed. "
        "If you meant to approve it, try again.",
    ),
    PushResult.UNANSWERED: Answer(
        "Okta Verify push not answered",
        ":hourglass: The Okta Verify push was not answered in time, so nothing was changed. "
        "Try again when you have your phone at hand.",
    ),
    PushResult.NO_FACTOR: Answer(
        "no Okta Verify push factor",
        ":no_entry: You have no Okta Verify push set up, so I cannot confirm it is you. "
        "Ask the helpdesk: they can check who you are another way.",
    ),
}


def who_refusal(identity: Identity) -> Answer | None:
    """Why this Slack member cannot act on an Okta account of their own; None when they can."""
    person = identity.person
    if person.is_bot:
        return Answer("bot", ":no_entry: Bots have no Okta account to unlock.")
    if person.deleted:
        return Answer("deactivated Slack account", ":no_entry: Your Slack account is deactivated.")
    if person.is_guest:
        return Answer(
            "guest account",
            ":no_entry: Guest accounts cannot use self-service; ask the person who invited you, or the helpdesk.",
        )
    if not person.email:
        return Answer(
            "no email in Slack",
            ":no_entry: Your Slack profile has no email address, so I cannot find your Okta account. Ask the helpdesk.",
        )
    if not person.email_verified:
        return Answer(
            "unverified Slack email",
            ":no_entry: Your Slack email address is not verified, so I cannot trust it to find your Okta account.",
        )
    if identity.okta_user is None:
        return Answer(
            "no Okta match",
            f":no_entry: No Okta account matches your Slack email `{escape(person.email)}`. Ask the helpdesk.",
        )
    return None


def status_refusal(verb: Verb, user: User) -> Answer | None:
    """Why `verb` cannot help an account in this status (Okta would refuse it); None when it can."""
    if verb in fitting_actions(user, lambda v: v == verb):
        return None
    if verb == Verb.UNLOCK and user.status == UserStatus.ACTIVE:
        return Answer(
            "not locked",
            ":information_source: Your Okta account is not locked. If you forgot your password, run "
            "`/okta reset-password` and follow the email; if sign-in still fails, ask the helpdesk.",
        )
    status = escape(user.status.lower().replace("_", " "))
    return Answer(
        f"account {status}",
        f":no_entry: Your Okta account is {status}, which `{verb.value}` cannot change. Please contact the helpdesk.",
    )


def _protected(user: User, groups: list[str], policy: Policy) -> Answer | None:
    """Protected accounts are changed by nobody from Slack, their owners included: a stolen Slack
    session must not be able to reset an admin's password."""
    if not policy.is_protected(user.profile.login, groups):
        return None
    return Answer(
        "protected account",
        ":no_entry: Your account is protected: it cannot be unlocked or reset from Slack. "
        "Ask your Okta administrators.",
    )


def _not_enabled(verb: Verb, rule: SelfServiceRule | None) -> Answer | None:
    if rule is not None:
        return None
    return Answer(
        "not enabled",
        f":no_entry: Unlocking or resetting your own account from Slack (`{verb.value}`) is not enabled for you. "
        "Ask in the helpdesk channel.",
    )


def _okta_failure(exc: OktaError, action: str) -> Answer:
    return Answer(getattr(exc, "error_summary", str(exc)), f":x: {explain(exc, action)}")


class SelfService:
    def __init__(self, services: Services, redis: Redis, *, push_timing: PushTiming = DEFAULT_TIMING) -> None:
        self.s = services
        self._rate = redis.register_script(_RATE_SCRIPT)
        self._push_timing = push_timing

    async def run(self, inv: Invocation, identity: Identity, verb: Verb) -> None:
        rule = self.s.policy.self_service_rule(verb, identity.roles)
        refusal = who_refusal(identity) or _not_enabled(verb, rule) or await self._rate_refusal(inv.user_id)
        if refusal is not None:
            await self._finish(inv, identity, verb, "refused", refusal)
            return
        assert identity.okta_user is not None and rule is not None  # who_refusal and _not_enabled saw to it
        user = await self.s.okta.get_user(identity.okta_user.id)  # the cached identity may be stale
        groups = [g.profile.name async for g in self.s.okta.list_user_groups(user.id)]
        refusal = _protected(user, groups, self.s.policy) or status_refusal(verb, user)
        if refusal is not None:
            await self._finish(inv, identity, verb, "refused", refusal)
            return
        if rule.verify_push and not await self._verified(inv, identity, verb, user.id):
            return
        try:
            outcome = await perform(self.s.okta, Operation(verb=verb, user_id=user.id))
        except OktaError as exc:
            await self._finish(inv, identity, verb, "failed", _okta_failure(exc, _WORDING[verb].working))
            return
        done = Answer(EFFECTS[verb].past, _WORDING[verb].done)
        await self._finish(inv, identity, verb, "succeeded", done, okta_request_id=outcome.request_id)

    async def _rate_refusal(self, user_id: str) -> Answer | None:
        limit = self.s.policy.self_service.rate_limit
        used = int(await self._rate(keys=[RATE_PREFIX + user_id], args=[limit.per]))
        if used <= limit.count:
            return None
        return Answer(
            "rate limit reached",
            f":no_entry: You have used self-service {limit.count} times recently, the most allowed; "
            "try again later or ask the helpdesk.",
        )

    async def _verified(self, inv: Invocation, identity: Identity, verb: Verb, user_id: str) -> bool:
        """Whether the employee approved an Okta Verify push; when not, they have been answered."""

        async def sent(tx: FactorTransaction) -> None:
            number = f" and tap *{tx.correct_answer}*" if tx.correct_answer is not None else ""
            wait = f"{self._push_timing.timeout:.0f} seconds"
            text = f":iphone: Check your phone: approve the Okta Verify push{number} to confirm it is you (I will wait {wait})."
            await inv.respond(Reply(text=text), replace_original=inv.source == "command")

        try:
            result = await push_check(self.s.okta, user_id, self._push_timing, sent)
        except OktaError as exc:
            await self._finish(inv, identity, verb, "failed", _okta_failure(exc, "Sending the Okta Verify push"))
            return False
        if result == PushResult.APPROVED:
            return True
        if result == PushResult.REJECTED:
            alerts = self.s.policy.alerts
            text = (
                f":rotating_light: <@{inv.user_id}> asked from Slack to `{verb.value}` their own Okta account "
                f"({escape(identity.email or '')}), and the Okta Verify push to their phone was *rejected*. "
                "If they did not ask, someone else may be using their Slack session."
            )
            self._announce(alerts.default_channel if alerts else None, text)
        await self._finish(inv, identity, verb, "refused", _PUSH_REFUSALS[result])
        return False

    async def _finish(
        self, inv: Invocation, identity: Identity, verb: Verb, outcome: str, said: Answer,
        okta_request_id: str | None = None,
    ) -> None:
        target = identity.okta_user.profile.login if identity.okta_user else identity.email
        await self.s.recorder.record(
            AuditRecord(
                at=now(), actor=inv.user_id, actor_email=identity.email, verb=verb.value, target=target,
                outcome=outcome, detail=said.detail, okta_request_id=okta_request_id, source="self-service",
            )
        )
        line = f"<@{inv.user_id}> self-service `{verb.value}` → *{outcome}*: {escape(said.detail)}"
        self._announce(self.s.policy.self_service.announce_channel, line)
        await inv.respond(Reply(text=said.text), replace_original=inv.source == "command")

    def _announce(self, channel: str | None, text: str) -> None:
        """A line in a channel, queued: the person's answer never waits for it (the audit stream has it all)."""
        if channel is not None:
            self.s.slack.announce(channel, Reply(text=text))
