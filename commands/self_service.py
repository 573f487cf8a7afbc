"""Employees acting on their own Okta account: `/okta unlock` (or `unlock me`), `/okta reset-password`.

The account is always the caller's own, found from their Slack profile email (the Identity), never
from anything typed. Guests, bots, unverified emails and people without an Okta match are refused
with a reason; a per-employee rate limit in Redis caps how often it can be used.
"""

from __future__ import annotations

from redis.asyncio import Redis

from audit import AuditRecord
from commands.context import Invocation, Services
from commands.identity import Identity
from commands.okta_errors import explain
from commands.ports import Reply
from commands.recording import now
from commands.slacktext import escape
from oktaclient.errors import OktaError
from oktaclient.models import UserStatus
from policy import Verb

RATE_PREFIX = "okc:self-service:rate:"

# One step: count this use and start the window on the first one (INCR + EXPIRE NX).
_RATE_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class SelfService:
    def __init__(self, services: Services, redis: Redis) -> None:
        self.s = services
        self._rate = redis.register_script(_RATE_SCRIPT)

    async def run(self, inv: Invocation, identity: Identity, verb: Verb) -> None:
        problem = self._who_problem(identity)
        if problem is None and self.s.policy.self_service_rule(verb, identity.roles) is None:
            problem = f"Unlocking or resetting your own account from Slack (`{verb.value}`) is not enabled for you. Ask in the helpdesk channel."
        if problem is None:
            problem = await self._rate_problem(inv.user_id)
        if problem is not None:
            await self._finish(inv, identity, verb, "refused", f":no_entry: {problem}")
            return
        assert identity.okta_user is not None
        user = await self.s.okta.get_user(identity.okta_user.id)  # the cached identity may be stale
        if verb == Verb.UNLOCK:
            await self._unlock(inv, identity, user.id, user.status)
        else:
            await self._reset(inv, identity, user.id, user.status)

    def _who_problem(self, identity: Identity) -> str | None:
        person = identity.person
        if person.is_bot:
            return "Bots have no Okta account to unlock."
        if person.deleted:
            return "Your Slack account is deactivated."
        if person.is_guest:
            return "Guest accounts cannot use self-service; ask the person who invited you, or the helpdesk."
        if not person.email:
            return "Your Slack profile has no email address, so I cannot find your Okta account. Ask the helpdesk."
        if not person.email_verified:
            return "Your Slack email address is not verified, so I cannot trust it to find your Okta account."
        if identity.okta_user is None:
            return f"No Okta account matches your Slack email `{escape(person.email)}`. Ask the helpdesk."
        return None

    async def _rate_problem(self, user_id: str) -> str | None:
        limit = self.s.policy.self_service.rate_limit
        used = int(await self._rate(keys=[RATE_PREFIX + user_id], args=[limit.per]))
        if used > limit.count:
            return (
                f"You have used self-service {limit.count} times recently, the most allowed; "
                "try again later or ask the helpdesk."
            )
        return None

    async def _unlock(self, inv: Invocation, identity: Identity, user_id: str, status: UserStatus) -> None:
        if status == UserStatus.ACTIVE:
            text = (
                "Your Okta account is not locked. If you forgot your password, run `/okta reset-password` "
                "and follow the email; if sign-in still fails, ask the helpdesk."
            )
            await self._finish(inv, identity, Verb.UNLOCK, "refused", text, "not locked")
            return
        if status != UserStatus.LOCKED_OUT:
            text = f"Your Okta account is {escape(status.lower())}, which self-service cannot change. Please contact the helpdesk."
            await self._finish(inv, identity, Verb.UNLOCK, "refused", f":no_entry: {text}", f"status {status}")
            return
        try:
            outcome = await self.s.okta.unlock_user(user_id)
        except OktaError as exc:
            await self._finish(inv, identity, Verb.UNLOCK, "failed", f":x: {explain(exc, 'Unlocking your account')}")
            return
        text = ":white_check_mark: Your Okta account is unlocked. Sign in again with your usual password."
        await self._finish(inv, identity, Verb.UNLOCK, "succeeded", text, okta_request_id=outcome.request_id)

    async def _reset(self, inv: Invocation, identity: Identity, user_id: str, status: UserStatus) -> None:
        if status in (UserStatus.SUSPENDED, UserStatus.DEPROVISIONED, UserStatus.STAGED, UserStatus.PROVISIONED):
            text = f"Your Okta account is {escape(status.lower())}; a password reset cannot help. Please contact the helpdesk."
            await self._finish(inv, identity, Verb.RESET_PASSWORD, "refused", f":no_entry: {text}", f"status {status}")
            return
        try:
            outcome = await self.s.okta.reset_password(user_id, send_email=True)
        except OktaError as exc:
            await self._finish(inv, identity, Verb.RESET_PASSWORD, "failed", f":x: {explain(exc, 'Resetting your password')}")
            return
        text = ":email: Okta has emailed you a password reset link. It expires soon: use it now."
        await self._finish(inv, identity, Verb.RESET_PASSWORD, "succeeded", text, okta_request_id=outcome.request_id)

    async def _finish(
        self, inv: Invocation, identity: Identity, verb: Verb, outcome: str, text: str, detail: str = "",
        okta_request_id: str | None = None,
    ) -> None:
        target = identity.okta_user.profile.login if identity.okta_user else identity.email
        await self.s.recorder.record(
            AuditRecord(
                at=now(), actor=inv.user_id, actor_email=identity.email, verb=verb.value, target=target,
                outcome=outcome, detail=detail or text[:200], okta_request_id=okta_request_id, source="self-service",
            )
        )
        await inv.respond(Reply(text=text), replace_original=inv.source == "command")
