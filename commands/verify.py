"""`/okta verify <user>`: is the person on the phone with the helpdesk the user they claim to be?

The bot sends an Okta Verify push with a number matching challenge to the user's enrolled phone and
shows the agent (only them) the number to read out; the caller must pick that number on the phone.
Someone who is not the user cannot approve it, and the real user, who did not call, has no number to
pick. The result is shown to the agent and recorded; an approved push is remembered (Redis, see
actions/verifications.py) for the policy's `verification` rule, and a rejected one is also posted to
the security alerts channel, since someone may be impersonating the user.
"""

from __future__ import annotations

from typing import NamedTuple

from actions.describe import describe
from actions.identity import Identity
from actions.invocation import Invocation
from actions.push_check import PushResult, PushTiming, push_check
from actions.verifications import Verifications
from audit import AuditRecord
from audit.recorder import now
from commands.context import Services
from oktaclient.models import FactorTransaction, User
from policy import Verb
from slackport import Reply
from slacktext import escape


class _Said(NamedTuple):
    outcome: str  # the audit record's
    detail: str
    text: str  # for the agent; `{user}` is the user as described


_RESULTS = {
    PushResult.APPROVED: _Said(
        "succeeded", "verified: number challenge approved",
        ":white_check_mark: *Verified*: {user} picked the right number and approved the Okta Verify push.",
    ),
    PushResult.REJECTED: _Said(
        "failed", "rejected",
        ":no_entry: *Not verified*: the Okta Verify push to {user} was rejected (or the wrong number was picked). "
        "Do not make changes for this caller.",
    ),
    PushResult.UNANSWERED: _Said(
        "failed", "timed out",
        ":hourglass: *Not verified*: the Okta Verify push to {user} was not answered in time. "
        "Run `/okta verify` again when they have their phone at hand.",
    ),
    PushResult.NO_FACTOR: _Said(
        "failed", "no push factor",
        ":no_entry: *Not verified*: {user} has no active Okta Verify push factor. "
        "Check who they are another way (your identity-proofing procedure).",
    ),
}


class Verifier:
    def __init__(self, services: Services, verifications: Verifications, timing: PushTiming) -> None:
        self.s = services
        self.verifications = verifications
        self._timing = timing

    async def run(self, inv: Invocation, identity: Identity, user: User) -> None:
        """Push, show the number, wait, report. Raises the client's typed errors (the caller explains them)."""
        who = describe(user)

        async def sent(tx: FactorTransaction) -> None:
            number = tx.correct_answer
            pick = f"Ask them to pick *{number}* in Okta Verify" if number is not None else "Ask them to approve it"
            text = (
                f":iphone: Sent an Okta Verify push to {who}. {pick}, and do not tell them the number before they "
                f"see it. :hourglass_flowing_sand: Waiting up to {self._timing.timeout:.0f} seconds…"
            )
            await inv.respond(Reply(text=text), replace_original=True)

        result = await push_check(self.s.okta, user.id, self._timing, sent, number_challenge=True)
        said = _RESULTS[result]
        if result == PushResult.APPROVED:
            await self.verifications.remember(user.id, inv.user_id, self.s.policy.verification.within)
        elif result == PushResult.REJECTED:
            alerts = self.s.policy.alerts
            if alerts is not None:
                line = (
                    f":rotating_light: <@{inv.user_id}> ran `/okta verify` on {who} and the Okta Verify push was "
                    "*rejected*: someone may be impersonating them to the helpdesk."
                )
                self.s.slack.announce(alerts.default_channel, Reply(text=line))
        await self.s.recorder.record(
            AuditRecord(
                at=now(), actor=inv.user_id, actor_email=identity.email, verb=Verb.VERIFY.value,
                target=user.profile.login, outcome=said.outcome, detail=said.detail,
                source="button" if inv.source == "button" else "command",
            )
        )
        await inv.respond(Reply(text=said.text.format(user=who)), replace_original=True)


def unverified_refusal(verb: Verb, user: User, within: int) -> str:
    """Why `verb` waits for `/okta verify` (mrkdwn)."""
    minutes = max(within // 60, 1)
    return (
        f"The policy requires verifying {describe(user)} before `{verb.value}`: run "
        f"`/okta verify {escape(user.profile.login)}` while they are on the call, then try again "
        f"(a verification counts for {minutes} minute(s))."
    )
