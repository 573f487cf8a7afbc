"""Loading the policy file: the shipped example, and every kind of problem reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest

import policy as policy_package
from oktasim import seed_demo_org
from policy import PolicyError, load_policy, parse_policy
from policy.verbs import ACCESS_SECTION_VERBS, ALWAYS_ALLOWED_VERBS, Verb

EXAMPLE = Path(policy_package.__file__).parent / "example.yaml"

MINIMAL = """\
roles:
  helpdesk: {okta_groups: ["Helpdesk"]}
  approver: {okta_groups: ["Approvers"]}
approvals:
  channel: "#approvals"
  approver_role: approver
"""


def problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, source="test.yaml")
    assert str(caught.value).startswith("Policy file test.yaml: ")
    return caught.value.problems


def test_docs_show_the_example_verbatim() -> None:
    docs = Path(__file__).parents[1] / "docs" / "policy.md"
    assert EXAMPLE.read_text(encoding="utf-8") in docs.read_text(encoding="utf-8")


def test_example_loads_and_matches_the_demo_org() -> None:
    policy = load_policy(EXAMPLE)
    named = {g for grant in policy.roles.values() for g in grant.okta_groups}
    named |= {*policy.privileged_groups, *policy.protected.okta_groups}
    assert named == {"Helpdesk", "Security", "Approvers", "Everyone", "Okta Admins"}
    org = seed_demo_org()
    assert {g.name for g in org.directory.groups.values()} >= named  # exact names: role grants compare exactly
    assert set(policy.verbs) == set(Verb) - ALWAYS_ALLOWED_VERBS - ACCESS_SECTION_VERBS  # the example shows every verb
    assert policy.access is not None and {*policy.access.groups} <= {g.name for g in org.directory.groups.values()}
    assert policy.approvals.channel == "#approvals" and policy.approvals.expiry == 3600
    assert policy.privileged_groups == ("Okta Admins",) and policy.protected.okta_groups == ("Okta Admins",)
    assert policy.audit is not None and policy.audit.channel == "#okta-audit"
    assert policy.alerts is not None and policy.alerts.default_channel == "#security-alerts"
    assert policy.self_service.email_attribute == "profile.email"
    assert policy.self_service_rule(Verb.UNLOCK, {"employee"}) is not None


def test_enabling_self_service_needs_roles() -> None:
    assert problems(MINIMAL + "self_service:\n  reset_password: {enabled: true}\n") == [
        "line 7: self_service: self-service is enabled but 'roles' is empty: say who may use it, e.g. roles: [employee]"
    ]


def test_minimal_policy_defaults() -> None:
    policy = parse_policy(MINIMAL)
    assert policy.verbs == {} and policy.alerts is None and policy.audit is None
    approvals = policy.approvals
    assert (approvals.required_approvals, approvals.expiry, approvals.default_verbs) == (1, 3600, ())
    assert policy.self_service_rule(Verb.UNLOCK, {"helpdesk"}) is None  # self-service is off unless enabled


@pytest.mark.parametrize(
    ("value", "seconds"), [("90s", 90), ("15m", 900), ("1h", 3600), ("2d", 172800), (45, 45), ('"1 h"', 3600)]
)
def test_durations(value: object, seconds: int) -> None:
    assert parse_policy(MINIMAL + f"  expiry: {value}\n").approvals.expiry == seconds


def test_every_problem_is_reported_at_once_in_file_order() -> None:
    found = problems(
        """\
roles:
  helpdesk: {okta_groups: ["Helpdesk"], slack_users: [alice], slack_usergroups: [U0NOTAGROUP]}
  Help Desk: {}
  employee: {everyone: true}
verbs:
  suspnd: {roles: [helpdesk]}
  lookup: {roles: [helpdsk]}
  help: {roles: [employee]}
  unlock: {roles: [helpdesk]}
  unlock: {roles: [employee]}
approvals:
  channel: approvals
  approver_role: employee
  expiry: 1 hour
  expirey: 3
  required_approvals: 0
  default_verbs: [groups, suspend]
privileged_groups: [""]
self_service:
  roles: [nobody]
  rate_limit: {count: 0, per: -5}
  email_attribute: profile.mail
  unlock: {enabled: maybe}
alerts:
  default_channel: "#Alerts"
  digest: {threshold: 1, window: 0}
  rules:
    - match: {severity: [warning], outcome: FAILED, event_type: []}
      channel: "#x"
    - match: {}
    - match: {actor: "*"}
      channel: "#x"
      drop: true
audit: {}
"""
    )
    expected = [
        "line 2: roles.helpdesk.slack_users[0]: 'alice' is not a Slack user id",
        "line 2: roles.helpdesk.slack_usergroups[0]: 'U0NOTAGROUP' is not a Slack user group id",
        "line 3: roles.Help Desk: 'Help Desk' is not a role name",
        "line 6: verbs.suspnd: unknown verb 'suspnd' (did you mean 'suspend'?)",
        "line 7: verbs.lookup.roles[0]: unknown role 'helpdsk'",
        "line 8: verbs.help: 'help' is always allowed",
        "line 10: verbs.unlock: duplicate key (first at line 9)",
        "line 12: approvals.channel: 'approvals' is not a Slack channel",
        "line 13: approvals.approver_role: role 'employee' grants everyone",
        "line 14: approvals.expiry: '1 hour' is not a duration",
        "line 15: approvals.expirey: unknown key",
        "line 16: approvals.required_approvals: Input should be greater than or equal to 1",
        "line 17: approvals.default_verbs[0]: groups: only verbs that change Okta can need approval",
        "line 18: privileged_groups[0]: String should have at least 1 character",
        "line 20: self_service.roles[0]: unknown role 'nobody'",
        "line 21: self_service.rate_limit.count: Input should be greater than or equal to 1",
        "line 21: self_service.rate_limit.per: -5: a duration must be longer than zero",
        "line 22: self_service.email_attribute: Input should be 'profile.email' or 'profile.login'",
        "line 23: self_service.unlock.enabled: Input should be a valid boolean",
        "line 25: alerts.default_channel: '#Alerts' is not a Slack channel",
        "line 26: alerts.digest.threshold: Input should be greater than or equal to 2",
        "line 26: alerts.digest.window: 0: a duration must be longer than zero",
        "line 28: alerts.rules[0].match.event_type: Value should have at least 1 item",
        "line 28: alerts.rules[0].match.severity[0]: Input should be 'DEBUG', 'INFO', 'WARN' or 'ERROR'",
        "line 28: alerts.rules[0].match.outcome[0]: Input should be 'SUCCESS', 'FAILURE'",
        "line 30: alerts.rules[1]: a rule needs exactly one action",
        "line 31: alerts.rules[2]: a rule needs exactly one action",
        "line 34: audit.channel: required, but missing",
    ]
    assert len(found) == len(expected), "\n".join(found)
    for problem, start in zip(sorted(found, key=_line), expected, strict=True):
        assert problem.startswith(start) or start in problem, (problem, start)
    assert [_line(p) for p in found] == sorted(_line(p) for p in found)


def _line(problem: str) -> int:
    return int(problem.split(":")[0].removeprefix("line "))


def test_approval_on_a_read_only_verb() -> None:
    found = problems(MINIMAL.replace("roles:\n", "verbs:\n  lookup: {roles: [helpdesk], approval: {}}\nroles:\n"))
    assert found == ["line 2: verbs.lookup.approval: lookup: only verbs that change Okta can need approval"]


def test_missing_sections() -> None:
    assert problems("verbs: {}\n") == ["roles: required, but missing", "approvals: required, but missing"]


def test_unknown_top_level_section() -> None:
    assert problems(MINIMAL + "alert: {}\n") == ["line 7: alert: unknown key"]


def test_references_are_not_checked_against_a_broken_roles_section() -> None:
    # one problem, not a cascade of "unknown role" for every reference
    assert problems(MINIMAL.replace("roles:\n  helpdesk", "roles: 5\nx:\n  helpdesk")) == [
        "line 1: roles: Input should be a valid dictionary",
        "line 2: x: unknown key",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "the file is empty"),
        ("# only a comment\n", "the file is empty"),
        ("- roles\n", "the top level must be a mapping"),
        ("roles: [\n", "line 2, column 1: YAML syntax error: while parsing a flow node"),
        ("roles:\n  a: b\n c: d\n", "line 3, column 2: YAML syntax error"),
        ("a: 1\n---\nb: 2\n", "line 2, column 1: YAML syntax error: expected a single document"),
        ("x: !!python/object/apply:os.system [true]\n", "line 1, column 4: YAML syntax error: could not determine"),
        ("roles: {}\x00\n", "character 9: YAML does not allow U+0000"),
    ],
)
def test_unreadable_yaml(text: str, problem: str) -> None:
    found = problems(text)
    assert len(found) == 1 and found[0].startswith(problem), found


def test_aliases_and_anchors_are_followed() -> None:
    policy = parse_policy(MINIMAL + "protected:\n  okta_groups: &admins [Okta Admins]\nprivileged_groups: *admins\n")
    assert policy.privileged_groups == policy.protected.okta_groups == ("Okta Admins",)


def test_file_problems(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="file not found"):
        load_policy(tmp_path / "missing.yaml")
    with pytest.raises(PolicyError, match="cannot read the file"):
        load_policy(tmp_path)
    binary = tmp_path / "latin1.yaml"
    binary.write_bytes("roles: {café: {}}".encode("latin-1"))
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_policy(binary)
    good = tmp_path / "policy.yaml"
    good.write_text(MINIMAL, encoding="utf-8")
    assert load_policy(str(good)).approvals.approver_role == "approver"


def test_error_message_lists_each_problem_on_its_own_line() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(MINIMAL + "  expiry: soon\n  extra: 1\n", source="p.yaml")
    assert str(caught.value) == (
        "Policy file p.yaml: 2 problems:\n"
        "  - line 7: approvals.expiry: 'soon' is not a duration: write seconds (90) or a number and a unit"
        " (90s, 15m, 1h, 1d)\n"
        "  - line 8: approvals.extra: unknown key"
    )


def test_was_this_you_defaults_and_errors_fail_closed() -> None:
    policy = load_policy(EXAMPLE)
    rules = policy.was_this_you
    assert rules is not None and rules.answer_within == 1800 and rules.security_role == "security"
    assert [c.value for c in rules.containment] == ["clear_sessions"]
    assert rules.ask.push_bombing.rejections == 3 and rules.ask.new_country.lookback == 30 * 86400
    base = EXAMPLE.read_text(encoding="utf-8").split("was_this_you:")[0]
    bad = base + 'was_this_you:\n  channel: "#sec"\n  security_role: security\n  containment: [wipe_laptop]\n  answer_within: soon\n'
    found = "\n".join(problems(bad))
    assert "containment[0]: Input should be 'clear_sessions'" in found and "'soon' is not a duration" in found
    assert problems(base + 'was_this_you:\n  channel: "#sec"\n  security_role: nobody\n')
    assert problems(base + 'was_this_you:\n  channel: "#sec"\n  security_role: security\n  containment: []\n')
