"""Policy rules: role grants, decisions, approvals, protected targets, self-service, alert routing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from oktaclient.models import LogEvent
from policy import ApprovalRule, Caller, Decision, Policy, parse_policy
from policy.verbs import Verb

POLICY = """
roles:
  helpdesk: {slack_users: [U0HANA], okta_groups: ["Helpdesk"]}
  oncall: {slack_usergroups: [S0ONCALL]}
  security: {okta_groups: ["Security"]}
  approver: {okta_groups: ["Approvers"]}
  senior: {okta_groups: ["Security"]}
  employee: {everyone: true}
verbs:
  lookup: {roles: [helpdesk, security]}
  unlock: {roles: [helpdesk, oncall]}
  suspend: {roles: [helpdesk, security]}
  clear-sessions:
    roles: [security]
    approval: {required: false}
  deactivate:
    roles: [security]
    approval: {required: true, required_approvals: 2, approver_role: senior, expiry: 30m, channel: "#sec-approvals"}
  expire-password:
    roles: [helpdesk]
    approval: {required: true}
  add-to-group: {roles: [helpdesk]}
  remove-from-group: {roles: [helpdesk]}
approvals:
  channel: "#approvals"
  approver_role: approver
  required_approvals: 1
  expiry: 1h
  default_verbs: [suspend, deactivate, clear-sessions]
privileged_groups: ["Okta Admins"]
protected:
  okta_groups: ["Okta Admins"]
  logins: ["breakglass@acme.example"]
self_service:
  roles: [employee]
  unlock: {enabled: true}
  reset_password: {enabled: false}
alerts:
  default_channel: "#security-alerts"
  rules:
    - match: {event_type: "user.session.*", outcome: FAILURE}
      channel: "#failures"
    - match: {event_type: ["user.lifecycle.suspend", "user.lifecycle.deactivate"]}
      channel: "#lifecycle"
    - match: {severity: [ERROR]}
      channel: "#errors"
    - match: {actor: "svc-*@acme.example"}
      channel: "#service-accounts"
    - match: {target: "*@contractors.example"}
      channel: "#contractors"
    - match: {event_type: "system.*"}
      drop: true
"""

DEFAULT_APPROVAL = ApprovalRule(
    required_approvals=1, approver_role="approver", expiry_seconds=3600, channel="#approvals"
)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return parse_policy(POLICY)


# --- roles ---


@pytest.mark.parametrize(
    ("caller", "roles"),
    [
        (Caller("U0ANYONE"), {"employee"}),
        (Caller("U0HANA"), {"helpdesk", "employee"}),
        (Caller("U0X", slack_usergroups=frozenset({"S0ONCALL", "S0OTHER"})), {"oncall", "employee"}),
        (Caller("U0X", okta_groups=frozenset({"Helpdesk"})), {"helpdesk", "employee"}),
        (Caller("U0X", okta_groups=frozenset({"Security"})), {"security", "senior", "employee"}),
        (Caller("U0X", okta_groups=frozenset({"helpdesk"})), {"employee"}),  # grants match Okta names exactly
        (Caller("U0HANA", okta_groups=frozenset({"Approvers"})), {"helpdesk", "approver", "employee"}),
    ],
)
def test_roles_for_each_source(policy: Policy, caller: Caller, roles: set[str]) -> None:
    assert policy.roles_for(caller) == roles


# --- decide ---


def test_allowed_without_approval(policy: Policy) -> None:
    decision = policy.decide(Verb.LOOKUP, {"security"})
    assert decision == Decision(
        allowed=True, needs_approval=False, required_roles=("helpdesk", "security"), approval=None
    )


def test_refused_carries_the_roles_that_would_allow_it(policy: Policy) -> None:
    decision = policy.decide(Verb.SUSPEND, {"employee", "approver"})
    assert decision == Decision(
        allowed=False, needs_approval=False, required_roles=("helpdesk", "security"), approval=None
    )


def test_verb_missing_from_policy_is_refused_to_everyone(policy: Policy) -> None:
    decision = policy.decide(Verb.GROUPS, {"helpdesk", "security", "employee"})
    assert (decision.allowed, decision.required_roles) == (False, ())


def test_help_is_always_allowed(policy: Policy) -> None:
    assert policy.decide(Verb.HELP, set()).allowed


def test_default_verbs_need_approval(policy: Policy) -> None:
    decision = policy.decide(Verb.SUSPEND, {"helpdesk"})
    assert (decision.allowed, decision.needs_approval, decision.approval) == (True, True, DEFAULT_APPROVAL)


def test_verb_can_opt_out_of_default_approval(policy: Policy) -> None:
    decision = policy.decide(Verb.CLEAR_SESSIONS, {"security"})
    assert (decision.allowed, decision.needs_approval, decision.approval) == (True, False, None)


def test_verb_can_opt_in_to_approval(policy: Policy) -> None:
    assert policy.decide(Verb.EXPIRE_PASSWORD, {"helpdesk"}).approval == DEFAULT_APPROVAL


def test_verb_approval_overrides_each_setting(policy: Policy) -> None:
    decision = policy.decide(Verb.DEACTIVATE, {"security"})
    assert decision.approval == ApprovalRule(
        required_approvals=2, approver_role="senior", expiry_seconds=1800, channel="#sec-approvals"
    )


@pytest.mark.parametrize(
    ("verb", "group", "needs_approval"),
    [
        (Verb.ADD_TO_GROUP, "Okta Admins", True),
        (Verb.ADD_TO_GROUP, "okta admins", True),  # privilege errs on the safe side: any case
        (Verb.REMOVE_FROM_GROUP, "Okta Admins", True),
        (Verb.ADD_TO_GROUP, "Engineering", False),
        (Verb.ADD_TO_GROUP, None, False),
    ],
)
def test_privileged_groups_need_approval(
    policy: Policy, verb: Verb, group: str | None, needs_approval: bool
) -> None:
    decision = policy.decide(verb, {"helpdesk"}, group_name=group)
    assert decision.allowed and decision.needs_approval is needs_approval
    assert decision.approval == (DEFAULT_APPROVAL if needs_approval else None)


def test_privileged_group_is_refused_without_the_role(policy: Policy) -> None:
    decision = policy.decide(Verb.ADD_TO_GROUP, {"security"}, group_name="Okta Admins")
    assert (decision.allowed, decision.needs_approval) == (False, False)


def test_decide_accepts_verb_names_and_rejects_others(policy: Policy) -> None:
    assert policy.decide("lookup", frozenset({"helpdesk"})).allowed
    with pytest.raises(ValueError):
        policy.decide("frobnicate", {"helpdesk"})


# --- protected targets and self-service ---


@pytest.mark.parametrize(
    ("login", "groups", "protected"),
    [
        ("breakglass@acme.example", [], True),
        ("BreakGlass@ACME.example", [], True),
        ("oscar.admin@acme.example", ["Helpdesk", "Okta Admins"], True),
        ("oscar.admin@acme.example", ["okta admins"], True),
        ("alex.kim@acme.example", ["Engineering", "Everyone"], False),
        ("alex.kim@acme.example", [], False),
    ],
)
def test_is_protected(policy: Policy, login: str, groups: list[str], protected: bool) -> None:
    assert policy.is_protected(login, groups) is protected


def test_self_service_rules(policy: Policy) -> None:
    unlock = policy.self_service_rule(Verb.UNLOCK, {"employee"})
    assert unlock is not None and unlock.enabled and unlock.verify_push  # verify_push is on unless turned off
    assert policy.self_service_rule(Verb.UNLOCK, {"helpdesk"}) is None  # only self_service.roles may
    assert policy.self_service_rule("reset-password", {"employee"}) is None  # disabled
    assert policy.self_service_rule(Verb.SUSPEND, {"employee"}) is None  # not a self-service verb
    assert (policy.self_service.rate_limit.count, policy.self_service.rate_limit.per) == (3, 3600)


# --- alert routing ---


def event(event_type: str, **fields: Any) -> LogEvent:
    return LogEvent.model_validate(
        {"uuid": "e1", "published": datetime(2025, 3, 3, tzinfo=UTC), "eventType": event_type, **fields}
    )


@pytest.mark.parametrize(
    ("log_event", "channel"),
    [
        (event("user.session.start", outcome={"result": "FAILURE"}), "#failures"),
        (event("user.session.start", outcome={"result": "failure"}), "#failures"),
        (event("user.session.start", outcome={"result": "SUCCESS"}), "#security-alerts"),  # glob alone is not enough
        (event("user.session.start"), "#security-alerts"),  # no outcome at all
        (event("user.lifecycle.deactivate", outcome={"result": "FAILURE"}), "#lifecycle"),
        (event("user.lifecycle.suspend"), "#lifecycle"),
        (event("user.lifecycle.activate"), "#security-alerts"),
        (event("user.account.lock", severity="ERROR"), "#errors"),
        (event("user.account.lock", severity="WARN"), "#security-alerts"),
        (event("user.account.lock", actor={"alternateId": "SVC-sync@acme.example"}), "#service-accounts"),
        (event("user.account.lock", actor={"alternateId": "alex.kim@acme.example"}), "#security-alerts"),
        (event("user.account.lock", actor={"id": "00u1"}), "#security-alerts"),  # actor without alternateId
        (
            event(
                "group.user_membership.add",
                target=[{"alternateId": "Sales"}, {"alternateId": "x@contractors.example"}],
            ),
            "#contractors",
        ),
        (event("group.user_membership.add", target=[{"alternateId": "Sales"}]), "#security-alerts"),
        (event("system.org.rate_limit.warning"), None),  # dropped
        (event("system.org.rate_limit.warning", severity="ERROR"), "#errors"),  # first match wins
        (event("policy.evaluate_sign_on"), "#security-alerts"),  # no rule: the default
    ],
)
def test_route_event(policy: Policy, log_event: LogEvent, channel: str | None) -> None:
    assert policy.route_event(log_event) == channel


def test_without_alerts_section_nothing_is_routed() -> None:
    quiet = parse_policy(POLICY.split("alerts:")[0])
    assert quiet.alerts is None
    assert quiet.route_event(event("user.session.start")) is None


def test_empty_match_catches_everything() -> None:
    catch_all = parse_policy(
        POLICY.split("alerts:")[0] + 'alerts:\n  default_channel: "#a"\n  rules: [{match: {}, channel: "#all"}]\n'
    )
    assert catch_all.route_event(event("anything.at.all")) == "#all"


def test_reset_mfa_needs_approval_by_default_unless_its_rule_says_not() -> None:
    base = """
roles:
  helpdesk: {slack_users: [U0HELP0001]}
  approver: {slack_users: [U0APPR0001]}
approvals: {channel: "#approvals", approver_role: approver}
verbs:
  activate: {roles: [helpdesk]}
"""
    default = parse_policy(base + "  reset-mfa: {roles: [helpdesk]}\n")
    assert default.decide(Verb.RESET_MFA, {"helpdesk"}).needs_approval
    assert not default.decide(Verb.ACTIVATE, {"helpdesk"}).needs_approval
    assert not default.decide(Verb.RESET_MFA, {"approver"}).allowed
    off = parse_policy(base + "  reset-mfa: {roles: [helpdesk], approval: {required: false}}\n")
    assert not off.decide(Verb.RESET_MFA, {"helpdesk"}).needs_approval
    assert off.fingerprint != default.fingerprint


def test_toolkit_reads_cannot_need_approval() -> None:
    from policy import PolicyError

    with pytest.raises(PolicyError, match="only verbs that change Okta"):
        parse_policy("""
roles: {helpdesk: {slack_users: [U0HELP0001]}, approver: {slack_users: [U0APPR0001]}}
approvals: {channel: "#approvals", approver_role: approver}
verbs:
  history: {roles: [helpdesk], approval: {required: true}}
""")
