"""The helpdesk verbs: look up, change and list, for one parsed command from one caller.

Order of checks, for every verb: who is calling (identity, roles) -> may they run the verb
(policy) -> which user and group (resolution) -> is the target protected -> approval needed? ->
the Okta call. Every outcome, refusals included, is audited and answered.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from access.duration import short_duration
from actions.describe import describe
from actions.identity import Identity
from actions.invocation import Invocation
from actions.okta_errors import explain
from actions.operations import EFFECTS, Operation, perform
from approvals.flow import ApprovalFlow
from audit import AuditRecord
from audit.recorder import now
from commands.activity import activity_reply, read_activity
from commands.break_glass import BreakGlassCommand
from commands.bulk import BulkChanges
from commands.cards import group_listing, user_card
from commands.context import Services
from commands.factors import FactorChoice, choose, factor_listing
from commands.grammar import Command, Login, Name, OktaUserId, ParseError, Self, SlackUser
from commands.history import PAGE, SCAN, history_reply
from commands.self_service import SelfService
from commands.targets import NotResolved
from commands.timed_access import TimedAccess
from commands.verbs import help_text
from commands.verify import Verifier, unverified_refusal
from oktaclient.errors import OktaError
from oktaclient.models import Group, User, UserStatus
from policy import Decision, Verb
from policy.verbs import BULK_VERBS, SELF_SERVICE_VERBS
from slackport import Reply
from slacktext import escape

READ_VERBS = frozenset({Verb.LOOKUP, Verb.GROUPS})
# Reads of the toolkit (issue 18); `reset-mfa` without a factor only lists the factors.
TOOLKIT_READS = frozenset({Verb.HISTORY, Verb.ACTIVITY})
DEFAULT_WINDOW = timedelta(hours=24)


def is_self_service(command: Command) -> bool:
    """`unlock`, `unlock me`, `reset-password`: the caller's own account, whatever they hold."""
    return command.verb in SELF_SERVICE_VERBS and (command.target is None or isinstance(command.target, Self))


class Helpdesk:
    def __init__(
        self,
        services: Services,
        approvals: ApprovalFlow,
        self_service: SelfService,
        verifier: Verifier,
        timed: TimedAccess,
        break_glass: BreakGlassCommand,
    ) -> None:
        self.s = services
        self.approvals = approvals
        self.self_service = self_service
        self.verifier = verifier
        self.bulk = BulkChanges(services, approvals, self._audit)
        self.timed = timed
        self.break_glass = break_glass

    async def run(self, inv: Invocation, command: Command) -> None:
        verb = command.verb
        if verb == Verb.HELP:
            await inv.respond(Reply(text=help_text(command.topic)), replace_original=not inv.on_card)
            return
        try:
            identity = await self.s.identities.of(inv.user_id)
        except OktaError as exc:
            await self._audit(inv, None, verb, _typed_target(command), "failed", _summary(exc), _request_id(exc))
            await self._answer(inv, f":x: {explain(exc, 'Looking up your Okta account and roles')}")
            return
        if is_self_service(command):
            await self.self_service.run(inv, identity, verb)
            return
        if verb == Verb.APPROVALS:
            if await self._permitted(inv, identity, verb):
                await self.approvals.list_pending(inv)
            return
        if verb in (Verb.REQUEST, Verb.ACCESS):  # the caller's own access; the access section decides the rest
            await (self.timed.request if verb == Verb.REQUEST else self.timed.list)(inv, identity, command)
            return
        if verb == Verb.BREAK_GLASS:  # the caller's own access; the group's break_glass rule decides
            await self.break_glass.take(inv, identity, command)
            return
        if verb == Verb.CANCEL:
            assert command.request_id is not None  # the grammar requires it
            if await self._permitted(inv, identity, verb):
                await self.approvals.cancel(inv, command.request_id)
            return
        typed = _typed_target(command)
        if not await self._permitted(inv, identity, verb, target=typed):
            return
        try:
            await self._on_target(inv, identity, command)
        except OktaError as exc:  # reading Okta failed (a write explains its own failure)
            action = f"`{verb.value}`" + (f" on `{escape(typed)}`" if typed else "")
            await self._audit(inv, identity, verb, typed, "failed", _summary(exc), _request_id(exc))
            await self._answer(inv, f":x: {explain(exc, action)}")

    async def _on_target(self, inv: Invocation, identity: Identity, command: Command) -> None:
        verb = command.verb
        if verb in BULK_VERBS:  # a group and many users: commands/bulk.py
            await self.bulk.run(inv, identity, command)
            return
        assert command.target is not None and not isinstance(command.target, Self)  # the grammar requires one
        user = await self.s.resolver.user(command.target, verb.value)
        if isinstance(user, NotResolved):
            await self._unresolved(inv, identity, command, user)
            return
        if verb in READ_VERBS:
            await self._read(inv, identity, verb, user)
            return
        if verb == Verb.VERIFY:
            await self.verifier.run(inv, identity, user)
            return
        if verb in TOOLKIT_READS or (verb == Verb.RESET_MFA and command.factor is None):
            await self._toolkit_read(inv, identity, command, user)
            return
        factor: FactorChoice | NotResolved | None = None
        if verb == Verb.RESET_MFA and command.factor is not None:
            factor = choose(await self.s.okta.list_factors(user.id), command.factor, user)
        if isinstance(factor, NotResolved):
            await self._unresolved(inv, identity, command, factor)
            return
        group = None if command.group is None else await self.s.resolver.group(command.group)
        if isinstance(group, NotResolved):
            await self._unresolved(inv, identity, command, group)
            return
        await self._write(inv, identity, command, user, group, factor=factor)

    async def _unresolved(self, inv: Invocation, identity: Identity, command: Command, failure: NotResolved) -> None:
        # audited (no match is worth knowing when someone probes names) but not announced
        detail = failure.message.split("\n", 1)[0]
        await self._audit(inv, identity, command.verb, _typed_target(command), "unresolved", detail)
        await self._answer(inv, failure.message)

    async def invalid(self, user_id: str, text: str, error: ParseError) -> None:
        """A command that did not parse (the ack told the caller why): audited all the same."""
        verb = (text.split() or [""])[0][:40]  # as typed: it may be no verb at all
        detail = f"{error.kind}: {text}"
        await self.s.recorder.record(
            AuditRecord(at=now(), actor=user_id, verb=verb, outcome="invalid", detail=detail, source="command")
        )

    # --- checks -------------------------------------------------------------------------------------

    async def _permitted(self, inv: Invocation, identity: Identity, verb: Verb, target: str | None = None) -> bool:
        decision = self.s.policy.decide(verb, identity.roles)
        if decision.allowed:
            return True
        await self._refuse(inv, identity, verb, target, _role_needed(verb, decision))
        return False

    async def _refuse(self, inv: Invocation, identity: Identity, verb: Verb, target: str | None, why: str) -> None:
        await self._audit(inv, identity, verb, target, "refused", why)
        await self._answer(inv, f":no_entry: {why}")

    # --- reads --------------------------------------------------------------------------------------

    async def _read(self, inv: Invocation, identity: Identity, verb: Verb, user: User) -> None:
        if verb == Verb.GROUPS:
            groups = await self._groups_of(user)
            await inv.respond(group_listing(user, groups, self.s.org_url), replace_original=inv.source == "command")
        else:
            await self._show_card(inv, identity, user)
        await self._audit(inv, identity, verb, user.profile.login, "succeeded")

    async def _groups_of(self, user: User) -> list[Group]:
        return [g async for g in self.s.okta.list_user_groups(user.id)]

    async def _show_card(
        self, inv: Invocation, identity: Identity, user: User, groups: list[Group] | None = None, note: str | None = None
    ) -> None:
        # groups and factors in parallel: a lookup is the user, then one more round trip to Okta
        if groups is None:
            read, factors = await asyncio.gather(self._groups_of(user), self.s.okta.list_factors(user.id))
            groups = read
        else:
            factors = await self.s.okta.list_factors(user.id)
        card = user_card(
            user,
            groups,
            factors,
            allowed=lambda v: self.s.policy.decide(v, identity.roles).allowed,
            org_url=self.s.org_url,
            note=note,
            protected=self.s.policy.is_protected(user.profile.login, [g.profile.name for g in groups]),
        )
        # From a command: replaces the "working on it" acknowledgement. From an alert's button: a new
        # message, since replacing would remove the alert from the channel.
        await inv.respond(card, replace_original=inv.source == "command" or inv.on_card)

    async def _toolkit_read(self, inv: Invocation, identity: Identity, command: Command, user: User) -> None:
        match command.verb:
            case Verb.HISTORY:
                page = command.page or 1
                names = (user.profile.login, user.id)
                entries = await self.s.recorder.audit.recent(page * PAGE + 1, target=names, scan=SCAN)
                shown = entries[(page - 1) * PAGE : page * PAGE]
                reply = history_reply(user, shown, page, more=len(entries) > page * PAGE)
            case Verb.ACTIVITY:
                window = timedelta(seconds=command.window) if command.window else DEFAULT_WINDOW
                activity = await read_activity(self.s.okta, user, now() - window)
                reply = activity_reply(user, activity, short_duration(int(window.total_seconds())))
            case _:
                reply = factor_listing(user, await self.s.okta.list_factors(user.id))
        # a page replaces the one whose button was clicked, as an answer replaces "working on it"
        await inv.respond(reply, replace_original=True)
        await self._audit(inv, identity, command.verb, user.profile.login, "succeeded")

    # --- writes -------------------------------------------------------------------------------------

    async def _write(
        self, inv: Invocation, identity: Identity, command: Command, user: User, group: Group | None, *, factor: FactorChoice | None = None
    ) -> None:
        verb = command.verb
        target_groups = [g async for g in self.s.okta.list_user_groups(user.id)]
        login = user.profile.login
        if self.s.policy.is_protected(login, [g.profile.name for g in target_groups]):
            why = f"{describe(user)} is a protected account: nobody may change it from Slack. Use the Okta admin console."
            await self._refuse(inv, identity, verb, login, why)
            return
        # Okta would change nothing, or refuse: said now rather than after asking approvers.
        moot = _moot(verb, user, group, target_groups) or _status_moot(verb, user)
        if moot is not None:
            await self._audit(inv, identity, verb, login, "unchanged", moot)
            await self._answer(inv, f":information_source: {moot} Nothing was changed.")
            return
        window = self.s.policy.verification_window(verb)
        if window is not None and await self.verifier.verifications.recent(user.id, window) is None:
            await self._refuse(inv, identity, verb, login, unverified_refusal(verb, user, window))
            return
        group_name = group.profile.name if group else None
        decision = self.s.policy.decide(verb, identity.roles, group_name=group_name, on_self=identity.is_okta_user(user.id))
        if command.duration is not None and group is not None:
            await self.timed.add_for(inv, identity, user, group, decision.approval, command)
            return
        op = Operation(verb=verb, user_id=user.id, group_id=group.id if group else None, factor_id=factor.id if factor else None)
        if decision.needs_approval:
            assert decision.approval is not None
            await self.approvals.request(inv, op, user, group, decision.approval, factor=factor.label if factor else None)
            return
        await self._execute(inv, identity, op, user, group, target_groups)

    async def _execute(
        self, inv: Invocation, identity: Identity, op: Operation, user: User, group: Group | None, groups: list[Group]
    ) -> None:
        effect = EFFECTS[op.verb]
        doing = f"{effect.working} {_label(op.verb, user, group)}"
        if inv.on_card:
            await self._show_card(inv, identity, user, groups, note=f":hourglass_flowing_sand: {doing}…")
        try:
            outcome = await perform(self.s.okta, op)
        except OktaError as exc:
            await self._audit(inv, identity, op.verb, user.profile.login, "failed", _summary(exc), _request_id(exc))
            await self._result(inv, identity, user, f":x: {explain(exc, doing)}")
            return
        detail = _factor_detail(op)
        await self._audit(inv, identity, op.verb, user.profile.login, "succeeded", detail, outcome.request_id)
        in_group = f" *{escape(group.profile.name)}*" if group else ""
        await self._result(inv, identity, user, f":white_check_mark: {describe(user)}: {effect.past}{in_group}.")

    async def _result(self, inv: Invocation, identity: Identity, user: User, text: str) -> None:
        if inv.on_card:  # the card shows the new status and the buttons that now fit
            try:
                await self._show_card(inv, identity, await self.s.okta.get_user(user.id), note=text)
                return
            except OktaError:  # e.g. the user was deleted meanwhile: the outcome, without a card
                pass
        await inv.respond(Reply(text=text), replace_original=inv.on_card or inv.source == "command")

    # --- replies and audit --------------------------------------------------------------------------

    async def _answer(self, inv: Invocation, text: str) -> None:
        # A command's first answer replaces its "working on it" acknowledgement.
        await inv.respond(Reply(text=text), replace_original=inv.source == "command")

    async def _audit(
        self,
        inv: Invocation,
        identity: Identity | None,  # None: who is calling could not be found out
        verb: Verb,
        target: str | None,
        outcome: str,
        detail: str = "",
        okta_request_id: str | None = None,
    ) -> None:
        await self.s.recorder.record(
            AuditRecord(
                at=now(),
                actor=inv.user_id,
                actor_email=identity.email if identity else None,
                verb=verb.value,
                target=target,
                outcome=outcome,
                detail=detail,
                okta_request_id=okta_request_id,
                source="button" if inv.source == "button" else "command",
            )
        )


def _typed_target(command: Command) -> str | None:
    """The target as typed, for the audit record of a refusal (it is never resolved then)."""
    match command.target:
        case Login(login=text) | OktaUserId(id=text) | SlackUser(user_id=text) | Name(text=text):
            return text
    return None


def _label(verb: Verb, user: User, group: Group | None) -> str:
    """Who an operation is on, for "Adding …" and "… failed": `Name (login)`, and the group if any."""
    if group is None:
        return describe(user)
    return f"{describe(user)} {'to' if verb == Verb.ADD_TO_GROUP else 'from'} group *{escape(group.profile.name)}*"


def _moot(verb: Verb, user: User, group: Group | None, groups: list[Group]) -> str | None:
    """Why a membership change would change nothing, or cannot be made, if so. Okta itself would say
    nothing (adding a member again succeeds) or only "no permission" (a built-in group)."""
    if group is None:
        return None
    name = escape(group.profile.name)
    if group.type not in (None, "OKTA_GROUP"):
        kind = escape(group.type)
        return f"Okta manages the members of *{name}* itself ({kind} group); they cannot be changed from Slack."
    member = any(g.id == group.id for g in groups)
    if verb == Verb.ADD_TO_GROUP and member:
        return f"{describe(user)} is already in group *{name}*."
    if verb == Verb.REMOVE_FROM_GROUP and not member:
        return f"{describe(user)} is not in group *{name}*."
    return None


# Statuses Okta refuses these verbs in, said before approvers are asked (and what to run instead).
_STATUS_RULES: dict[Verb, tuple[frozenset[UserStatus], str]] = {
    Verb.ACTIVATE: (frozenset({UserStatus.STAGED}), "only a STAGED user is activated"),
    Verb.REACTIVATE: (frozenset({UserStatus.PROVISIONED}), "only a PROVISIONED user (activation not finished) is sent a new activation email"),
    Verb.RESET_MFA: (frozenset(UserStatus) - {UserStatus.STAGED, UserStatus.DEPROVISIONED}, "a STAGED or deactivated user has no factors to reset"),
}
_INSTEAD = {
    (Verb.ACTIVATE, UserStatus.PROVISIONED): "reactivate",
    (Verb.REACTIVATE, UserStatus.STAGED): "activate",
    (Verb.REACTIVATE, UserStatus.RECOVERY): "reset-password",
}


def _status_moot(verb: Verb, user: User) -> str | None:
    rule = _STATUS_RULES.get(verb)
    if rule is None or user.status in rule[0]:
        return None
    why = f"{describe(user)} is {user.status}: {rule[1]}."
    instead = _INSTEAD.get((verb, user.status))
    if instead:
        why += f" Use `/okta {instead} {escape(user.profile.login)}`."
    return why


def _factor_detail(op: Operation) -> str:
    if op.verb != Verb.RESET_MFA:
        return ""
    return f"factor {op.factor_id}" if op.factor_id else "every factor"


def _summary(exc: OktaError) -> str:
    """Okta's own words for the audit record."""
    return getattr(exc, "error_summary", None) or str(exc)


def _request_id(exc: OktaError) -> str | None:
    return getattr(exc, "request_id", None)


def _role_needed(verb: Verb, decision: Decision) -> str:
    if not decision.required_roles:
        return f"Nobody may run `{verb.value}` from Slack: the policy does not allow it."
    roles = " or ".join(f"*{r}*" for r in decision.required_roles)
    return f"You need the {roles} role to run `{verb.value}`."
