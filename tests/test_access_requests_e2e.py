"""Time-bound access asked for through the whole bot over HTTP: the request form (from `/okta request`
and the Home tab), the helpdesk's approved add-to-group told to the member, and Extend going through
a new approval, driven by a clock moved by hand."""

from __future__ import annotations

import json
from typing import Any

from access import Grant
from approvals.messages import DENY_VIEW, REASON_BLOCK, REASON_INPUT
from commands.request_form import DURATION_BLOCK, DURATION_INPUT, GROUP_BLOCK, GROUP_INPUT, OPEN_ACTION, VIEW
from commands.request_form import REASON_BLOCK as FORM_REASON
from commands.request_form import REASON_INPUT as FORM_REASON_INPUT
from slacksim import Message, SlackView
from tests.access_support import ERIN_LOGIN, ManualClock, bot, clock, dm, member
from tests.chatops_support import ARJUN, ERIN, HANA, ChatOps
from tests.helpdesk_support import ask, audit_trail, audited, buttons, forged

__all__ = ["bot", "clock"]  # the fixtures

APPROVE, DENY = "approval:approve", "approval:deny"


async def opened(bot: ChatOps, user: str, callback_id: str, after: int = 0) -> SlackView:
    """The modal `callback_id` the bot opened for `user` (the `after`-th such one onwards)."""
    ws = bot.ws
    seen = 0

    def the_view(call: Any) -> bool:
        nonlocal seen
        if call.method != "views.open" or not call.ok:
            return False
        view = ws.view(call.result["view"]["id"])
        if view.user_id != user or view.callback_id != callback_id:
            return False
        seen += 1
        return seen > after

    call = await ws.wait_for(the_view)
    return ws.view(call.result["view"]["id"])


def form_values(group: str, duration: str, reason: str) -> dict[str, dict[str, str]]:
    return {GROUP_BLOCK: {GROUP_INPUT: group}, DURATION_BLOCK: {DURATION_INPUT: duration}, FORM_REASON: {FORM_REASON_INPUT: reason}}


async def posted_request(bot: ChatOps, text: str, besides: Message | None = None) -> Message:
    """The approval request in #approvals showing `text` (other than `besides`)."""
    approvals = bot.ws.channel_id("approvals")
    other = besides.ts if besides else None
    return await bot.ws.wait_for_message(lambda m: m.channel == approvals and text in json.dumps(m.blocks) and m.ts != other)


async def the_grant(bot: ChatOps, login: str = ERIN_LOGIN) -> Grant:
    [grant] = await bot.bot.handlers.access.grants.active(bot.org.get_user(login).id)
    return grant


# --- the request form ------------------------------------------------------------------------------


async def test_the_form_from_the_listing_refuses_a_bad_field_then_requests_as_the_command_does(bot: ChatOps) -> None:
    ws = bot.ws
    listing = await ask(bot, ERIN, "request")
    assert OPEN_ACTION in buttons(listing)
    await bot.click(ERIN, OPEN_ACTION, listing)
    form = await opened(bot, ERIN, VIEW)
    groups = [o["value"] for b in form.blocks if b.get("block_id") == GROUP_BLOCK for o in b["element"]["options"]]
    assert groups == ["Finance", "Contractors"]  # what the listing says Erin may request, no more

    too_long = await ws.send(bot.url, ws.view_submission(ERIN, form, form_values("Finance", "1d", "month end")))
    assert too_long.json() == {
        "response_action": "errors", "errors": {DURATION_BLOCK: "Finance can be given for at most 8h: pick a shorter time."}
    }
    assert not ws.view(form.id).closed and ws.view(form.id).errors

    await ws.send(bot.url, ws.view_submission(ERIN, form, form_values("Finance", "4h", "month end close")))
    message = await posted_request(bot, "month end close")
    assert "`request` in group *Finance* for *4h*" in json.dumps(message.blocks) and f"<@{ERIN}>" in json.dumps(message.blocks)
    helpdesk = ws.channel_id("helpdesk")  # the answer goes where the listing was
    await ws.wait_for_message(lambda m: m.channel == helpdesk and m.ephemeral_to == ERIN and "needs 1 approval" in m.text)
    await bot.click(ARJUN, APPROVE, message)
    await dm(bot, ERIN, "is in *Finance* until")
    assert member(bot, "Finance")
    assert (await the_grant(bot)).ends - (await the_grant(bot)).starts == 4 * 3600


async def test_a_forged_form_requests_only_for_its_submitter_and_only_what_they_may(bot: ChatOps) -> None:
    ws = bot.ws
    await bot.click(ERIN, OPEN_ACTION, await ask(bot, ERIN, "request"))
    form = await opened(bot, ERIN, VIEW)

    def sent_by_hana(fields: dict[str, str]) -> dict[str, str]:
        payload = json.loads(fields["payload"])
        payload["user"]["id"] = HANA
        return fields | {"payload": json.dumps(payload)}

    def picking(group: str) -> Any:
        def change(fields: dict[str, str]) -> dict[str, str]:
            payload = json.loads(fields["payload"])
            payload["view"]["state"]["values"][GROUP_BLOCK][GROUP_INPUT]["selected_option"] = {"value": group}
            return fields | {"payload": json.dumps(payload)}

        return change

    # signed as Slack would (the stand-in closes the form once one is accepted)
    unlisted = forged(ws, ws.view_submission(ERIN, form, form_values("Finance", "1h", "x")), picking("Sales"))
    admins = forged(ws, ws.view_submission(ERIN, form, form_values("Finance", "1h", "I want it")), picking("Okta Admins"))
    as_hana = forged(ws, ws.view_submission(ERIN, form, form_values("Finance", "1h", "as hana")), sent_by_hana)
    # a group not listed under `access` is refused on its field
    assert (await ws.send(bot.url, unlisted)).json()["errors"] == {GROUP_BLOCK: "Pick one of the groups in the list."}
    # a listed group Erin's roles may not request: refused after the form, as the command is
    assert "errors" not in (await ws.send(bot.url, admins)).text
    await ws.wait_for_message(lambda m: m.ephemeral_to == ERIN and "*Okta Admins* is not a group you may request" in m.text)
    await audited(bot, verb="request", outcome="refused", actor=ERIN)
    # another submitter: the request is theirs, about their own account, never the form's first owner's
    await ws.send(bot.url, as_hana)
    message = await posted_request(bot, "as hana")
    assert "hana.helpdesk@acme.example" in json.dumps(message.blocks) and ERIN_LOGIN not in json.dumps(message.blocks)
    assert not member(bot, "Okta Admins") and not member(bot, "Finance")


async def test_the_home_tab_offers_the_form_to_those_who_may_request(bot: ChatOps) -> None:
    ws = bot.ws
    await ws.send(bot.url, ws.event(ERIN, {"type": "app_home_opened"}))
    await ws.wait_for(lambda c: c.method == "views.publish" and "self:request" in json.dumps(c.args.get("view")))
    home = ws.home(ERIN)
    assert home is not None
    await ws.send(bot.url, ws.block_action(ERIN, "self:request", view=home, block_id="home-request"))
    form = await opened(bot, ERIN, VIEW)
    await ws.send(bot.url, ws.view_submission(ERIN, form, form_values("Contractors", "2d", "vendor onboarding")))
    await posted_request(bot, "vendor onboarding")
    await dm(bot, ERIN, "needs 1 approval")  # no channel to answer in: by DM


# --- an approved add-to-group is the member's ------------------------------------------------------


async def test_an_approved_time_bound_add_is_told_to_the_member_and_the_agent_hears_the_outcome(
    bot: ChatOps, clock: ManualClock
) -> None:
    answer = await ask(bot, HANA, f'add-to-group {ERIN_LOGIN} "Okta Admins" for 1h INC-77')
    assert "needs 1 approval" in answer.text  # a privileged group
    await bot.click(ARJUN, APPROVE, await posted_request(bot, "INC-77"))

    granted = await dm(bot, ERIN, "is in *Okta Admins* until")
    assert f"given by <@{ARJUN}>, asked by <@{HANA}>" in granted.text and "access:release" in buttons(granted)
    await dm(bot, HANA, f"<@{ERIN}> was told by DM")
    await dm(bot, HANA, "Approved and done")
    assert not [m for m in bot.ws.dms(HANA) if "is in *Okta Admins*" in m.text]
    grant = await the_grant(bot)
    assert (grant.notify, grant.granted_by, grant.asked_by) == (ERIN, ARJUN, HANA)
    record = await audited(bot, verb="add-to-group", outcome="succeeded", source="approval")
    assert record.actor == ARJUN and f"asked by <@{HANA}>" in record.detail

    clock.advance(3600 - 15 * 60)
    await bot.bot.handlers.access.grants.tick()
    await dm(bot, ERIN, ":alarm_clock:")
    clock.advance(15 * 60)
    assert await bot.bot.handlers.access.grants.tick() == 1
    await dm(bot, ERIN, "has ended: ended on time")
    assert not member(bot, "Okta Admins")
    assert not [m for m in bot.ws.dms(HANA) if ":alarm_clock:" in m.text or "has ended" in m.text]


# --- Extend through a new approval -------------------------------------------------------------------


async def granted(bot: ChatOps, group: str, duration: str, reason: str) -> Grant:
    """Erin's request for `group`, approved by Arjun: the grant."""
    await ask(bot, ERIN, f"request {group} for {duration} {reason}")
    await bot.click(ARJUN, APPROVE, await posted_request(bot, reason))
    await dm(bot, ERIN, f"is in *{group}* until")
    return await the_grant(bot)


async def reminded(bot: ChatOps, clock: ManualClock, grant: Grant, nth: int = 0) -> Message:
    """Time moved to the grant's reminder: the `nth` reminder DM (from 0)."""
    clock.at = grant.ends - 15 * 60
    await bot.bot.handlers.access.grants.tick()
    channel = bot.ws.dm_channel_id(ERIN)
    await bot.ws.wait_for_message(lambda m: m.channel == channel and sum(":alarm_clock:" in r.text for r in bot.ws.dms(ERIN)) > nth)
    return [m for m in bot.ws.dms(ERIN) if ":alarm_clock:" in m.text][nth]


async def test_extend_without_self_extension_is_a_new_approval_that_extends_the_same_grant_or_not(
    bot: ChatOps, clock: ManualClock
) -> None:
    grant = await granted(bot, "Contractors", "1h", "audit prep")
    await bot.click(ERIN, "access:extend", await reminded(bot, clock, grant))
    request = await posted_request(bot, f"extend grant {grant.id}")
    assert "`request` in group *Contractors* for *1h*" in json.dumps(request.blocks)
    assert (await the_grant(bot)).ends == grant.ends  # nothing changes before the approval

    await bot.click(ARJUN, APPROVE, request)
    await dm(bot, ERIN, "now ends")
    extended = await the_grant(bot)
    assert extended.id == grant.id and extended.ends == clock.now() + 3600 and extended.extensions == 1
    assert len(await bot.bot.handlers.access.grants.active()) == 1
    assert sum(r.method == "PUT" and "/groups/" in r.path for r in bot.org.requests) == 1  # one add, ever
    record = await audited(bot, verb="add-to-group", source="approval", approval_id=_approval_id(request))
    assert "extended until" in record.detail and record.actor == ARJUN

    # the next Extend is denied: the end stays
    await bot.click(ERIN, "access:extend", await reminded(bot, clock, extended, nth=1))
    second = await posted_request(bot, f"extend grant {grant.id}", besides=request)
    await bot.click(ARJUN, DENY, second)
    deny_form = await opened(bot, ARJUN, DENY_VIEW)
    await bot.ws.send(bot.url, bot.ws.view_submission(ARJUN, deny_form, {REASON_BLOCK: {REASON_INPUT: "enough"}}))
    await dm(bot, ERIN, "Denied")
    assert (await the_grant(bot)).ends == extended.ends
    clock.at = extended.ends
    assert await bot.bot.handlers.access.grants.tick() == 1 and not member(bot, "Contractors")


async def test_the_one_self_extension_is_at_once_and_the_next_goes_to_approval(bot: ChatOps, clock: ManualClock) -> None:
    grant = await granted(bot, "Finance", "1h", "close books")
    await bot.click(ERIN, "access:extend", await reminded(bot, clock, grant))
    first = await dm(bot, ERIN, "now ends")
    once = await the_grant(bot)
    assert once.self_extended and once.ends == clock.now() + 3600

    await bot.click(ERIN, "access:extend", await reminded(bot, clock, once, nth=1))
    request = await posted_request(bot, f"extend grant {grant.id}")
    assert (await the_grant(bot)).ends == once.ends  # not extended by itself a second time
    await bot.click(ARJUN, APPROVE, request)
    channel = bot.ws.dm_channel_id(ERIN)
    await bot.ws.wait_for_message(lambda m: m.channel == channel and "now ends" in m.text and m.ts != first.ts)
    twice = await the_grant(bot)
    assert twice.id == grant.id and twice.ends == clock.now() + 3600 and twice.extensions == 2
    extends = [r for r in await audit_trail(bot) if "extended until" in r.detail]
    assert [r.actor for r in extends] == [ERIN, ARJUN] and "one self-extension" in extends[0].detail


def _approval_id(message: Message) -> str:
    return str(buttons(message)[APPROVE]["value"])
