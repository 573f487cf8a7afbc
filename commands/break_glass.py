"""`/okta break-glass <group> [for <duration>] <reason>` and the announcement's Review button.

Who may is decided here, from the policy's `access.groups.<group>.break_glass` and the caller's
roles; taking, announcing, reviewing and flagging are access/break_glass.py's. Every refusal is
audited and explained, and changes nothing.
"""

from __future__ import annotations

from access import BreakGlassGrants, GrantConflict, Review
from access.duration import short_duration
from access.messages import at
from actions.identity import Identity
from actions.invocation import Invocation
from actions.okta_errors import explain
from audit import AuditRecord
from audit.recorder import now
from commands.context import Services
from commands.grammar import Command
from commands.targets import NotResolved
from oktaclient.errors import OktaError
from oktaclient.models import Group
from policy import Verb
from policy.access import BreakGlass
from slackport import Reply
from slacktext import escape


class BreakGlassCommand:
    def __init__(self, services: Services, glass: BreakGlassGrants) -> None:
        self.s = services
        self.glass = glass

    async def take(self, inv: Invocation, identity: Identity, command: Command) -> None:
        assert command.group is not None and command.reason  # the grammar requires both
        user = identity.okta_user
        if user is None:
            await self._answer(inv, ":no_entry: You have no Okta account that Slack vouches for, so you cannot take access.")
            return
        group = await self.s.resolver.group(command.group)
        if isinstance(group, NotResolved):
            await self._answer(inv, group.message)
            return
        rule_or_refusal = self._rule(identity, group, command.duration)
        if isinstance(rule_or_refusal, str):
            await self._audit(inv, identity, user.profile.login, "refused", rule_or_refusal)
            await self._answer(inv, f":no_entry: {rule_or_refusal}")
            return
        rule = rule_or_refusal
        try:
            given = await self.glass.take(
                user=user, group=group, seconds=command.duration or rule.max_duration, by=inv.user_id, reason=command.reason, rule=rule
            )
        except OktaError as exc:
            await self._audit(inv, identity, user.profile.login, "failed", str(exc))
            await self._answer(inv, f":x: {explain(exc, f'Adding you to *{escape(group.profile.name)}*')}")
            return
        except GrantConflict as exc:
            await self._audit(inv, identity, user.profile.login, "refused", str(exc))
            await self._answer(inv, f":no_entry: {escape(str(exc))}. Nothing was taken.")
            return
        grant = given.grant
        where = self.s.policy.break_glass_channel(rule) or "the security channel"
        await self._answer(
            inv,
            f":rotating_light: Break-glass: you are in *{escape(grant.group_name)}* until {at(grant.ends)} (grant `{grant.id}`). "
            f"It was announced in {escape(where)}; an approver of the group will review it.",
        )

    def _rule(self, identity: Identity, group: Group, seconds: int | None) -> BreakGlass | str:
        """The group's break-glass rule for this caller and duration, or why not (for the person)."""
        name = group.profile.name
        access_group = self.s.policy.access_group(name)
        rule = access_group.break_glass if access_group else None
        if rule is None:
            why = self.s.policy.privilege_of(name)
            if why:
                return (
                    f"*{escape(name)}* is a privileged group ({escape('; '.join(why))}): it is given only through "
                    "approval by others, never by break-glass."
                )
            return f"*{escape(name)}* is not open to break-glass: the policy does not opt it in."
        if set(rule.roles).isdisjoint(identity.roles):
            roles = ", ".join(f"*{escape(r)}*" for r in rule.roles)
            return f"Break-glass on *{escape(name)}* is for the on-call only (role {roles})."
        if seconds is not None and seconds > rule.max_duration:
            return f"Break-glass on *{escape(name)}* lasts at most {short_duration(rule.max_duration)}, not {short_duration(seconds)}."
        return rule

    async def review(self, inv: Invocation, grant_id: str) -> None:
        """The Review button: the clicker's roles and Okta account are read afresh, at the click."""
        identity = await self.s.identities.of(inv.user_id, fresh=True)
        outcome, grant = await self.glass.review(grant_id, inv.user_id, identity.roles, identity.okta_user_id)
        if grant is None:
            await self._tell(inv, "That break-glass access is no longer known; nothing was reviewed.")
            return
        what = f"the break-glass of *{escape(grant.group_name)}* by <@{grant.granted_by}>"
        answers = {
            Review.REVIEWED: f":white_check_mark: You reviewed {what}.",
            Review.ALREADY: f"Someone reviewed {what} already; nothing changed.",
            Review.OWN: f":no_entry: You cannot review {what}: someone other than whoever took it must.",
            Review.NOT_APPROVER: f":no_entry: Only holders of the *{escape(self.glass.reviewer_role(grant.group_name))}* role review {what}.",
        }
        if outcome in (Review.OWN, Review.NOT_APPROVER):
            detail = f"review of the break-glass of {grant.group_name} (grant {grant.id}): {outcome.value}"
            await self._audit(inv, identity, grant.login, "refused", detail)
        await self._tell(inv, answers[outcome])

    async def _answer(self, inv: Invocation, text: str) -> None:
        await inv.respond(Reply(text=text), replace_original=True)

    async def _tell(self, inv: Invocation, text: str) -> None:
        """Beside the announcement, to the clicker only: the announcement itself stays for everyone."""
        await inv.respond(Reply(text=text), replace_original=False)

    async def _audit(self, inv: Invocation, identity: Identity, target: str, outcome: str, detail: str) -> None:
        await self.s.recorder.record(
            AuditRecord(
                at=now(), actor=inv.user_id, actor_email=identity.email, verb=Verb.BREAK_GLASS.value, target=target,
                outcome=outcome, detail=detail, source="button" if inv.source == "button" else "command",
            )
        )
