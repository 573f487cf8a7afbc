"""Break-glass through the whole bot over HTTP (signed Slack requests, the Okta simulator, a real
Redis): the on-call takes an opted-in group at once, it is announced with a Review button, ends at
the hour, an approver reviews it once, and unreviewed ones are flagged once a day. The clock is
moved by hand; the service's tick and flag are called, not awaited in time."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from access import BreakGlassGrants
from slacksim import Message
from tests.access_support import START, ManualClock, grants_on, removals
from tests.chatops_support import BEATRIZ, ERIN, OSCAR, SAM, ChatOps, run_chatops
from tests.helpdesk_support import ask, audit_trail, audited, buttons

REVIEW = "access:review"
SAM_LOGIN = "sam.security@acme.example"
DAY = 86400


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def bot(ws, slack, okta_org, okta, redis, clock) -> AsyncIterator[ChatOps]:  # type: ignore[no-untyped-def]
    ws.rate_limits.enabled = False  # the announcement, DMs and audit lines in quick succession; pacing is not under test
    async for running in run_chatops(ws=ws, slack_url=slack.url, org=okta_org, okta=okta, redis=redis, clock=clock):
        yield running


def in_engineering(bot: ChatOps) -> bool:
    return bot.org.get_user(SAM_LOGIN).id in bot.org.get_group("Engineering").member_ids


def membership_writes(bot: ChatOps) -> int:
    return sum(1 for r in bot.org.requests if r.method in ("PUT", "DELETE") and "/groups/" in r.path and "/users/" in r.path)


def security(bot: ChatOps, text: str) -> list[Message]:
    return [m for m in bot.ws.messages(bot.ws.channel_id("security-alerts")) if text in m.text]


async def take(bot: ChatOps, reason: str = "INC-4711 checkout is down", duration: str = "") -> Message:
    """`/okta break-glass Engineering` as the on-call: its announcement."""
    answer = await ask(bot, SAM, f"break-glass Engineering {duration} {reason}")
    assert "you are in *Engineering* until" in answer.text, answer.text
    channel = bot.ws.channel_id("security-alerts")
    return await bot.ws.wait_for_message(lambda m: m.channel == channel and "*Break-glass*" in m.text and reason in m.text)


def glass(bot: ChatOps) -> BreakGlassGrants:
    return bot.bot.handlers.break_glass.glass


async def test_the_on_call_takes_access_at_once_announced_loudly_and_it_ends_at_the_hour_once(bot: ChatOps, clock: ManualClock) -> None:
    alert = await take(bot)
    assert in_engineering(bot)
    assert "<!here>" in alert.text and f"<@{SAM}> took *Engineering*" in alert.text and "INC-4711 checkout is down" in alert.text
    assert REVIEW in buttons_anywhere(alert)
    [grant] = await bot.bot.handlers.access.grants.active()
    assert grant.break_glass and grant.ends == START + 3600  # the rule's longest, by default
    await bot.ws.wait_for_message(lambda m: m.channel == bot.ws.dm_channel_id(SAM) and "is in *Engineering* until" in m.text)
    record = await audited(bot, verb="add-to-group", target=SAM_LOGIN, outcome="succeeded")
    assert record.actor == SAM and "break-glass: INC-4711" in record.detail

    again = await ask(bot, SAM, "break-glass Engineering INC-4712 still down")  # held already: no second grant
    assert "already" in again.text and membership_writes(bot) == 1

    clock.advance(3600 - 1)
    assert await bot.bot.handlers.access.grants.tick() == 0 and in_engineering(bot)
    clock.advance(1)
    assert await bot.bot.handlers.access.grants.tick() == 1 and not in_engineering(bot)
    assert await bot.bot.handlers.access.grants.tick() == 0
    assert removals(bot.org) == 1


def buttons_anywhere(message: Message) -> list[str]:
    """The action ids of the message's buttons, in actions blocks and section accessories."""
    accessories = [b["accessory"]["action_id"] for b in message.blocks if b.get("accessory", {}).get("type") == "button"]
    return list(buttons(message)) + accessories


@pytest.mark.parametrize(
    ("user", "text", "said"),
    [
        (ERIN, "break-glass Engineering INC-1 prod down", "for the on-call only (role *security*)"),
        (SAM, "break-glass Sales INC-1 prod down", "*Sales* is not open to break-glass"),
        (SAM, 'break-glass "Okta Admins" INC-1 prod down', "*Okta Admins* is a privileged group"),
        (SAM, "break-glass Approvers INC-1 prod down", "grants the role 'approver'"),
        (SAM, "break-glass Engineering for 2h INC-1 prod down", "lasts at most 1h, not 2h"),
        (SAM, "break-glass Nonesuch INC-1 prod down", "No Okta group is named *Nonesuch*"),
    ],
)
async def test_refused_break_glass_says_why_and_changes_nothing(bot: ChatOps, user: str, text: str, said: str) -> None:
    answer = await ask(bot, user, text)
    assert said in answer.text
    assert membership_writes(bot) == 0 and not security(bot, "Break-glass")
    if "Nonesuch" not in text:  # a group no one can find is only answered
        record = await audited(bot, verb="break-glass", outcome="refused")
        assert record.actor == user and ":no_entry:" in answer.text


async def test_break_glass_without_a_reason_is_refused_by_the_grammar(bot: ChatOps) -> None:
    response = await bot.command(SAM, "break-glass Engineering for 30m")
    assert "Say why" in response.text
    await audited(bot, verb="break-glass", outcome="invalid")
    assert membership_writes(bot) == 0


async def test_an_approver_reviews_once_never_the_taker_nor_a_non_approver_and_a_replay_changes_nothing(bot: ChatOps) -> None:
    ws = bot.ws
    alert = await take(bot)
    await bot.click(SAM, REVIEW, alert)
    await bot.reply_to(SAM, lambda m: "You cannot review the break-glass" in m.text)
    await bot.click(OSCAR, REVIEW, alert)  # security and helpdesk, not an approver
    await bot.reply_to(OSCAR, lambda m: "Only holders of the *approver* role" in m.text)

    click = ws.block_action(BEATRIZ, REVIEW, message=alert)
    await ws.send(bot.url, click)
    await bot.reply_to(BEATRIZ, lambda m: "You reviewed the break-glass of *Engineering*" in m.text)
    reviewed = await ws.wait_for_message(lambda m: m.ts == alert.ts and "Reviewed by" in m.text)
    assert f"Reviewed by <@{BEATRIZ}> at" in reviewed.text and "<!here>" not in reviewed.text and not buttons_anywhere(reviewed)
    await ws.send(bot.url, click)  # the same delivery again (a retry, a replay): dropped

    refused = [r for r in await audit_trail(bot) if r.verb == "break-glass" and r.outcome == "refused"]
    assert sorted(r.actor for r in refused) == sorted([SAM, OSCAR])
    record = await audited(bot, verb="break-glass", outcome="reviewed")
    assert record.actor == BEATRIZ and record.target == SAM_LOGIN
    assert [r.actor for r in await audit_trail(bot) if r.outcome == "reviewed"] == [BEATRIZ]
    assert not await glass(bot).store.unreviewed(START + 10 * DAY)


async def test_unreviewed_break_glass_is_flagged_once_a_day_by_one_replica_and_no_longer_once_reviewed(
    bot: ChatOps, clock: ManualClock
) -> None:
    first = await take(bot)
    clock.advance(3600)
    await bot.bot.handlers.access.grants.tick()  # the first ends; the on-call takes it again, later
    second = await take(bot, "INC-4713 again", "for 15m")
    other_replica = BreakGlassGrants(grants_on(bot.redis, bot.bot.services.okta, bot.ws, clock))
    assert await glass(bot).flag_unreviewed() == 0  # taken today: the announcements are enough

    clock.advance(DAY)
    assert await other_replica.flag_unreviewed() == 2
    assert await glass(bot).flag_unreviewed() == 0 and await other_replica.flag_unreviewed() == 0  # once that day
    [flag] = security(bot, "still unreviewed")
    assert "*2 break-glass grant(s) still unreviewed*" in flag.text
    assert buttons_anywhere(flag) == [REVIEW, REVIEW]

    await bot.click(BEATRIZ, REVIEW, first)  # the first reviewed; the second stays owed
    await bot.reply_to(BEATRIZ, lambda m: "You reviewed" in m.text)
    clock.advance(DAY)
    assert await glass(bot).flag_unreviewed() == 1
    flags = security(bot, "still unreviewed")
    assert len(flags) == 2 and "*1 break-glass grant(s)" in flags[1].text and "INC-4713" in flags[1].text
    await bot.click(BEATRIZ, REVIEW, flags[1])  # reviewed from the flag: its announcement is marked too
    await bot.ws.wait_for_message(lambda m: m.ts == second.ts and "Reviewed by" in m.text)
    clock.advance(DAY)
    assert await glass(bot).flag_unreviewed() == 0 and len(security(bot, "still unreviewed")) == 2


async def test_a_review_of_a_grant_already_reviewed_from_another_message_changes_nothing(bot: ChatOps, clock: ManualClock) -> None:
    alert = await take(bot)
    clock.advance(DAY)
    await glass(bot).flag_unreviewed()
    [flag] = security(bot, "still unreviewed")
    await bot.click(BEATRIZ, REVIEW, alert)
    await bot.reply_to(BEATRIZ, lambda m: "You reviewed" in m.text)
    await bot.click(BEATRIZ, REVIEW, flag)  # the same grant's button on the daily flag
    await bot.reply_to(BEATRIZ, lambda m: "already; nothing changed" in m.text)
    assert len([r for r in await audit_trail(bot) if r.outcome == "reviewed"]) == 1
    assert json.dumps(flag.blocks).count(REVIEW) == 1
