"""Time-bound access from Slack: `request`, `access`, the helpdesk's `add-to-group ... for 4h`, and
the Release and Extend buttons of the member's DMs. Who may do what is decided here (the policy,
the caller's roles); giving and ending memberships is access/grants.py's."""

from __future__ import annotations

from access import Grant, GrantConflict, Grants
from access.duration import short_duration, time_left
from access.messages import at
from actions.describe import describe
from actions.identity import Identity
from actions.invocation import Invocation
from actions.okta_errors import explain
from actions.operations import Operation
from approvals.flow import ApprovalFlow
from audit import AuditRecord
from audit.recorder import now
from commands.context import Services
from commands.grammar import Command, Self, SlackUser
from commands.request_form import RequestForm, form_button
from commands.targets import NotResolved
from oktaclient.errors import OktaError
from oktaclient.models import Group, User
from policy import ApprovalRule, Verb
from slackport import Reply
from slacktext import escape

NOT_SET_UP = "Time-bound access is not set up: the policy has no `access` section."


class TimedAccess:
    def __init__(self, services: Services, approvals: ApprovalFlow, grants: Grants) -> None:
        self.s = services
        self.approvals = approvals
        self.grants = grants
        self.form = RequestForm(services)  # the same request as a modal (`Open the request form`)

    # --- `request` ----------------------------------------------------------------------------------

    async def request(self, inv: Invocation, identity: Identity, command: Command) -> None:
        if command.group is None:
            listing = self._requestable(identity)
            offered = self.s.policy.access is not None and self.s.policy.requestable(identity.roles)
            await inv.respond(form_button(listing) if offered else Reply(text=listing), replace_original=inv.source == "command")
            return
        user = identity.okta_user
        if user is None:
            await self._answer(inv, ":no_entry: You have no Okta account that Slack vouches for, so you cannot request access.")
            return
        group = await self.s.resolver.group(command.group)
        if isinstance(group, NotResolved):
            await self._answer(inv, group.message)
            return
        name = group.profile.name
        decision = self.s.policy.decide(Verb.REQUEST, identity.roles, group_name=name)
        if not decision.allowed or decision.approval is None:
            why = f"*{escape(name)}* is not a group you may request."
            await self._audit(inv, identity, Verb.REQUEST, user.profile.login, "refused", why)
            await self._answer(inv, f":no_entry: {why}\n{self._requestable(identity)}")
            return
        assert command.duration is not None  # the grammar requires it with a group
        if not await self._within_cap(inv, identity, Verb.REQUEST, user, group, command.duration):
            return
        if any(g.id == group.id for g in [g async for g in self.s.okta.list_user_groups(user.id)]):
            await self._answer(inv, f":information_source: You are in *{escape(name)}* already. Nothing was requested.")
            return
        op = Operation(verb=Verb.REQUEST, user_id=user.id, group_id=group.id)
        await self.approvals.request(inv, op, user, group, decision.approval, grant_seconds=command.duration, reason=command.reason)

    def _requestable(self, identity: Identity) -> str:
        if self.s.policy.access is None:
            return NOT_SET_UP
        groups = self.s.policy.requestable(identity.roles)
        if not groups:
            return "There is no group you may request. Ask the helpdesk."
        lines = ["*Groups you may request* (`/okta request <group> for 2h <reason>`):"]
        for name, rule in groups:
            approval = self.s.policy.decide(Verb.REQUEST, identity.roles, group_name=name).approval
            assert approval is not None
            extension = "; you may extend once yourself" if rule.self_extension else ""
            lines.append(
                f"• *{escape(name)}*: up to {short_duration(rule.max_duration)}, "
                f"approved by {approval.required_approvals} × *{escape(approval.approver_role)}*{extension}"
            )
        return "\n".join(lines)

    # --- the helpdesk's `add-to-group ... for 4h` ---------------------------------------------------

    async def add_for(
        self, inv: Invocation, identity: Identity, user: User, group: Group, approval: ApprovalRule | None, command: Command
    ) -> None:
        """`approval`: the policy's rule when the add needs approval (privileged group, yourself)."""
        assert command.duration is not None
        if not await self._within_cap(inv, identity, Verb.ADD_TO_GROUP, user, group, command.duration):
            return
        if approval is not None:
            op = Operation(verb=Verb.ADD_TO_GROUP, user_id=user.id, group_id=group.id)
            await self.approvals.request(inv, op, user, group, approval, grant_seconds=command.duration, reason=command.reason)
            return
        try:
            given = await self.grants.give(
                user=user, group=group, seconds=command.duration, by=inv.user_id,
                # told by DM: the member named by a Slack mention, else found by their Okta email
                notify=command.target.user_id if isinstance(command.target, SlackUser) else None,
                reason=command.reason or "", source="button" if inv.source == "button" else "command",
            )
        except OktaError as exc:
            await self._audit(inv, identity, Verb.ADD_TO_GROUP, user.profile.login, "failed", str(exc))
            await self._answer(inv, f":x: {explain(exc, f'Adding {describe(user)} to *{escape(group.profile.name)}*')}")
            return
        except GrantConflict as exc:
            await self._answer(inv, f":hourglass: {exc}")
            return
        grant = given.grant
        done = "now ends" if given.extended else "is in"
        await self._answer(
            inv, f":white_check_mark: {describe(user)} {done} *{escape(group.profile.name)}* until {at(grant.ends)} (grant `{grant.id}`)."
        )

    async def _within_cap(self, inv: Invocation, identity: Identity, verb: Verb, user: User, group: Group, seconds: int) -> bool:
        cap = self.s.policy.max_grant(group.profile.name)
        if cap is not None and seconds <= cap:
            return True
        name = escape(group.profile.name)
        why = (
            f"Time-bound access to *{name}* is not allowed by the policy." if cap is None
            else f"*{name}* can be given for at most {short_duration(cap)}, not {short_duration(seconds)}."
        )
        await self._audit(inv, identity, verb, user.profile.login, "refused", why)
        await self._answer(inv, f":no_entry: {why}")
        return False

    # --- `access [user]` ----------------------------------------------------------------------------

    async def list(self, inv: Invocation, identity: Identity, command: Command) -> None:
        if command.target is None or isinstance(command.target, Self):
            user_id, whose = identity.okta_user_id, "Your"
        else:
            if not self.s.policy.decide(Verb.ACCESS, identity.roles).allowed:
                await self._answer(inv, ":no_entry: You may see only your own access: `/okta access`.")
                return
            user = await self.s.resolver.user(command.target, Verb.ACCESS.value)
            if isinstance(user, NotResolved):
                await self._answer(inv, user.message)
                return
            user_id, whose = user.id, f"{describe(user)}'s"
        grants = await self.grants.active(user_id) if user_id else []
        if not grants:
            await self._answer(inv, f"{whose} time-bound access: none active.")
            return
        clock = self.grants.clock.now()
        lines = [f"*{whose} time-bound access*"] + [
            f"• *{escape(g.group_name)}*: ends {at(g.ends)} ({time_left(g.ends - clock)} left), given by <@{g.granted_by}> · `{g.id}`"
            for g in grants
        ]
        await self._answer(inv, "\n".join(lines))

    # --- the member's buttons -----------------------------------------------------------------------

    async def release(self, inv: Invocation, grant_id: str) -> None:
        grant = await self._own(inv, grant_id)
        if grant is None:
            return
        ended = await self.grants.release(grant.id, inv.user_id, "button")
        if ended is None:  # a replayed or double click: the first one ended it
            await inv.respond(Reply(text=f"Access to *{escape(grant.group_name)}* has ended already."))
        elif not ended:
            await inv.respond(Reply(text=":hourglass: Okta refused the removal for now; it is tried again shortly."))

    async def extend(self, inv: Invocation, grant_id: str) -> None:
        grant = await self._own(inv, grant_id)
        if grant is None:
            return
        rule = self.s.policy.access_group(grant.group_name)
        if rule is not None and rule.self_extension and not grant.self_extended and not grant.break_glass:
            answer = await self.grants.extend(grant, inv.user_id, by_self=True, source="button")
            if answer == 0:
                await inv.respond(Reply(text=f"Access to *{escape(grant.group_name)}* has ended already; request it again."))
            elif answer == -1:  # a double click: the other one extended it
                await inv.respond(Reply(text=f"Access to *{escape(grant.group_name)}* was just extended; see the message above."))
            return
        # again through approval, by the group's approvers
        identity = await self.s.identities.of(inv.user_id)
        decision = self.s.policy.decide(Verb.REQUEST, identity.roles, group_name=grant.group_name)
        if decision.approval is None or identity.okta_user is None:
            await inv.respond(Reply(text=f"*{escape(grant.group_name)}* cannot be requested: ask the helpdesk to extend it."))
            return
        group = await self.s.okta.get_group(grant.group_id)
        op = Operation(verb=Verb.REQUEST, user_id=identity.okta_user.id, group_id=group.id)
        reason = f"extend grant {grant.id}" + (f": {grant.reason}" if grant.reason else "")
        await self.approvals.request(inv, op, identity.okta_user, group, decision.approval, grant_seconds=grant.first_seconds, reason=reason)

    async def _own(self, inv: Invocation, grant_id: str) -> Grant | None:
        """The active grant, when the clicker is the one it was told to (buttons travel in their DMs)."""
        grant = await self.grants.store.get(grant_id)
        if grant is None or grant.state != "active":
            await inv.respond(Reply(text="That access has ended already; nothing changed."))
            return None
        if inv.user_id != grant.notify:
            await inv.respond(Reply(text=":no_entry: Only the person this access was given to can change it here."))
            return None
        return grant

    # --- replies and audit --------------------------------------------------------------------------

    async def _answer(self, inv: Invocation, text: str) -> None:
        await inv.respond(Reply(text=text), replace_original=inv.source == "command")

    async def _audit(self, inv: Invocation, identity: Identity, verb: Verb, target: str, outcome: str, detail: str) -> None:
        await self.s.recorder.record(
            AuditRecord(
                at=now(), actor=inv.user_id, actor_email=identity.email, verb=verb.value, target=target, outcome=outcome,
                detail=detail, source="button" if inv.source == "button" else "command",
            )
        )
