"""The helpdesk end to end, where nothing in Okta changes: user cards and their buttons, groups, help,
finding the user, every refusal, Slack's signature check, escaping, and Okta's errors explained.

One bot runs for the whole module (tests/helpdesk_support.py): each test reads the answers to its
own requests, and leaves Okta as it found it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import pytest
import pytest_asyncio

from slacksim import SlackSigner
from tests.chatops_support import ARJUN, BEATRIZ, ERIN, GARY, GINA, HANA, JIRA, SAM, ChatOps
from tests.helpdesk_support import (
    WORKING,
    ask,
    audit_trail,
    audited,
    buttons,
    mrkdwn,
    new_user,
    running_bot,
    send,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

ERIN_LOGIN, LEE_LOGIN, OSCAR_LOGIN = "erin.employee@acme.example", "lee.locked@acme.example", "oscar.admin@acme.example"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(redis_url: str) -> AsyncIterator[ChatOps]:
    async with running_bot(redis_url) as chatops:
        yield chatops


# --- the user card -----------------------------------------------------------------------------------


async def test_lookup_shows_a_card_with_profile_status_dates_groups_and_factors(bot: ChatOps) -> None:
    card = await ask(bot, HANA, f"lookup {ERIN_LOGIN}")

    assert card.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Erin Employee", "emoji": True},
        "block_id": card.blocks[0]["block_id"],
    }
    text = mrkdwn(card)
    for field in (
        f"*Login*\n{ERIN_LOGIN}",
        f"*Email*\n{ERIN_LOGIN}",
        "*Status*\n:large_green_circle: Active",
        "*Title*\nSoftware Engineer",
        "*Department*\nEngineering",
        "*Groups (2)*\nEngineering, Everyone",
        "*MFA factors*\nOkta Verify push",
    ):
        assert field in text
    for label in ("Created", "Activated", "Last login", "Password changed"):
        assert f"*{label}*\n<!date^" in text  # shown in each reader's time zone
    assert "*Manager*\n" in text and "*Manager*\n—" not in text
    erin = bot.org.get_user(ERIN_LOGIN)
    assert f"Okta id `{erin.id}`" in text and f"/admin/user/profile/view/{erin.id}|Open in Okta admin>" in text
    assert card.ephemeral_to == HANA and card.edit_count == 1  # the ack, replaced in place


async def test_whois_is_lookup_and_the_card_counts_groups_beyond_ten(bot: ChatOps) -> None:
    groupie = bot.org.add_user("gus.groups@acme.example", "Gus", "Groups", groups=["Engineering"])
    for n in range(11):
        bot.org.add_group(f"Project {n:02}")
        bot.org.add_member(f"Project {n:02}", groupie)

    card = await ask(bot, HANA, "whois gus.groups@acme.example")

    shown = "Engineering, Everyone, Project 00, Project 01, Project 02, Project 03, Project 04, Project 05, Project 06, Project 07"
    assert f"*Groups (13)*\n{shown} and 3 more" in mrkdwn(card)


async def test_lookup_reads_groups_and_factors_at_once(bot: ChatOps) -> None:
    """Two round trips to Okta: the user, then their groups and factors in parallel. Both reads are
    held by the simulator; the lookup can only finish if they were in flight together."""
    await ask(bot, HANA, f"lookup {ERIN_LOGIN}")  # the caller's identity is cached from now on
    pat = new_user(bot.org)
    for part in ("groups", "factors"):
        bot.org.inject_delay("GET", f"/api/v1/users/{pat.id}/{part}", seconds=2)
    base = bot.org.peak_in_flight
    lookup = asyncio.create_task(ask(bot, HANA, f"lookup {pat.login}"))
    await asyncio.wait_for(bot.org.until_in_flight(2), timeout=5)
    card = await lookup
    assert pat.login in mrkdwn(card) and bot.org.peak_in_flight >= max(base, 2)
    reads = [r.path for r in bot.org.requests if pat.id in r.path or pat.login in r.path]
    assert reads[0] == f"/api/v1/users/{pat.login}"
    assert sorted(reads[1:]) == [f"/api/v1/users/{pat.id}/{part}" for part in ("factors", "groups")]


async def test_card_buttons_fit_the_users_status(bot: ChatOps) -> None:
    locked = buttons(await ask(bot, HANA, f"lookup {LEE_LOGIN}"))
    active = buttons(await ask(bot, HANA, f"lookup {ERIN_LOGIN}"))
    suspended = buttons(await ask(bot, HANA, "lookup sue.suspended@acme.example"))
    deactivated = buttons(await ask(bot, HANA, "lookup dee.deprovisioned@acme.example"))

    assert list(locked) == ["okta:unlock", "okta:reset-password", "okta:clear-sessions"]
    assert list(active) == ["okta:reset-password", "okta:expire-password", "okta:clear-sessions", "okta:suspend"]
    assert list(suspended) == ["okta:unsuspend"]
    assert deactivated == {}
    lee = bot.org.get_user(LEE_LOGIN)
    assert {b["value"] for b in locked.values()} == {lee.id}


async def test_card_buttons_fit_the_viewers_roles(bot: ChatOps) -> None:
    helpdesk = buttons(await ask(bot, HANA, f"lookup {LEE_LOGIN}"))
    security = buttons(await ask(bot, SAM, f"lookup {LEE_LOGIN}"))
    security_on_active = buttons(await ask(bot, SAM, f"lookup {ERIN_LOGIN}"))

    assert "okta:unlock" in helpdesk and "okta:unlock" not in security  # unlock: helpdesk only
    assert "okta:reset-password" not in security  # helpdesk only
    assert list(security_on_active) == [
        "okta:expire-password",
        "okta:clear-sessions",
        "okta:suspend",
        "okta:deactivate",
    ]


async def test_destructive_buttons_ask_for_confirmation_and_the_others_do_not(bot: ChatOps) -> None:
    card = buttons(await ask(bot, SAM, f"lookup {ERIN_LOGIN}")) | buttons(await ask(bot, HANA, f"lookup {LEE_LOGIN}"))

    for action_id in (
        "okta:expire-password",
        "okta:clear-sessions",
        "okta:suspend",
        "okta:deactivate",
        "okta:reset-password",
    ):
        button = card[action_id]
        assert button["style"] == "danger"
        confirm = button["confirm"]
        assert confirm["confirm"]["text"] and confirm["deny"]["text"] == "Cancel"
        assert (
            "(erin.employee@acme.example)" in confirm["text"]["text"]
            or "(lee.locked@acme.example)" in confirm["text"]["text"]
        )
    assert (
        card["okta:deactivate"]["confirm"]["text"]["text"]
        == "Deactivating Erin Employee (erin.employee@acme.example). Go ahead?"
    )
    assert "confirm" not in card["okta:unlock"] and "style" not in card["okta:unlock"]


async def test_a_protected_users_card_offers_no_action(bot: ChatOps) -> None:
    card = await ask(bot, HANA, f"lookup {OSCAR_LOGIN}")

    assert buttons(card) == {}
    assert "Protected account: nobody may change it from Slack" in mrkdwn(card)


async def test_profile_text_is_escaped_so_it_cannot_ping_or_forge_links(bot: ChatOps) -> None:
    evil = "<!channel> & <http://evil.example|click me>"
    bot.org.add_user("mallory@acme.example", "Mallory", "<!here>", title=evil, department="<@U0HANA00001>")

    card = await ask(bot, HANA, "lookup mallory@acme.example")

    assert "*Title*\n&lt;!channel&gt; &amp; &lt;http://evil.example|click me&gt;" in mrkdwn(card)
    assert "*Department*\n&lt;@U0HANA00001&gt;" in mrkdwn(card)
    header, *rest = card.blocks
    assert header["text"] == {"type": "plain_text", "text": "Mallory <!here>", "emoji": True}  # plain text: no markup
    everything = card.text + json.dumps(rest)
    for markup in ("<!channel>", "<!here>", "<http://evil", "<@U0HANA00001>"):
        assert markup not in everything
    assert card.text.startswith("Mallory &lt;!here&gt; (mallory@acme.example)")


async def test_a_long_name_keeps_the_reset_password_dialog_within_300_characters(bot: ChatOps) -> None:
    name = "Maximiliana Alexandrina Konstantinopoulou-Vanderbilt & Associates of the Northern Hemisphere " * 3
    login = "maximiliana.alexandrina.konstantinopoulou-vanderbilt@research-and-development.acme.example"
    bot.org.add_user(login, "Maximiliana", "Konstantinopoulou", displayName=name.strip())

    card = await ask(bot, HANA, f"lookup {login}")  # posted at all: Slack refuses a dialog text over 300

    dialog = buttons(card)["okta:reset-password"]["confirm"]["text"]["text"]
    assert len(dialog) <= 300
    assert dialog.startswith("Sending a password reset email to Maximiliana Alexandrina") and dialog.endswith("…. Go ahead?")


async def test_a_long_job_title_is_cut_to_fit_its_field(bot: ChatOps) -> None:
    title = "R&D " * 256  # 1,024 characters, Okta's most; twice that once escaped for Slack
    bot.org.add_user("rita.research@acme.example", "Rita", "Research", title=title)

    card = await ask(bot, HANA, "lookup rita.research@acme.example")

    [field] = [f["text"] for b in card.blocks for f in b.get("fields") or [] if f["text"].startswith("*Title*")]
    assert len(field) <= 2000 and field.startswith("*Title*\nR&amp;D R&amp;D") and field.endswith("R&amp;D…")


async def test_groups_of_a_user_in_201_long_named_groups_end_with_how_many_more(bot: ChatOps) -> None:
    member = bot.org.add_user("gail.groups@acme.example", "Gail", "Groups")
    for n in range(201):
        name = f"Group {n:03} of the Worldwide Regional Cross-Functional Steering Committee " * 4
        bot.org.add_group(name[:255])
        bot.org.add_member(name[:255], member)

    answer = await ask(bot, SAM, "groups gail.groups@acme.example")  # once msg_too_long: 201 x 255 characters

    shown = answer.text.count("\n• ")  # Everyone, then the 201
    assert answer.text.startswith("*Gail Groups (gail.groups@acme.example)* is in 202 group(s):\n• Everyone\n• Group 000 of")
    assert 0 < shown < 202 and answer.text.endswith(f"\nand {202 - shown} more")
    section, context = answer.blocks
    assert section["text"]["text"] == answer.text and len(answer.text) <= 3000
    assert "Open in Okta admin" in context["elements"][0]["text"]  # where to see them all


async def test_every_ack_in_a_burst_is_replaced_by_its_answer(bot: ChatOps) -> None:
    commands = [(ERIN, f"lookup {LEE_LOGIN}")] * 5 + [(SAM, f"groups {LEE_LOGIN}")] * 5  # refusals answer fastest

    answers = await asyncio.gather(*(ask(bot, user, text) for user, text in commands))

    assert {a.text for a in answers[:5]} == {":no_entry: You need the *helpdesk* or *security* role to run `lookup`."}
    assert all(a.text.startswith("*Lee Locked (lee.locked@acme.example)* is in 2 group(s)") for a in answers[5:])
    # Had an answer overtaken its ack, the ack would have been shown after it, and stayed.
    assert not [m.text for user in (ERIN, SAM) for m in bot.ws.ephemerals(user) if WORKING in m.text]


# --- groups, help, approvals, cancel -----------------------------------------------------------------


async def test_groups_lists_the_users_groups(bot: ChatOps) -> None:
    answer = await ask(bot, SAM, f"groups {OSCAR_LOGIN}")

    assert (
        answer.text
        == "*Oscar Admin (oscar.admin@acme.example)* is in 3 group(s):\n• Everyone\n• Helpdesk\n• Okta Admins"
    )


async def test_help_lists_every_command_in_the_ack_and_explains_one(bot: ChatOps) -> None:
    everything = await ask(bot, ERIN, "help")
    one = await ask(bot, ERIN, "help unlock")

    for usage in (
        "lookup &lt;user&gt;",
        "add-to-group &lt;user&gt; &lt;group&gt;",
        "cancel &lt;request-id&gt;",
        "help",
    ):
        assert f"`/okta {usage}" in everything.text
    assert one.text.startswith("`/okta unlock [&lt;user&gt; | me]`\nUnlock a locked-out account")
    assert everything.via == one.via == "ack"  # help needs nothing slow: it is the ack itself


async def test_approvals_lists_pending_requests(bot: ChatOps) -> None:
    answer = await ask(bot, ARJUN, "approvals")

    assert answer.text == "No approval requests are pending."


async def test_cancel_of_an_unknown_request_says_so(bot: ChatOps) -> None:
    answer = await ask(bot, HANA, "cancel kX2f9Tq0Lw3bZr1A")

    assert answer.text == "That approval request does not exist (any more)."


# --- finding the user --------------------------------------------------------------------------------


async def test_a_slack_mention_is_resolved_through_the_members_email(bot: ChatOps) -> None:
    card = await ask(bot, HANA, "lookup <@U0LEE000001|lee>")

    assert f"*Login*\n{LEE_LOGIN}" in mrkdwn(card)
    assert any(c.method == "users.info" and c.args.get("user") == "U0LEE000001" for c in bot.ws.calls)


async def test_a_mention_without_an_okta_account_is_explained(bot: ChatOps) -> None:
    not_in_okta = await ask(bot, HANA, "lookup <@U0NOBODY001|nick>")
    a_bot = await ask(bot, HANA, "lookup <@U0JIRABOT01|jira>")

    assert not_in_okta.text == "No single Okta user has the email of <@U0NOBODY001> (`nobody@acme.example`)."
    assert a_bot.text == "<@U0JIRABOT01> is a bot; bots have no Okta account."


async def test_a_name_in_quotes_and_a_deactivated_users_name_are_found(bot: ChatOps) -> None:
    full_name = await ask(bot, HANA, 'lookup "alex kim"')
    deactivated = await ask(bot, HANA, "lookup dee")  # Okta's people-picker search would leave them out

    assert "*Login*\nalex.kim@acme.example" in mrkdwn(full_name)
    assert "*Login*\ndee.deprovisioned@acme.example" in mrkdwn(deactivated)
    assert "*Status*\n:no_entry: Deactivated" in mrkdwn(deactivated)


async def test_a_name_matching_several_users_lists_the_candidates(bot: ChatOps) -> None:
    answer = await ask(bot, HANA, "suspend alex")

    assert answer.text.startswith("*alex* matches 2 users; which one?")
    assert "• Alex Kim (alex.kim@acme.example): `/okta suspend alex.kim@acme.example`" in answer.text
    assert "• Alex Garcia (alex.garcia@acme.example): `/okta suspend alex.garcia@acme.example`" in answer.text
    assert [v.callback_id for v in bot.ws.views if v.user_id == HANA] == []  # nothing was asked for


async def test_no_match_and_unknown_ids_say_so(bot: ChatOps) -> None:
    by_name = await ask(bot, HANA, "lookup zebedee")
    by_id = await ask(bot, HANA, "lookup 00u0000000000000none")
    by_login = await ask(bot, HANA, "unlock nobody@acme.example")

    assert by_name.text.startswith("No Okta user matches *zebedee* (first and last name, or email, starting with it).")
    assert "e.g. `/okta lookup name@example.com`" in by_name.text
    assert by_id.text == "No Okta user has the id `00u0000000000000none`."
    assert by_login.text == "No Okta user has the login `nobody@acme.example`."
    for verb, target in (("lookup", "zebedee"), ("lookup", "00u0000000000000none"), ("unlock", "nobody@acme.example")):
        await audited(bot, outcome="unresolved", verb=verb, target=target)


# --- refusals ----------------------------------------------------------------------------------------


async def test_guests_and_bots_hold_no_role(bot: ChatOps) -> None:
    guest = await ask(bot, GARY, f"lookup {LEE_LOGIN}")
    single_channel_guest = await ask(bot, GINA, f"unlock {LEE_LOGIN}")
    # Slack sends no slash command from a bot user; a forged-but-signed one is refused all the same.
    template = bot.ws.slash_command(HANA, f"unlock {LEE_LOGIN}")
    fields = {**template.payload, "user_id": JIRA, "user_name": "jira"}
    from_bot = template.model_copy(update={"payload": fields, "body": urlencode(fields)}).resigned(bot.ws.signer)
    bot_answer = await send(bot, from_bot)

    assert guest.text == ":no_entry: You need the *helpdesk* or *security* role to run `lookup`."
    assert single_channel_guest.text == bot_answer.text == ":no_entry: You need the *helpdesk* role to run `unlock`."
    assert bot.org.get_user(LEE_LOGIN).status == "LOCKED_OUT"


async def test_nobody_changes_a_protected_account(bot: ChatOps) -> None:
    unlock = await ask(bot, HANA, f"unlock {OSCAR_LOGIN}")
    suspend = await ask(bot, SAM, "suspend oscar")

    for answer in (unlock, suspend):
        assert answer.text == (
            ":no_entry: Oscar Admin (oscar.admin@acme.example) is a protected account: nobody may change it "
            "from Slack. Use the Okta admin console."
        )
    assert bot.org.get_user(OSCAR_LOGIN).status == "ACTIVE"
    assert [v for v in bot.ws.views if v.user_id == SAM] == []  # not even an approval was asked for
    for actor, verb in ((HANA, "unlock"), (SAM, "suspend")):
        await audited(bot, outcome="refused", actor=actor, verb=verb, target=OSCAR_LOGIN)


async def test_unknown_verbs_get_the_closest_one_and_an_example(bot: ChatOps) -> None:
    typo = await ask(bot, HANA, f"unlok {LEE_LOGIN}")
    nonsense = await ask(bot, HANA, "frobnicate lee")

    assert typo.text == (
        ":thinking_face: `unlok` is not a command. Did you mean `unlock`?\n"
        "Example: `/okta unlock lee`  ·  `/okta help` lists every command."
    )
    assert nonsense.text.startswith(":thinking_face: `frobnicate` is not a command. `/okta help` lists them.")
    assert typo.via == "ack" and typo.ephemeral_to == HANA
    record = await audited(bot, outcome="invalid", verb="unlok")
    assert (record.actor, record.detail) == (HANA, f"unknown_verb: unlok {LEE_LOGIN}")


async def test_a_missing_argument_gets_the_usage_and_an_example(bot: ChatOps) -> None:
    answer = await ask(bot, HANA, "suspend")
    group = await ask(bot, HANA, f"add-to-group {ERIN_LOGIN}")

    assert answer.text == (
        ":thinking_face: `suspend` needs one user. Usage: `/okta suspend &lt;user&gt;`\n"
        'Example: `/okta suspend "Alex Kim"`  ·  `/okta help` lists every command.'
    )
    assert "add-to-group" in group.text and "Example: `/okta add-to-group alex" in group.text


# --- Slack's signature ---------------------------------------------------------------------------------


@pytest.mark.parametrize("tamper", ["forged", "stale"])
async def test_forged_or_stale_requests_are_rejected_and_do_nothing(bot: ChatOps, tamper: str) -> None:
    request = bot.ws.slash_command(HANA, f"unlock {LEE_LOGIN}")
    if tamper == "forged":
        request = request.resigned(SlackSigner("not-the-signing-secret"))
    else:
        request = request.resigned(bot.ws.signer, timestamp=int(time.time()) - 6 * 60)

    response = await bot.ws.send(bot.url, request)

    assert response.status_code == 401
    # A 401 comes before any listener runs: nothing was scheduled to happen later either.
    assert [p for p in bot.ws.responses if p.response_id == request.response_id] == []
    assert bot.org.get_user(LEE_LOGIN).status == "LOCKED_OUT"
    assert not [r for r in await audit_trail(bot) if (r.actor, r.verb, r.target) == (HANA, "unlock", LEE_LOGIN)]


# --- Okta's errors -------------------------------------------------------------------------------------


async def test_an_okta_server_error_on_a_change_is_explained(bot: ChatOps) -> None:
    sue = bot.org.get_user("sue.suspended@acme.example")
    bot.org.inject_failure("POST", f"/api/v1/users/{sue.id}/lifecycle/unsuspend", status=500)

    answer = await ask(bot, HANA, "unsuspend sue.suspended@acme.example")

    assert answer.text.startswith(
        ":x: Unsuspending Sue Suspended (sue.suspended@acme.example) failed. Okta had an internal error; try again shortly."
    )
    assert sue.status == "SUSPENDED"  # a POST is never retried after a 5xx: it may have happened


async def test_an_okta_error_while_reading_is_explained_too(bot: ChatOps) -> None:
    erin = bot.org.get_user(ERIN_LOGIN)
    bot.org.inject_failure("GET", f"/api/v1/users/{erin.id}/factors", status=403)  # e.g. a scope the bot lacks

    answer = await ask(bot, HANA, f"lookup {ERIN_LOGIN}")

    assert answer.text.startswith(
        f":x: `lookup` on `{ERIN_LOGIN}` failed. The bot's Okta credentials may not do this (admin role or scope missing)"
    )
    await audited(bot, outcome="failed", verb="lookup", target=ERIN_LOGIN)


async def test_an_okta_error_finding_out_who_is_calling_is_explained(bot: ChatOps) -> None:
    bot.org.inject_failure("GET", "/api/v1/users", status=403)  # the first: the caller's own account, by email

    answer = await ask(bot, BEATRIZ, f"lookup {ERIN_LOGIN}")

    assert answer.text.startswith(":x: Looking up your Okta account and roles failed. The bot's Okta credentials may not")
    record = await audited(bot, actor=BEATRIZ, outcome="failed")
    assert (record.verb, record.target, record.actor_email) == ("lookup", ERIN_LOGIN, None)
