"""The policy: the validated file, and the questions the rest of the bot asks it.

Build one with `policy.loader.load_policy` (or `parse_policy`): they pass the validation context
that checks role references, and report every problem at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cached_property

from pydantic import ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails

from oktaclient.models import LogEvent
from policy.access import Access, AccessGroup, BreakGlass
from policy.decision import ApprovalRule, Caller, Decision
from policy.fields import ConfigurableVerb, NonEmpty, RoleName, problem
from policy.routing import route
from policy.sections import (
    Alerts,
    Approvals,
    Audit,
    Protected,
    RoleGrant,
    Section,
    SelfService,
    SelfServiceRule,
    VerbApproval,
    VerbRule,
    Verification,
    require_write_verbs,
)
from policy.verbs import ADDING_VERBS, ALWAYS_ALLOWED_VERBS, APPROVAL_BY_DEFAULT, GROUP_VERBS, Verb
from policy.was_this_you import WasThisYou


class Policy(Section):
    roles: dict[RoleName, RoleGrant]
    verbs: dict[ConfigurableVerb, VerbRule] = {}  # noqa: RUF012 - pydantic copies field defaults
    approvals: Approvals
    privileged_groups: tuple[NonEmpty, ...] = ()
    protected: Protected = Protected()
    audit: Audit | None = None
    self_service: SelfService = SelfService()
    alerts: Alerts | None = None
    verification: Verification = Verification()
    was_this_you: WasThisYou | None = None  # "Was this you?" questions (confirm/); off when absent
    access: Access | None = None  # time-bound membership (access/); off when absent

    @field_validator("verbs")
    @classmethod
    def _approvals_on_writes(cls, verbs: dict[Verb, VerbRule]) -> dict[Verb, VerbRule]:
        # Checked once the entries are valid: a rule does not know which verb it belongs to.
        require_write_verbs(((verb.value, "approval"), verb) for verb, rule in verbs.items() if rule.approval)
        return verbs

    @model_validator(mode="after")
    def _break_glass_rules(self) -> Policy:
        """Break-glass never reaches a privileged group (one that grants a role, or is listed): such a
        group is only ever given through approval by others. And its announcement needs somewhere to go."""
        errors: list[InitErrorDetails] = []
        for name, rule in (self.access.groups if self.access else {}).items():
            if rule.break_glass is None:
                continue
            loc = ("access", "groups", name, "break_glass")
            if why := self.privilege_of(name):
                what = f"{name!r} is privileged ({'; '.join(why)}): it is only ever given through approval by others"
                errors.append(InitErrorDetails(type=problem(f"{what}: remove break_glass"), loc=loc, input=name))
            if self.break_glass_channel(rule.break_glass) is None:
                where = "give break_glass a channel (or access.alert_channel, alerts or audit a channel)"
                errors.append(InitErrorDetails(type=problem(f"nowhere to announce break-glass: {where}"), loc=loc, input=name))
        if errors:
            raise ValidationError.from_exception_data("break_glass", errors)
        return self

    # Group names and logins are compared case-insensitively where that errs on the safe side:
    # protection and privilege. Role grants compare Okta group names exactly (see docs/policy.md).
    @cached_property
    def fingerprint(self) -> str:
        """A short digest of the rules: equal for equal policies, different after any change (caches
        of conclusions drawn from the policy, such as a caller's roles, key on it)."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]

    @cached_property
    def privileged(self) -> dict[str, tuple[str, ...]]:
        """Every privileged Okta group (as the policy spells it) with why it is: listed in
        `privileged_groups`, or granting a role. A group that grants a role is privileged whether
        or not it is listed, or a helpdesk agent could add a friend to the approvers' group and
        have them approve the agent's next request (the two-person rule, undone in two clicks)."""
        reasons: dict[str, list[str]] = {}
        for group in self.privileged_groups:
            reasons.setdefault(group, []).append("listed in privileged_groups")
        for role, grant in self.roles.items():
            for group in grant.okta_groups:
                reasons.setdefault(group, []).append(f"grants the role '{role}'")
        return {group: tuple(why) for group, why in reasons.items()}

    @cached_property
    def _privileged(self) -> frozenset[str]:
        return frozenset(g.casefold() for g in self.privileged)

    def privilege_of(self, group_name: str) -> tuple[str, ...]:
        """Why the group is privileged (names compared ignoring case); empty when it is not."""
        folded = group_name.casefold()
        return next((why for group, why in self.privileged.items() if group.casefold() == folded), ())

    @cached_property
    def _protected_groups(self) -> frozenset[str]:
        return frozenset(g.casefold() for g in self.protected.okta_groups)

    @cached_property
    def _protected_logins(self) -> frozenset[str]:
        return frozenset(login.casefold() for login in self.protected.logins)

    def roles_for(self, caller: Caller) -> frozenset[str]:
        """Every role the caller holds through any of its grants."""
        return frozenset(name for name, grant in self.roles.items() if _grants(grant, caller))

    def decide(
        self, verb: Verb | str, roles: Iterable[str], *, group_name: str | None = None, on_self: bool = False
    ) -> Decision:
        """May a caller holding `roles` run `verb`, and does it need approval first.

        `group_name` is the resolved Okta group name for add-to-group / remove-from-group: changing
        a privileged group's membership always needs approval (`privileged`). `on_self`: the target
        is the caller's own Okta account; adding oneself to any group always needs approval.
        Raises ValueError for a non-verb.
        """
        verb = Verb(verb)
        if verb == Verb.REQUEST:
            return self._decide_request(roles, group_name)
        if verb in ALWAYS_ALLOWED_VERBS:
            return Decision(allowed=True, needs_approval=False, required_roles=(), approval=None)
        rule = self.verbs.get(verb)
        required = rule.roles if rule else ()
        if rule is None or set(required).isdisjoint(roles):
            return Decision(allowed=False, needs_approval=False, required_roles=required, approval=None)
        approval = self._approval(verb, rule, group_name, on_self)
        return Decision(allowed=True, needs_approval=approval is not None, required_roles=required, approval=approval)

    def _approval(self, verb: Verb, rule: VerbRule, group_name: str | None, on_self: bool) -> ApprovalRule | None:
        own = rule.approval
        required = own.required if own else verb in self.approvals.default_verbs or verb in APPROVAL_BY_DEFAULT
        privileged = verb in GROUP_VERBS and group_name is not None and group_name.casefold() in self._privileged
        self_grant = verb in ADDING_VERBS and on_self
        if not (required or privileged or self_grant):
            return None
        return self._rule(own)

    def _rule(self, own: VerbApproval | None) -> ApprovalRule:
        own, base = own or VerbApproval(), self.approvals
        return ApprovalRule(
            required_approvals=own.required_approvals or base.required_approvals,
            approver_role=own.approver_role or base.approver_role,
            expiry_seconds=own.expiry or base.expiry,
            channel=own.channel or base.channel,
        )

    def _decide_request(self, roles: Iterable[str], group_name: str | None) -> Decision:
        """`request <group>`: the group is listed under `access.groups` for one of the caller's
        roles; it always needs approval, by the group's own approvers."""
        rule = self.access_group(group_name) if group_name is not None else None
        required = rule.requesters if rule else ()
        if rule is None or set(required).isdisjoint(roles):
            return Decision(allowed=False, needs_approval=False, required_roles=required, approval=None)
        return Decision(allowed=True, needs_approval=True, required_roles=required, approval=self._rule(rule.approval))

    def access_group(self, group_name: str) -> AccessGroup | None:
        """The group's entry under `access.groups` (names compared ignoring case), if any."""
        return self.access.group(group_name) if self.access else None

    def requestable(self, roles: Iterable[str]) -> list[tuple[str, AccessGroup]]:
        """The groups a caller holding `roles` may request, as the policy names them, in its order."""
        held = set(roles)
        groups = self.access.groups.items() if self.access else ()
        return [(name, rule) for name, rule in groups if not held.isdisjoint(rule.requesters)]

    def max_grant(self, group_name: str) -> int | None:
        """The longest time-bound membership of the group, in seconds; None: time-bound access to it
        is not allowed (no `access` section, or the group unlisted and no `access.max_duration`)."""
        if self.access is None:
            return None
        rule = self.access.group(group_name)
        return rule.max_duration if rule else self.access.max_duration

    def access_alert_channel(self) -> str | None:
        """Where a time-bound membership that Okta will not remove is reported."""
        chosen = self.access.alert_channel if self.access else None
        return chosen or (self.alerts.default_channel if self.alerts else None) or (self.audit.channel if self.audit else None)

    def break_glass_channel(self, rule: BreakGlass) -> str | None:
        """Where a group's break-glass is announced, and its unreviewed grants flagged daily."""
        return rule.channel or self.access_alert_channel()

    def is_protected(self, login: str, okta_groups: Iterable[str]) -> bool:
        """True when Slack may not operate on this user: a protected login or a protected group member."""
        return login.casefold() in self._protected_logins or any(
            g.casefold() in self._protected_groups for g in okta_groups
        )

    def verification_window(self, verb: Verb | str) -> int | None:
        """Seconds within which the target must have passed `/okta verify` before `verb`, or None."""
        rule = self.verification
        return rule.within if Verb(verb) in rule.before else None

    def self_service_rule(self, verb: Verb | str, roles: Iterable[str]) -> SelfServiceRule | None:
        """The rule for a caller holding `roles` running `verb` on their own account (`unlock`,
        `unlock me`), or None when they may not: verb disabled, not a self-service verb, or no role."""
        service = self.self_service
        rule = {Verb.UNLOCK: service.unlock, Verb.RESET_PASSWORD: service.reset_password}.get(Verb(verb))
        if rule is None or not rule.enabled or set(service.roles).isdisjoint(roles):
            return None
        return rule

    def route_event(self, event: LogEvent) -> str | None:
        """The channel for an Okta event: first matching rule, else the default; None when dropped."""
        return route(self.alerts, event)


def _grants(grant: RoleGrant, caller: Caller) -> bool:
    return (
        grant.everyone
        or caller.slack_user_id in grant.slack_users
        or not caller.slack_usergroups.isdisjoint(grant.slack_usergroups)
        or not caller.okta_groups.isdisjoint(grant.okta_groups)
    )
