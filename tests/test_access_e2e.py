"""Time-bound access through the whole bot over HTTP: `/okta request` and its approval, the
helpdesk's `add-to-group ... for 4h`, `/okta access`, the DM's Release and Extend buttons, the
reminder and the end, driven by a clock moved by hand (the service's tick is called, not awaited in time)."""

from __future__ import annotations

import json

from slacksim import SlackView
from tests.access_support import ERIN_LOGIN, ManualClock, bot, clock, dm, member
from tests.chatops_support import ARJUN, BEATRIZ, ERIN, HANA, ChatOps
from tests.helpdesk_support import ask, audited, buttons, forged

__all__ = ["bot", "clock"]  # the fixtures

APPROVE = "approval:approve"


async def test_request_alone_lists_what_the_caller_may_request(bot: ChatOps) -> None:
    answer = await ask(bot, ERIN, "request")
    assert "*Finance*: up to 8h" in answer.text and "*Contractors*: up to 2d" in answer.text
    assert "Okta Admins" not in answer.text  # for the helpdesk and security only


async def test_a_request_is_approved_by_another_then_added_reminded_released(bot: ChatOps, clock: ManualClock) -> None:
    ws = bot.ws
    answer = await ask(bot, ERIN, "request Finance for 2h quarter close")
    assert "needs 1 approval" in answer.text
    approvals = ws.channel_id("approvals")
    message = await ws.wait_for_message(lambda m: m.channel == approvals and "quarter close" in json.dumps(m.blocks))
    assert "`request` in group *Finance* for *2h*" in json.dumps(message.blocks)
    ws._channels[approvals].members.add(ERIN)  # an employee who can see the approvals channel
    await bot.click(ERIN, APPROVE, message)
    await bot.reply_to(ERIN, lambda m: "Only holders of the *approver* role" in m.text)
    assert not member(bot, "Finance")

    await bot.click(ARJUN, APPROVE, message)
    granted = await dm(bot, ERIN, "is in *Finance* until")
    assert member(bot, "Finance") and "access:release" in buttons(granted)
    record = await audited(bot, verb="add-to-group", outcome="succeeded", target=ERIN_LOGIN)
    assert record.actor == ARJUN and record.source == "approval" and "for 2h" in record.detail

    listed = await ask(bot, ERIN, "access")
    assert "*Finance*: ends" in listed.text and "2h left" in listed.text

    clock.advance(2 * 3600 - 15 * 60)
    await bot.bot.handlers.access.grants.tick()
    reminder = await dm(bot, ERIN, ":alarm_clock:")
    assert {"access:extend", "access:release"} <= set(buttons(reminder))

    await bot.click(ERIN, "access:release", reminder)
    await dm(bot, ERIN, f"released early by <@{ERIN}>")
    assert not member(bot, "Finance")
    await bot.click(ERIN, "access:release", reminder)  # clicked again: nothing more happens
    await bot.reply_to(ERIN, lambda m: "ended already" in m.text)
    removals = [r for r in bot.org.requests if r.method == "DELETE" and "/groups/" in r.path]
    assert len(removals) == 1


async def test_extend_in_the_reminder_uses_the_one_self_extension(bot: ChatOps, clock: ManualClock) -> None:
    answer = await ask(bot, HANA, f"add-to-group {ERIN_LOGIN} Finance for 1h INC-7")
    assert ":white_check_mark:" in answer.text and "Finance" in answer.text
    # given to a login: the member is found in Slack by their Okta email and told; the agent learns that
    await dm(bot, ERIN, "is in *Finance* until")
    await dm(bot, HANA, f"<@{ERIN}> was told by DM")
    clock.advance(45 * 60)
    await bot.bot.handlers.access.grants.tick()
    reminder = await dm(bot, ERIN, ":alarm_clock:")
    await bot.click(ERIN, "access:extend", reminder)
    await dm(bot, ERIN, "now ends")
    clock.advance(59 * 60)  # past the first end; the new one is an hour after the click
    assert await bot.bot.handlers.access.grants.tick() == 0 and member(bot, "Finance")
    clock.advance(60)
    assert await bot.bot.handlers.access.grants.tick() == 1 and not member(bot, "Finance")
    await dm(bot, ERIN, "ended on time; membership removed")


async def test_the_helpdesk_cannot_give_more_than_the_policy_allows(bot: ChatOps) -> None:
    capped = await ask(bot, HANA, f"add-to-group {ERIN_LOGIN} Finance for 9h")
    assert "at most 8h, not 9h" in capped.text and not member(bot, "Finance")
    unlisted = await ask(bot, HANA, f"add-to-group {ERIN_LOGIN} Sales for 2d")
    assert "at most 1d" in unlisted.text
    refused = await ask(bot, ERIN, "request Sales for 1h because")
    assert "not a group you may request" in refused.text and not member(bot, "Sales")


async def test_an_approver_requesting_for_themselves_cannot_approve_their_own_request(bot: ChatOps) -> None:
    ws = bot.ws
    await ask(bot, BEATRIZ, "request Contractors for 1d vendor audit")
    approvals = ws.channel_id("approvals")
    message = await ws.wait_for_message(lambda m: m.channel == approvals and "vendor audit" in json.dumps(m.blocks))
    await bot.click(BEATRIZ, APPROVE, message)
    await bot.reply_to(BEATRIZ, lambda m: "about your own Okta account" in m.text)
    assert not member(bot, "Contractors", "beatriz.approver@acme.example")
    await bot.click(ARJUN, APPROVE, message)
    await dm(bot, BEATRIZ, "is in *Contractors* until")
    assert member(bot, "Contractors", "beatriz.approver@acme.example")


async def home_shows(bot: ChatOps, user: str, text: str) -> SlackView:
    """The Home tab once the bot has published one containing `text`."""
    await bot.ws.wait_for(lambda c: c.method == "views.publish" and c.args.get("user_id") == user and text in json.dumps(c.args["view"]))
    home = bot.ws.home(user)
    assert home is not None
    return home


async def test_the_home_tab_lists_your_access_and_its_release_button_ends_only_your_own(bot: ChatOps) -> None:
    await ask(bot, HANA, f"add-to-group {ERIN_LOGIN} Finance for 2h INC-9")
    await ask(bot, HANA, f"add-to-group {ERIN_LOGIN} Contractors for 1h INC-9")
    grants = {g.group_name: g for g in await bot.bot.handlers.access.grants.active()}
    await bot.ws.send(bot.url, bot.ws.event(ERIN, {"type": "app_home_opened"}))
    home = await home_shows(bot, ERIN, "Your access")
    shown = json.dumps(home.view)
    assert "*Contractors*: ends" in shown and "*Finance*: ends" in shown and "2h left" in shown
    assert shown.index("*Contractors*") < shown.index("*Finance*")  # the soonest end first

    # Hana's tab has no grants of hers; Erin's button, clicked as Hana (forged), changes nothing
    await bot.ws.send(bot.url, bot.ws.event(HANA, {"type": "app_home_opened"}))
    await home_shows(bot, HANA, "No time-bound access is active")
    finance = f"home-access:{grants['Finance'].id}"

    def as_hana(fields: dict[str, str]) -> dict[str, str]:
        payload = json.loads(fields["payload"])
        payload["user"]["id"] = HANA
        return fields | {"payload": json.dumps(payload)}

    await bot.ws.send(bot.url, forged(bot.ws, bot.ws.block_action(ERIN, "self:release", view=home, block_id=finance), as_hana))
    await home_shows(bot, HANA, "That is not access of yours")
    assert member(bot, "Finance")

    await bot.ws.send(bot.url, bot.ws.block_action(ERIN, "self:release", view=home, block_id=finance))
    home = await home_shows(bot, ERIN, "You released your access to *Finance*")
    assert not member(bot, "Finance") and member(bot, "Contractors")
    assert "*Finance*: ends" not in json.dumps(home.view) and "*Contractors*: ends" in json.dumps(home.view)
    await dm(bot, ERIN, f"released early by <@{ERIN}>")
    record = await audited(bot, verb="remove-from-group", outcome="succeeded", target=ERIN_LOGIN)
    assert record.actor == ERIN and "released early" in record.detail
