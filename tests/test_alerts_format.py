"""Alert messages: one layout per kind of event, escaping of everything Okta supplies, valid Block Kit."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from alerts.format import AlertKind, AlertMessage, DigestSummary, classify, render_digest, render_event
from alerts.sink import message_metadata
from oktaclient.models import LogEvent
from tests.alerts_support import ALERTS, ORG_URL, log_event, slack_stand_in

ERIN = {"id": "00u1erin", "type": "User", "alternateId": "erin.employee@acme.example", "displayName": "Erin Employee"}
ADMIN = {"id": "00uoscar", "type": "User", "alternateId": "oscar.admin@acme.example", "displayName": "Oscar Admin"}
GROUP = {"id": "00gadmins", "type": "UserGroup", "alternateId": "unknown", "displayName": "Okta Admins"}


def _event(event_type: str, **fields: Any) -> LogEvent:
    return LogEvent.model_validate(log_event(event_type, **fields))


def _all_text(message: AlertMessage) -> str:
    return message.text + json.dumps([b.to_dict() for b in message.blocks])


def _buttons(message: AlertMessage) -> list[tuple[str, str]]:
    return [
        (e["action_id"], e["value"]) for b in message.blocks if b.type == "actions" for e in b.to_dict()["elements"]
    ]


CASES: Sequence[tuple[LogEvent, AlertKind, str]] = [
    (_event("user.session.start"), AlertKind.FAILED_SIGN_IN, "Failed sign-in"),
    (_event("user.account.lock", outcome="SUCCESS", reason=None), AlertKind.LOCKOUT, "Account locked out"),
    (_event("user.mfa.factor.deactivate", actor=ADMIN, targets=[ERIN]), AlertKind.MFA_RESET, "MFA factor removed"),
    (_event("user.mfa.factor.reset_all", actor=ADMIN, targets=[ERIN]), AlertKind.MFA_RESET, "MFA factor reset"),
    (
        _event("user.account.privilege.grant", actor=ADMIN, targets=[ERIN], outcome="SUCCESS"),
        AlertKind.PRIVILEGE_GRANT,
        "Admin privilege granted",
    ),
    (_event("security.threat.detected", reason=None), AlertKind.THREAT, "Suspicious activity"),
    (
        _event("user.session.start", outcome="SUCCESS", debug={"threatSuspected": "true"}),
        AlertKind.THREAT,
        "Suspicious activity",
    ),
    (
        _event("user.session.start", outcome="SUCCESS", debug={"behaviors": "{New Geo-Location=POSITIVE}"}),
        AlertKind.THREAT,
        "Suspicious activity",
    ),
    (
        _event("user.lifecycle.suspend", actor=ADMIN, targets=[ERIN]),
        AlertKind.LIFECYCLE,
        "User lifecycle change: user.lifecycle.suspend",
    ),
    (
        _event("group.user_membership.add", actor=ADMIN, targets=[ERIN, GROUP]),
        AlertKind.GROUP_MEMBERSHIP,
        "Group membership change: group.user_membership.add",
    ),
    (_event("application.lifecycle.update", actor=ADMIN), AlertKind.OTHER, "Okta event: application.lifecycle.update"),
    (
        _event("user.session.start", outcome="SUCCESS", debug={"risk": "{level=LOW}"}),
        AlertKind.OTHER,
        "Okta event: user.session.start",
    ),
]


@pytest.mark.parametrize(("event", "kind", "title"), CASES, ids=[f"{c[1]}-{c[0].eventType}" for c in CASES])
def test_each_kind_has_its_headline_and_the_facts(event: LogEvent, kind: AlertKind, title: str) -> None:
    assert classify(event) is kind
    message = render_event(event, ORG_URL)
    everything = _all_text(message)
    assert message.text.startswith(title)
    assert f"*{title}*" in everything
    for fact in (
        "*Who*",
        "*Target*",
        "*Outcome*",
        "*When*",
        "*Client IP*",
        "*Location*",
        "203.0.113.7",
        "Lagos, Nigeria",
    ):
        assert fact in everything
    assert "<!date^1740993300^{date_short_pretty} {time_secs}|2025-03-03 09:15:00 UTC>" in everything


def test_user_events_link_to_the_user_and_offer_actions() -> None:
    message = render_event(_event("user.mfa.factor.reset_all", actor=ADMIN, targets=[ERIN]), ORG_URL)
    everything = _all_text(message)
    assert f"<{ORG_URL}/admin/user/profile/view/00u1erin|Open user in Okta admin>" in everything
    assert (
        "Oscar Admin (oscar.admin@acme.example)" in everything
        and "Erin Employee (erin.employee@acme.example)" in everything
    )
    assert _buttons(message) == [
        ("okta:lookup", "00u1erin"),
        ("okta:clear-sessions", "00u1erin"),
        ("okta:suspend", "00u1erin"),
    ]


def test_destructive_buttons_ask_for_confirmation_naming_the_user() -> None:
    message = render_event(_event("user.lifecycle.suspend", actor=ADMIN, targets=[ERIN]), ORG_URL)
    [actions] = [b.to_dict() for b in message.blocks if b.type == "actions"]
    confirms = {e["action_id"]: e.get("confirm") for e in actions["elements"]}
    assert confirms["okta:lookup"] is None
    for verb in ("clear-sessions", "suspend"):
        confirm = confirms[f"okta:{verb}"]
        assert confirm is not None and confirm["style"] == "danger"
        assert f"`/okta {verb}` for Erin Employee (erin.employee@acme.example)" in confirm["text"]["text"]


def test_failed_sign_in_is_about_its_actor_and_shows_the_reason() -> None:
    message = render_event(_event("user.session.start"), ORG_URL)
    assert "FAILURE (INVALID_CREDENTIALS)" in _all_text(message)
    assert [value for _, value in _buttons(message)] == ["00u1erin"] * 3


def test_a_lock_out_offers_unlock_first() -> None:
    message = render_event(_event("user.account.lock", outcome="SUCCESS", reason=None), ORG_URL)
    assert [action for action, _ in _buttons(message)] == [
        "okta:unlock",
        "okta:lookup",
        "okta:clear-sessions",
        "okta:suspend",
    ]


def test_a_user_without_an_id_is_acted_on_by_login() -> None:
    no_id = {"type": "User", "alternateId": "erin.employee@acme.example", "displayName": "Erin Employee"}
    message = render_event(_event("user.lifecycle.suspend", actor=ADMIN, targets=[no_id]), ORG_URL)
    assert {value for _, value in _buttons(message)} == {"erin.employee@acme.example"}
    assert "Open in Okta System Log" in _all_text(message), "no id, no profile link"


def test_events_without_a_known_user_link_to_the_system_log() -> None:
    ghost = {"id": "unknown", "type": "User", "alternateId": "nobody@acme.example", "displayName": "unknown"}
    event = _event("user.session.start", actor=ghost)
    message = render_event(event, ORG_URL)
    assert f"<{ORG_URL}/report/system_log_2?search={event.uuid}|Open in Okta System Log>" in _all_text(message)
    assert _buttons(message) == []


HOSTILE = "<!channel> <@U0SAM000001> <https://evil.example|Reset your password> & <!here>"


def test_okta_strings_cannot_ping_or_link() -> None:
    hostile_user = {"id": "00u<x>", "type": "User", "alternateId": HOSTILE, "displayName": HOSTILE}
    raw = log_event(
        "user.account.privilege.grant",
        actor=hostile_user,
        targets=[hostile_user],
        message=HOSTILE,
        reason=HOSTILE,
        debug={"threatSuspected": "true", "risk": "{level=HIGH, reasons=" + HOSTILE + "}"},
    )
    raw["client"]["ipAddress"] = HOSTILE
    raw["client"]["geographicalContext"] = {"city": HOSTILE, "country": HOSTILE}
    message = render_event(LogEvent.model_validate(raw), ORG_URL)
    everything = _all_text(message)
    for forbidden in ("<!channel>", "<!here>", "<@U0SAM", "<https://evil", "& "):
        assert forbidden not in everything
    assert "&lt;!channel&gt;" in everything and "&amp;" in everything
    assert "/admin/user/profile/view/00u%3Cx%3E|" in everything, "ids in links are URL-quoted"


def test_digest_rows_are_escaped_and_capped() -> None:
    moment = datetime(2025, 3, 3, 9, 15, tzinfo=UTC)
    actors = [(HOSTILE, 50)] + [(f"user{i}@acme.example", 10 - i) for i in range(12)]
    summary = DigestSummary(AlertKind.FAILED_SIGN_IN, 200, moment, moment, actors, [("203.0.113.7", 200)], 20)
    message = render_digest(summary)
    everything = _all_text(message)
    assert "<!channel>" not in everything and "&lt;!channel&gt;" in everything
    assert "Burst: 200 more failed sign-ins" in message.text
    assert "3 others: " in everything  # 13 actors: ten rows, then the rest summed


async def test_every_kind_is_valid_block_kit_for_slack() -> None:
    async with slack_stand_in() as (ws, client):
        ws.rate_limits.enabled = False  # every case in one channel at once: the layouts are the point here
        for i, (event, _, _) in enumerate(CASES):
            message = render_event(event, ORG_URL)
            await client.chat_postMessage(
                channel=ALERTS, text=message.text, blocks=message.blocks, metadata=message_metadata(str(i))
            )
        moment = datetime(2025, 3, 3, 9, 15, tzinfo=UTC)
        summary = DigestSummary(AlertKind.LOCKOUT, 3, moment, moment, [("a", 3)], [("b", 3)], 20)
        digest = render_digest(summary)
        await client.chat_postMessage(channel=ALERTS, text=digest.text, blocks=digest.blocks)
        assert len(ws.messages(ALERTS)) == len(CASES) + 1
