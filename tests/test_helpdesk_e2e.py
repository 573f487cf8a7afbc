"""The helpdesk commands that change Okta, end to end: signed Slack requests in, the Okta simulator
and the Slack stand-in out.

One bot runs for the whole module (tests/helpdesk_support.py); each test changes users of its
own (`new_user`). Verbs that need approval are followed up to the request in #approvals, and no
further: the approval flow has its own tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from oktaclient.models import UserStatus
from oktasim import OktaOrg
from tests.chatops_support import ARJUN, HANA, SAM, ChatOps
from tests.helpdesk_support import (
    ask,
    audit_line,
    audited,
    buttons,
    click,
    mrkdwn,
    new_user,
    request_approval,
    running_bot,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(redis_url: str) -> AsyncIterator[ChatOps]:
    async with running_bot(redis_url) as chatops:
        yield chatops


# --- changes made at once ------------------------------------------------------------------------------


async def test_unlock_unlocks_in_okta_replaces_working_on_it_and_is_audited(bot: ChatOps) -> None:
    user = new_user(bot.org, UserStatus.LOCKED_OUT)

    answer = await ask(bot, HANA, f"unlock {user.login}")

    assert answer.text == f":white_check_mark: Pat {user.profile['lastName']} ({user.login}): unlocked."
    assert answer.edit_count == 1 and answer.via == "ack"  # the ack's message, replaced
    assert user.status == "ACTIVE"
    record = await audited(bot, target=user.login, outcome="succeeded")
    assert (record.actor, record.actor_email, record.verb, record.source) == (
        HANA,
        "hana.helpdesk@acme.example",
        "unlock",
        "command",
    )
    assert record.okta_request_id
    await audit_line(bot, f"<@{HANA}> `unlock` on `{user.login}` → *succeeded* (command)")


async def test_expire_password(bot: ChatOps) -> None:
    user = new_user(bot.org)

    answer = await ask(bot, SAM, f"expire-password {user.login}")

    assert answer.text.endswith(": password expired: they must choose a new one at next sign-in.")
    assert user.status == "PASSWORD_EXPIRED"


async def test_unsuspend(bot: ChatOps) -> None:
    user = new_user(bot.org, UserStatus.SUSPENDED)

    answer = await ask(bot, HANA, f"unsuspend {user.id}")

    assert answer.text.endswith(f"({user.login}): unsuspended.")
    assert user.status == "ACTIVE"


async def test_clear_sessions_runs_at_once_for_security(bot: ChatOps) -> None:
    user = new_user(bot.org)
    bot.org.sign_in(user)

    answer = await ask(bot, SAM, f"clear-sessions {user.login}")

    assert answer.text.endswith(": signed out everywhere (all sessions cleared).")
    assert user.sessions == 0


async def test_add_to_an_ordinary_group_is_done_at_once(bot: ChatOps) -> None:
    user = new_user(bot.org)

    answer = await ask(bot, HANA, f"add-to-group {user.login} Finance")

    assert answer.text.endswith(f"({user.login}): added to the group *Finance*.")
    assert user.id in bot.org.get_group("Finance").member_ids


async def test_a_membership_change_that_would_change_nothing_is_said_and_not_asked_for(bot: ChatOps) -> None:
    user = new_user(bot.org, groups=("Engineering",))
    before = _okta_state(bot.org)

    already = await ask(bot, HANA, f"add-to-group {user.login} Engineering")
    not_in = await ask(bot, HANA, f"remove-from-group {user.login} Finance")  # would need approval
    built_in = await ask(bot, HANA, f"add-to-group {user.login} Everyone")

    assert already.text.endswith(f"({user.login}) is already in group *Engineering*. Nothing was changed.")
    assert not_in.text.endswith(f"({user.login}) is not in group *Finance*. Nothing was changed.")
    assert built_in.text == (
        ":information_source: Okta manages the members of *Everyone* itself (BUILT_IN group); "
        "they cannot be changed from Slack. Nothing was changed."
    )
    assert _okta_state(bot.org) == before
    assert not [v for v in bot.ws.views if v.user_id == HANA and not v.closed]  # no request form either
    await audited(bot, outcome="unchanged", verb="remove-from-group", target=user.login)


# --- changes that need approval ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "command", "needs"),
    [
        (HANA, "suspend {login}", "1 approval by *approver*"),
        (HANA, "reset-password {login}", "1 approval by *approver*"),
        (SAM, "deactivate {login}", "2 approvals by *approver*"),
        (HANA, "remove-from-group {login} Engineering", "1 approval by *approver*"),
        (HANA, 'add-to-group {login} "Okta Admins"', "1 approval by *approver*"),  # a privileged group
    ],
    ids=["suspend", "reset-password", "deactivate", "remove-from-group", "add-to-privileged-group"],
)
async def test_a_change_that_needs_approval_is_requested_and_nothing_happens_yet(
    bot: ChatOps, caller: str, command: str, needs: str
) -> None:
    user = new_user(bot.org)
    before = _okta_state(bot.org)

    request = await request_approval(bot, caller, command.format(login=user.login))

    verb = command.split()[0]
    assert f"`{verb}`" in mrkdwn(request) and f"<@{caller}>" in mrkdwn(request) and user.login in mrkdwn(request)
    assert {"approval:approve", "approval:deny"} <= set(buttons(request))
    answer = await bot.ws.wait_for_message(
        lambda m: m.ephemeral_to == caller and user.login in m.text and ":raised_hand:" in m.text
    )
    assert needs in answer.text
    assert _okta_state(bot.org) == before


async def test_a_password_reset_is_emailed_by_okta_and_never_shows_a_link_in_slack(bot: ChatOps) -> None:
    user = new_user(bot.org, UserStatus.LOCKED_OUT)
    request = await request_approval(bot, HANA, f"reset-password {user.login}")

    await bot.click(ARJUN, "approval:approve", request)
    await bot.ws.wait_for_message(
        lambda m: m.channel == bot.ws.dm_channel_id(HANA) and user.login in m.text and "done" in m.text
    )

    assert user.status == "RECOVERY"  # Okta emailed the user their link
    said = json.dumps([c.args for c in bot.ws.calls]) + json.dumps([m.model_dump() for m in bot.ws._messages])
    assert "/reset_password/" not in said and "resetPasswordUrl" not in said


async def test_pending_requests_are_listed_and_the_requester_can_cancel(bot: ChatOps) -> None:
    user = new_user(bot.org)
    await request_approval(bot, HANA, f"suspend {user.login}")

    listing = await ask(bot, ARJUN, "approvals")

    found = re.search(rf"• `([\w-]+)` <@{HANA}> `suspend` Pat Tester\d+ \({re.escape(user.login)}\)", listing.text)
    assert found is not None, listing.text
    cancelled = await ask(bot, HANA, f"cancel {found[1]}")
    assert cancelled.text == f"Request `{found[1]}` is cancelled."
    assert found[1] not in (await ask(bot, ARJUN, "approvals")).text


# --- buttons on the card -------------------------------------------------------------------------------


async def test_a_card_button_runs_the_command_and_updates_the_card_in_place(bot: ChatOps) -> None:
    user = new_user(bot.org, UserStatus.LOCKED_OUT)
    card = await ask(bot, HANA, f"lookup {user.login}")
    assert "*Status*\n:lock: Locked out" in mrkdwn(card)

    updated = await click(bot, HANA, "okta:unlock", card)

    assert (updated.channel, updated.ts) == (card.channel, card.ts)
    text = mrkdwn(updated)
    assert f":white_check_mark: Pat {user.profile['lastName']} ({user.login}): unlocked." in text
    assert "*Status*\n:large_green_circle: Active" in text
    assert "okta:unlock" not in buttons(updated) and "okta:suspend" in buttons(updated)
    assert user.status == "ACTIVE"
    record = await audited(bot, target=user.login, verb="unlock")
    assert (record.outcome, record.source) == ("succeeded", "button")


async def test_a_card_button_for_a_user_deleted_meanwhile_says_so(bot: ChatOps) -> None:
    user = new_user(bot.org, UserStatus.LOCKED_OUT)
    card = await ask(bot, HANA, f"lookup {user.login}")
    bot.org.directory.remove_user(user)

    answer = await click(bot, HANA, "okta:unlock", card)

    assert answer.text == f"No Okta user has the id `{user.id}`."


# --- Okta's errors on a change -------------------------------------------------------------------------


async def test_a_user_gone_between_finding_and_changing_them_is_explained(bot: ChatOps) -> None:
    user = new_user(bot.org, UserStatus.LOCKED_OUT)
    bot.org.inject_failure("POST", f"/api/v1/users/{user.id}/lifecycle/unlock", status=404)

    answer = await ask(bot, HANA, f"unlock {user.login}")

    assert answer.text.startswith(
        f":x: Unlocking Pat {user.profile['lastName']} ({user.login}) failed. Okta no longer finds that user or group."
    )
    assert user.status == "LOCKED_OUT"


def _okta_state(org: OktaOrg) -> dict[str, object]:
    """What a helpdesk change could alter: every user's status and sessions, every group's members."""
    users = {u.login: (u.status, u.sessions, u.password_changed) for u in org.directory.users.values()}
    groups = {g.name: frozenset(g.member_ids) for g in org.directory.groups.values()}
    return {"users": users, "groups": groups}
