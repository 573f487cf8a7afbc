"""The helpdesk toolkit end to end over real HTTP (issue 18): history, activity, reset-mfa, activate and
reactivate, with their refusals and approvals. One bot runs for the module (tests/helpdesk_support.py);
each test works on users of its own."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio

from audit import AuditLog, AuditRecord
from oktaclient.models import UserStatus
from tests.chatops_support import ARJUN, ERIN, HANA, ChatOps
from tests.helpdesk_support import (
    ask,
    audited,
    buttons,
    click,
    mrkdwn,
    new_user,
    open_request_form,
    request_approval,
    running_bot,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(redis_url: str) -> AsyncIterator[ChatOps]:
    async with running_bot(redis_url) as chatops:
        yield chatops


# --- history -------------------------------------------------------------------------------------------


async def test_history_shows_who_did_what_and_how_it_ended(bot: ChatOps) -> None:
    pat = new_user(bot.org, UserStatus.LOCKED_OUT)
    await ask(bot, HANA, f"unlock {pat.login}")
    await ask(bot, HANA, f"expire-password {pat.id}")

    page = await ask(bot, HANA, f"history {pat.id}")  # by Okta id: records name the login

    text = mrkdwn(page)
    assert f"<@{HANA}> · `unlock` · :white_check_mark: succeeded" in text
    assert text.index("`expire-password`") < text.index("`unlock`")  # newest first
    assert "History of Pat" in text and "page 1" in text
    assert "Older" not in json.dumps(page.blocks)
    await audited(bot, verb="history", target=pat.login, outcome="succeeded")


async def test_history_of_someone_nothing_was_done_to_says_so(bot: ChatOps) -> None:
    pat = new_user(bot.org)
    page = await ask(bot, HANA, f"history {pat.login}")
    assert page.text == f"No records about Pat {pat.profile['lastName']} ({pat.login}) in the audit trail."


async def test_history_pages_within_slacks_limits_and_the_buttons_turn_them(bot: ChatOps) -> None:
    pat = new_user(bot.org)
    log = AuditLog(bot.redis)
    for n in range(20):
        await log.append(
            AuditRecord(at=datetime.now(UTC), actor=HANA, verb="unlock", target=pat.login.upper(), outcome="failed",
                        detail=f"attempt {n} " + "x" * 600, source="command")
        )
    first = await ask(bot, HANA, f"history {pat.login}")
    assert len(first.blocks) <= 50 and "attempt 19" in mrkdwn(first) and "attempt 4 " not in mrkdwn(first)
    assert list(buttons(first)) == ["okta:history:1"]

    second = await click(bot, HANA, "okta:history:1", first)

    # reading the history is itself a record about the user: page 2 starts one record later
    assert "page 2" in mrkdwn(second) and "attempt 0 " in mrkdwn(second) and "attempt 10 " not in mrkdwn(second)
    assert [b["text"]["text"] for b in buttons(second).values()] == ["Newer"]


async def test_history_is_refused_without_a_role(bot: ChatOps) -> None:
    answer = await ask(bot, ERIN, "history lee.locked@acme.example")
    assert "You need the *helpdesk* or *security* role to run `history`." in answer.text
    await audited(bot, actor=ERIN, verb="history", outcome="refused")


# --- activity ------------------------------------------------------------------------------------------


async def test_activity_of_a_quiet_user_says_the_log_is_empty(bot: ChatOps) -> None:
    pat = new_user(bot.org)
    answer = await ask(bot, HANA, f"activity {pat.login} 1h")
    assert answer.text == f"No System Log events about Pat {pat.profile['lastName']} ({pat.login}) in the last 1h."


async def test_activity_explains_a_lock_out_by_the_failures_before_it(bot: ChatOps) -> None:
    pat = new_user(bot.org)
    bot.org.sign_in(pat, ip="192.0.2.10")
    bot.org.lock_out(pat, failures=4, ip="198.51.100.23")

    report = await ask(bot, HANA, f"activity {pat.login}")

    text = mrkdwn(report)
    assert "1 sign-in(s), 4 failed" not in text and "5 sign-in(s), 4 failed" in text and "1 lock-out(s)" in text
    why = text[text.index("*Locked out*") : text.index("*Latest")]
    assert "after 4 failed attempt(s)" in why
    assert why.count("(INVALID_CREDENTIALS)") == 4 and why.count("IP 198.51.100.23") == 4
    assert "192.0.2.10" not in why  # the successful sign-in before the run of failures is not part of it


async def test_activity_of_a_user_with_200_events_fits_one_message(bot: ChatOps) -> None:
    pat = new_user(bot.org)
    bot.org.fail_sign_ins(pat.login, 200)

    report = await ask(bot, HANA, f"activity {pat.login} 2h")

    assert len(report.blocks) <= 50 and all(len(json.dumps(b)) < 3500 for b in report.blocks)
    text = mrkdwn(report)
    assert "200 sign-in(s), 200 failed" in text and "180 older event(s) not listed" in text


async def test_activity_is_refused_to_an_employee(bot: ChatOps) -> None:
    answer = await ask(bot, ERIN, "activity lee.locked@acme.example")
    assert "role to run `activity`" in answer.text


# --- reset-mfa -----------------------------------------------------------------------------------------


async def test_reset_mfa_lists_the_factors_with_a_button_each_and_one_for_all(bot: ChatOps) -> None:
    pat = new_user(bot.org)
    push, sms = bot.org.enroll_factor(pat, "push"), bot.org.enroll_factor(pat, "sms")

    listing = await ask(bot, HANA, f"reset-mfa {pat.login}")

    text = mrkdwn(listing)
    assert "*Okta Verify push · OKTA* · ACTIVE · enrolled <!date^" in text and f"id `{sms.id}`" in text
    values = [b["value"] for b in listing.blocks[-1]["elements"]]
    assert values == [f"{pat.id} {push.id}", f"{pat.id} {sms.id}", f"{pat.id} all"]
    assert all(b["style"] == "danger" and b["confirm"] for b in listing.blocks[-1]["elements"])
    assert len(bot.org.get_user(pat.login).factors) == 2  # listing changes nothing

    await bot.click(HANA, "okta:reset-mfa:2", listing)  # reset all: the approval form opens
    form = await open_request_form(bot, HANA)
    assert "every factor (2)" in json.dumps(form.view)
    await bot.ws.send(bot.url, bot.ws.view_closed(HANA, form))  # closed unsent: nothing is requested
    await bot.ws.wait_for_message(lambda m: m.ephemeral_to == HANA and "you closed the form for `reset-mfa`" in m.text)
    assert len(pat.factors) == 2


async def test_reset_mfa_of_one_factor_needs_approval_then_removes_only_it(bot: ChatOps) -> None:
    pat = new_user(bot.org)
    push, sms = bot.org.enroll_factor(pat, "push"), bot.org.enroll_factor(pat, "sms")

    request = await request_approval(bot, HANA, f"reset-mfa {pat.login} sms")
    assert "`reset-mfa`" in mrkdwn(request) and ": *SMS · OKTA*" in mrkdwn(request)
    assert [f.id for f in pat.factors] == [push.id, sms.id]  # nothing before approval
    await bot.click(ARJUN, "approval:approve", request)
    await bot.ws.wait_for_message(lambda m: m.channel == bot.ws.dm_channel_id(HANA) and pat.login in m.text and "done" in m.text)

    assert [f.id for f in pat.factors] == [push.id]
    await audited(bot, verb="reset-mfa", target=pat.login, outcome="succeeded")


async def test_reset_mfa_refusals_and_factors_that_are_not_there(bot: ChatOps) -> None:
    pat = new_user(bot.org)
    bot.org.enroll_factor(pat, "push")

    assert "role to run `reset-mfa`" in (await ask(bot, ERIN, f"reset-mfa {pat.login}")).text
    missing = await ask(bot, HANA, f"reset-mfa {pat.login} webauthn")
    assert "has no factor `webauthn`" in missing.text and "Okta Verify push" in missing.text
    bare = new_user(bot.org)
    assert "has no MFA factor enrolled" in (await ask(bot, HANA, f"reset-mfa {bare.login}")).text
    staged = new_user(bot.org, UserStatus.STAGED)
    moot = await ask(bot, HANA, f"reset-mfa {staged.login} all")
    assert "is STAGED: a STAGED or deactivated user has no factors to reset. Nothing was changed." in moot.text


# --- activate / reactivate -----------------------------------------------------------------------------


async def test_activate_a_staged_user_sends_the_activation_email(bot: ChatOps) -> None:
    pat = bot.org.add_user("new.hire1@acme.example", "New", "Hire", status=UserStatus.STAGED, password=False)

    answer = await ask(bot, HANA, f"activate {pat.login}")

    assert answer.text == f":white_check_mark: New Hire ({pat.login}): activated: Okta emailed the activation link."
    assert pat.status == UserStatus.PROVISIONED  # no password yet: they finish through the email
    again = await ask(bot, HANA, f"activate {pat.login}")
    assert f"is PROVISIONED: only a STAGED user is activated. Use `/okta reactivate {pat.login}`." in again.text


async def test_reactivate_follows_oktas_status_rules(bot: ChatOps) -> None:
    provisioned = bot.org.add_user("new.hire2@acme.example", "New", "Hire", status=UserStatus.PROVISIONED, password=False)
    staged = bot.org.add_user("new.hire3@acme.example", "New", "Hire", status=UserStatus.STAGED, password=False)
    active = new_user(bot.org)

    sent = await ask(bot, HANA, f"reactivate {provisioned.login}")
    assert sent.text.endswith("sent a new activation email.") and provisioned.status == UserStatus.PROVISIONED
    assert "Use `/okta activate new.hire3@acme.example`" in (await ask(bot, HANA, f"reactivate {staged.login}")).text
    refused = await ask(bot, HANA, f"reactivate {active.login}")
    assert "is ACTIVE: only a PROVISIONED user" in refused.text and active.status == UserStatus.ACTIVE
    assert "role to run `activate`" in (await ask(bot, ERIN, f"activate {staged.login}")).text
    events = [e["eventType"] for e in bot.org.log_events if any(t.get("id") == provisioned.id for t in e["target"])]
    assert events == ["user.lifecycle.reactivate"]
