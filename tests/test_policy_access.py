"""The `access` section: requestable groups, durations, approvers; its errors fail closed and say what to fix."""

from __future__ import annotations

import pytest

from policy import PolicyError, Verb, parse_policy
from tests.test_policy_load import MINIMAL

ACCESS = MINIMAL.replace("roles:\n", "roles:\n  employee: {okta_groups: [Everyone]}\n  security: {okta_groups: [Security]}\n") + """\
access:
  groups:
    Finance:
      max_duration: 8h
      requesters: [employee]
      self_extension: true
    Okta Admins:
      max_duration: 1h
      requesters: [helpdesk]
      approval: {approver_role: security, required_approvals: 2, channel: "#security-approvals"}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, source="test.yaml")
    return caught.value.problems


def test_requests_need_a_requester_role_and_always_approval_by_the_groups_approvers() -> None:
    policy = parse_policy(ACCESS)
    finance = policy.decide(Verb.REQUEST, {"employee"}, group_name="finance")  # names ignore case
    assert finance.allowed and finance.needs_approval and finance.approval is not None
    assert (finance.approval.approver_role, finance.approval.required_approvals, finance.approval.channel) == ("approver", 1, "#approvals")
    admins = policy.decide(Verb.REQUEST, {"helpdesk"}, group_name="Okta Admins")
    assert admins.approval is not None
    assert (admins.approval.approver_role, admins.approval.required_approvals, admins.approval.channel) == (
        "security", 2, "#security-approvals"
    )
    assert not policy.decide(Verb.REQUEST, {"employee"}, group_name="Okta Admins").allowed
    assert not policy.decide(Verb.REQUEST, {"employee"}, group_name="Sales").allowed  # not listed
    assert [name for name, _ in policy.requestable({"employee"})] == ["Finance"]


def test_durations_are_capped_per_group_and_unlisted_groups_only_with_a_default() -> None:
    policy = parse_policy(ACCESS)
    assert policy.max_grant("Finance") == 8 * 3600 and policy.max_grant("Sales") is None
    assert parse_policy(ACCESS.replace("access:\n", "access:\n  max_duration: 1d\n")).max_grant("Sales") == 86400
    assert parse_policy(MINIMAL).max_grant("Finance") is None  # no section: no time-bound access at all
    assert parse_policy(ACCESS).access.reminder == 900  # type: ignore[union-attr]


def test_access_errors_are_listed_with_their_lines() -> None:
    bad = (
        ACCESS.replace("requesters: [employee]", "requesters: [employe]")
        .replace("approval: {approver_role: security,", "approval: {required: false, approver_role: security,")
        .replace("max_duration: 8h", "max_duration: forever")
    )
    found = problems(bad)
    assert any("access.groups.Finance.max_duration: 'forever' is not a duration" in p for p in found), found
    assert any("access.groups.Finance.requesters[0]: unknown role 'employe'" in p for p in found), found
    assert any("a request for access always needs approval by others" in p for p in found), found
    assert len(found) == 3, found


def test_request_is_not_configured_under_verbs() -> None:
    found = problems(MINIMAL + "verbs:\n  request: {roles: [helpdesk]}\n")
    assert found == ["line 8: verbs.request: 'request' is governed by the 'access' section (access.groups.<group>.requesters): remove it"]


def test_groups_spelt_twice_in_different_case_are_refused() -> None:
    found = problems(ACCESS + "    finance: {max_duration: 1h}\n")
    assert found == ["line 9: access: groups 'Finance' and 'finance' differ only in case: list each group once"]


def with_break_glass(group: str, rule: str, text: str = ACCESS) -> str:
    """`text` with `group` (listed under access.groups, or added) given the break_glass `rule`."""
    if f"    {group}:\n" in text:
        return text.replace(f"    {group}:\n", f"    {group}:\n      break_glass: {rule}\n")
    return text + f"    {group}:\n      max_duration: 1h\n      break_glass: {rule}\n"


def test_break_glass_is_opt_in_per_group_for_its_roles_and_an_hour_at_most() -> None:
    policy = parse_policy(with_break_glass("Finance", '{roles: [security], channel: "#security"}'))
    finance, admins = policy.access_group("finance"), policy.access_group("Okta Admins")
    assert finance is not None and finance.break_glass is not None and admins is not None
    assert (finance.break_glass.roles, finance.break_glass.max_duration) == (("security",), 3600)
    assert policy.break_glass_channel(finance.break_glass) == "#security"
    assert admins.break_glass is None  # not opted in
    too_long = with_break_glass("Finance", '{roles: [security], max_duration: 2h, channel: "#security"}')
    assert any("at most 1h" in p for p in problems(too_long))
    nobody = with_break_glass("Finance", '{roles: [], channel: "#security"}')
    assert any("the roles that may take it" in p for p in problems(nobody))


def test_break_glass_never_reaches_a_privileged_group_and_needs_a_channel() -> None:
    listed = problems(with_break_glass("Okta Admins", '{roles: [security], channel: "#security"}', ACCESS + 'privileged_groups: ["Okta Admins"]\n'))
    assert listed == [
        ("line 16: access.groups.Okta Admins.break_glass: 'Okta Admins' is privileged (listed in privileged_groups): "
        "it is only ever given through approval by others: remove break_glass")
    ]
    role = problems(with_break_glass("Security", '{roles: [security], channel: "#security"}'))
    assert role == [
        ("line 21: access.groups.Security.break_glass: 'Security' is privileged (grants the role 'security'): "
        "it is only ever given through approval by others: remove break_glass")
    ]
    nowhere = problems(with_break_glass("Finance", "{roles: [security]}"))
    assert len(nowhere) == 1 and "nowhere to announce break-glass" in nowhere[0]
    announced = parse_policy(with_break_glass("Finance", "{roles: [security]}", ACCESS + 'audit: {channel: "#okta-audit"}\n'))
    finance = announced.access_group("Finance")
    assert finance is not None and finance.break_glass is not None
    assert announced.break_glass_channel(finance.break_glass) == "#okta-audit"  # the access alert channel's fallback
