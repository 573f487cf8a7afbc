"""Every message the bot builds fits Slack's limits, whatever Okta holds: user cards, group listings,
approval messages and forms, the Home tab, and alerts, for any profile Okta accepts and any event it
can send, checked by the Slack stand-in's validator (which refuses what Slack refuses).

Lengths follow Okta's user schema (okta-openapi management-api.yaml, UserProfile): firstName and
lastName 50, login and email 100; attributes the spec leaves unbounded (displayName, title,
department, manager, ...) are capped by Okta's profile schema at 1,024; group names at 255.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actions.describe import describe
from alerts.format import AlertKind, DigestSummary, render_digest, render_event
from approvals import ApprovalRequest, ApprovalState
from approvals.messages import Draft, approval_message, request_form
from approvals.models import Approval
from commands.cards import group_listing, user_card
from commands.factors import factor_listing
from commands.home import home_view
from oktaclient.models import Factor, Group, LogEvent, User, UserStatus
from policy import ApprovalRule, Verb
from slackport import Reply
from slackport import blockkit as bk
from slacksim import BLOCK_KIT_LIMITS, message_problems, view_problems
from tests.conftest import examples

ORG_URL = "https://acme.okta.com"
MOMENT = datetime(2026, 3, 3, 9, 15, tzinfo=UTC)
EXAMPLES = settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
# what breaks lengths: entities that grow when escaped, markup, wide characters
NASTY = ["&", "<", ">", "&<>", "a", "é", "日", "😀", "*", "`", " ", "<!channel>"]


def okta_text(max_size: int, min_size: int = 0) -> st.SearchStrategy[str]:
    """Any string of up to `max_size` characters, often as long as allowed and made of what escaping grows."""
    repeated = st.tuples(st.sampled_from(NASTY), st.integers(0, max_size)).map(lambda p: (p[0] * p[1])[:max_size])
    return st.one_of(st.text(min_size=min_size, max_size=max_size), repeated).filter(lambda t: len(t) >= min_size)


def optional(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), strategy)


users = st.builds(
    lambda first, last, login, email, display, title, department, manager, status: User.model_validate(
        {
            "id": "00u1abcdefGHIJKLMN0x7",
            "status": status,
            "created": MOMENT,
            "profile": {
                "login": login,
                "email": email,
                "firstName": first,
                "lastName": last,
                "displayName": display,
                "title": title,
                "department": department,
                "manager": manager,
            },
        }
    ),
    okta_text(50, 1),
    okta_text(50, 1),
    okta_text(100, 5),
    optional(okta_text(100, 5)),
    optional(okta_text(1024)),
    optional(okta_text(1024)),
    optional(okta_text(1024)),
    optional(okta_text(1024)),
    st.sampled_from(list(UserStatus)),
)
group_names = st.lists(okta_text(255, 1), max_size=260)
factor = st.builds(
    lambda kind, status: Factor(id="uft1", factorType=kind, status=status),
    st.one_of(st.sampled_from(["push", "sms", "webauthn"]), okta_text(1024, 1)),
    optional(okta_text(1024)),
)
factors = st.lists(factor, max_size=30)


def groups_named(names: list[str]) -> list[Group]:
    return [Group.model_validate({"id": f"00g{i}", "profile": {"name": n}}) for i, n in enumerate(names)]


def assert_fits(reply: Reply) -> None:
    problems = message_problems({"text": reply.text, "blocks": reply.blocks})
    assert problems == [] and len(reply.text) <= BLOCK_KIT_LIMITS["message.text"]


@EXAMPLES
@given(users, group_names, factors, optional(okta_text(4000)))
def test_user_cards_fit(user: User, names: list[str], enrolled: list[Factor], note: str | None) -> None:
    card = user_card(user, groups_named(names), enrolled, allowed=lambda _: True, org_url=ORG_URL, note=note)
    assert_fits(card)
    dialogs = [
        e["confirm"]["text"]["text"]
        for b in card.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if "confirm" in e
    ]
    assert all(text.endswith(". Go ahead?") for text in dialogs)  # the question survives a long name


@EXAMPLES
@given(users, group_names)
def test_group_listings_fit_and_count_what_they_leave_out(user: User, names: list[str]) -> None:
    listing = group_listing(user, groups_named(names), "https://acme.okta.com")
    assert_fits(listing)
    shown = listing.text.count("\n• ")
    if shown < len(names):
        assert listing.text.endswith(f"and {len(names) - shown} more")
        # and where to see them all
        assert "https://acme.okta.com/admin/user/profile/view/" in str(listing.blocks[-1])


approval_states = st.sampled_from(
    [s for s in ApprovalState if s != ApprovalState.APPROVED]
)  # never stored, never shown


@EXAMPLES
@given(
    users, optional(okta_text(255, 1)), okta_text(500), approval_states, optional(okta_text(4000)), okta_text(100, 1)
)
def test_approval_messages_and_request_forms_fit(
    user: User, group: str | None, reason: str, state: ApprovalState, detail: str | None, role: str
) -> None:
    params: dict[str, Any] = {
        "group_id": None if group is None else "00g1",
        "group_name": group,
        "target_label": describe(user),
        "target_status": str(user.status),
        "target_title": user.profile.title,
        "target_department": user.profile.department,
    }
    request = ApprovalRequest(
        id="r-Abc123",
        state=state,
        requester="U0HANA00001",
        verb="suspend",
        target=user.profile.login,
        target_id=user.id,
        params=params,
        reason=reason,
        required_approvals=2,
        approver_role=role,
        created_at=MOMENT,
        deadline=MOMENT + timedelta(hours=1),
        approved=(Approval(by="U0ARJUN0001", at=MOMENT),),
        closed_at=MOMENT if state.terminal else None,
        closed_by="U0ARJUN0001",
        outcome_detail=detail,
    )
    assert_fits(approval_message(request))

    draft = Draft(
        verb=Verb.SUSPEND, target=user.profile.login, target_id=user.id, params=params, channel_id="C0HELPDESK1"
    )
    rule = ApprovalRule(required_approvals=2, approver_role=role, expiry_seconds=3600, channel="#approvals")
    form = request_form(draft, rule)
    assert view_problems(form, "modal") == []
    sent = Draft.model_validate_json(form["private_metadata"])  # what the submission brings back
    assert (sent.verb, sent.target, sent.target_id, sent.params["group_name"]) == (
        Verb.SUSPEND,
        user.profile.login,
        user.id,
        group,
    )


@EXAMPLES
@given(users, optional(okta_text(4000)), st.lists(st.sampled_from([Verb.UNLOCK, Verb.RESET_PASSWORD]), unique=True))
def test_home_tabs_fit(user: User, note: str | None, offered: list[Verb]) -> None:
    assert view_problems(home_view(note, user=user, offered=offered), "home") == []


actors = st.fixed_dictionaries(
    {},
    optional={
        "id": okta_text(2100),
        "type": st.sampled_from(["User", "UserGroup", "AppInstance"]) | okta_text(2100),
        "alternateId": okta_text(2100),
        "displayName": okta_text(2100),
    },
)
events = st.builds(
    lambda kind, actor, targets, message, outcome, reason, ip, city, debug: LogEvent.model_validate(
        {
            "uuid": "9d6f5f0e-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
            "published": MOMENT,
            "eventType": kind,
            "actor": actor,
            "target": targets,
            "displayMessage": message,
            "outcome": {"result": outcome, "reason": reason},
            "client": {"ipAddress": ip, "geographicalContext": {"city": city, "country": city}},
            "debugContext": {"debugData": debug},
        }
    ),
    st.sampled_from(
        ["user.session.start", "user.account.lock", "user.mfa.factor.deactivate", "security.threat.detected"]
    )
    | okta_text(300, 1),
    actors,
    st.lists(actors, max_size=12),
    optional(okta_text(2100)),
    st.sampled_from(["FAILURE", "SUCCESS"]) | okta_text(2100),
    optional(okta_text(2100)),
    optional(okta_text(2100)),
    optional(okta_text(2100)),
    st.fixed_dictionaries(
        {},
        optional={
            "threatSuspected": st.just("true"),
            "risk": okta_text(2100).map(lambda t: "level=HIGH" + t),
            "behaviors": okta_text(2100).map(lambda t: t + "=POSITIVE"),
        },
    ),
)


@EXAMPLES
@given(events)
def test_alerts_fit_for_any_event(event: LogEvent) -> None:
    message = render_event(event, ORG_URL)
    assert_fits(Reply(text=message.text, blocks=[b.to_dict() for b in message.blocks]))


rows = st.lists(st.tuples(okta_text(2100), st.integers(1, 10_000)), max_size=40)


@EXAMPLES
@given(st.sampled_from(list(AlertKind)), rows, rows)
def test_digests_fit(kind: AlertKind, by_actor: list[tuple[str, int]], by_ip: list[tuple[str, int]]) -> None:
    digest = render_digest(DigestSummary(kind, 500, MOMENT, MOMENT, by_actor, by_ip, 3))
    assert_fits(Reply(text=digest.text, blocks=[b.to_dict() for b in digest.blocks]))


def test_the_bots_limits_are_slacks() -> None:
    assert (bk.SECTION_TEXT, bk.FIELD_TEXT, bk.SECTION_FIELDS, bk.HEADER_TEXT, bk.TEXT_OBJECT) == (
        BLOCK_KIT_LIMITS["section.text"],
        BLOCK_KIT_LIMITS["section.field"],
        BLOCK_KIT_LIMITS["section.fields"],
        BLOCK_KIT_LIMITS["header.text"],
        BLOCK_KIT_LIMITS["text.text"],
    )
    assert (bk.CONFIRM_TITLE, bk.CONFIRM_TEXT, bk.CONFIRM_BUTTON, bk.BUTTON_TEXT, bk.BUTTON_VALUE) == (
        BLOCK_KIT_LIMITS["confirm.title"],
        BLOCK_KIT_LIMITS["confirm.text"],
        BLOCK_KIT_LIMITS["confirm.confirm"],
        BLOCK_KIT_LIMITS["button.text"],
        BLOCK_KIT_LIMITS["button.value"],
    )
    assert (bk.MESSAGE_BLOCKS, bk.CONTEXT_ELEMENTS, bk.ACTIONS_ELEMENTS, bk.MODAL_TITLE, bk.PRIVATE_METADATA) == (
        BLOCK_KIT_LIMITS["message.blocks"],
        BLOCK_KIT_LIMITS["context.elements"],
        BLOCK_KIT_LIMITS["actions.elements"],
        BLOCK_KIT_LIMITS["modal.title"],
        BLOCK_KIT_LIMITS["view.private_metadata"],
    )
    assert bk.INPUT_LABEL == BLOCK_KIT_LIMITS["input.label"]
    assert bk.MESSAGE_TEXT < BLOCK_KIT_LIMITS["message.text"]


@EXAMPLES
@given(users, st.lists(factor, max_size=200).map(lambda fs: [f.model_copy(update={"id": f"uft{i}"}) for i, f in enumerate(fs)]))
def test_factor_listings_fit_however_many_factors(user: User, listed: list[Factor]) -> None:
    reply = factor_listing(user, listed)
    assert_fits(reply)
    if len(listed) > 40:  # the rest can be reset by id, and "all" always can
        assert "more: reset one by its id" in str(reply.blocks)


def test_a_user_with_200_factors_gets_one_message_slack_accepts() -> None:
    user = User.model_validate({"id": "00u1", "status": "ACTIVE", "profile": {"login": "pat@acme.example"}})
    listed = [Factor(id=f"uft{i}", factorType="sms", status="ACTIVE") for i in range(200)]
    reply = factor_listing(user, listed)
    assert_fits(reply)
    assert len(reply.blocks) <= 50 and "160 more" in str(reply.blocks)
