"""The request form: `/okta request` as a modal, with the groups the caller may request, a duration
and a reason.

It is offered by a button on `/okta request`'s listing and on the Home tab. Submitted, it is read
here without any I/O (the policy and the values: Slack wants its answer within 3 seconds): a value
that does not fit is answered on its field; a good one becomes the very `Command` that
`/okta request <group> for <duration> <reason>` parses to, run by the same handler, which decides
again from the submitter's roles now. The submitter is the payload's user; the form carries only
the channel to answer in, so no value in it can make a request for someone else.
"""

from __future__ import annotations

import json
from typing import Any

from access.duration import parse_duration, short_duration
from actions.invocation import Invocation
from commands.context import Services
from commands.grammar import Command, GroupName
from oktaclient.errors import OktaError
from policy import Policy, Verb
from slackport import Reply, SlackError
from slackport import blockkit as bk
from slackport.blockkit import ActionsBlock, Block, InputBlock, PlainTextInputElement, View
from slacktext import fit_plain

OPEN_ACTION = "access:request-form"  # the button under `/okta request`'s listing
VIEW = "access:request"
GROUP_BLOCK, GROUP_INPUT = "group", "group_input"
DURATION_BLOCK, DURATION_INPUT = "duration", "duration_input"
REASON_BLOCK, REASON_INPUT = "reason", "reason_input"
REASON_MAX = 500
# the durations offered, up to the longest any listed group allows (whose own caps are offered too)
_STEPS = tuple(parse_duration(d) or 0 for d in ("15m", "30m", "1h", "2h", "4h", "8h", "12h", "1d", "2d", "3d", "7d", "14d", "30d"))


def form_button(text: str) -> Reply:
    """`text` (the listing) with the button that opens the form."""
    button = bk.button("Open the request form", OPEN_ACTION, style="primary")
    return bk.reply(text, [bk.section(text), ActionsBlock(block_id="access-request", elements=[button])])


def listable(groups: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The groups (name, longest duration in seconds) the form can list: not those whose name is too
    long for an option's value, nor past Slack's 100 (they are left to the command), nor those capped
    under a minute; caps in whole minutes (durations are written in m, h, d)."""
    fitting = [(name, _minutes(cap)) for name, cap in groups if len(name) <= bk.OPTION_VALUE and cap >= 60]
    return fitting[: bk.SELECT_OPTIONS]


def request_view(groups: list[tuple[str, int]], channel: str | None) -> dict[str, Any]:
    """The modal for the groups (name, longest duration in seconds) the caller may request; ValueError
    when the form can list none of them."""
    offered = listable(groups)
    if not offered:
        raise ValueError("no group the form can list")
    options = [bk.option(_group_label(name, cap), name) for name, cap in offered]
    longest = max(cap for _, cap in offered)
    steps = sorted({s for s in _STEPS if s <= longest} | {cap for _, cap in offered})
    durations = [bk.option(short_duration(s), short_duration(s)) for s in steps][: bk.SELECT_OPTIONS]
    intro = "Membership for a while, approved by the group's approvers. Each group has its own longest duration."
    if len(offered) < len(groups):
        intro += f" {len(groups) - len(offered)} more can be requested with `/okta request <group> for 2h <reason>`."
    blocks: list[Block] = [
        bk.section(intro),
        InputBlock(block_id=GROUP_BLOCK, label="Group", element=bk.select(GROUP_INPUT, options, "Pick a group")),
        InputBlock(block_id=DURATION_BLOCK, label="For how long", element=bk.select(DURATION_INPUT, durations, "Pick a duration")),
        InputBlock(
            block_id=REASON_BLOCK, label="Reason: the approvers and the audit trail see it",
            element=PlainTextInputElement(action_id=REASON_INPUT, multiline=True, max_length=REASON_MAX),
        ),
    ]
    return View(
        type="modal", callback_id=VIEW, private_metadata=json.dumps({"channel": channel}), title="Request access",
        submit="Request", close="Cancel", blocks=blocks,
    ).to_dict()


def _group_label(name: str, cap: int) -> str:
    suffix = f" (up to {short_duration(cap)})"
    return fit_plain(name, bk.OPTION_TEXT - len(suffix)) + suffix


def _minutes(seconds: int) -> int:
    return seconds - seconds % 60


def read_form(policy: Policy, group: str | None, duration: str | None, reason: str) -> Command | dict[str, str]:
    """The `request` command the submitted values stand for, or the errors by block id. Whether the
    submitter may request the group is decided when the command runs, as for a typed one."""
    errors: dict[str, str] = {}
    cap = policy.max_grant(group) if group and policy.access_group(group) else None
    seconds = parse_duration(duration or "")
    if group is None or cap is None:
        errors[GROUP_BLOCK] = "Pick one of the groups in the list."
    elif seconds is None:
        errors[DURATION_BLOCK] = "Pick one of the durations in the list."
    elif seconds > cap:
        longest = short_duration(_minutes(cap))
        errors[DURATION_BLOCK] = f"{fit_plain(group, 100)} can be given for at most {longest}: pick a shorter time."
    if not reason:
        errors[REASON_BLOCK] = "Say why you need it: the approvers decide on it."
    elif len(reason) > REASON_MAX:
        errors[REASON_BLOCK] = f"At most {REASON_MAX} characters, please."
    if errors or group is None:
        return errors
    return Command(verb=Verb.REQUEST, group=GroupName(name=group), duration=seconds, reason=reason)


class RequestForm:
    def __init__(self, services: Services) -> None:
        self.s = services

    async def open(self, inv: Invocation) -> None:
        """Open the form for the clicker, with the groups their roles may request now."""
        try:
            identity = await self.s.identities.of(inv.user_id)
        except OktaError:
            await inv.respond(Reply(text=":x: Okta did not answer who you are; try again in a minute."))
            return
        policy = self.s.policy
        groups = [(name, rule.max_duration) for name, rule in policy.requestable(identity.roles)]
        if not listable(groups) or identity.okta_user is None:
            await inv.respond(Reply(text="There is no group you can request with the form: see `/okta request`, or ask the helpdesk."))
            return
        if inv.trigger_id is not None and await self._opened(inv.trigger_id, request_view(groups, inv.channel_id)):
            return
        text = "Slack did not let me open the form in time: click again, or type `/okta request <group> for 2h <reason>`."
        await inv.respond(Reply(text=text))

    async def _opened(self, trigger_id: str, view: dict[str, Any]) -> bool:
        try:
            await self.s.slack.open_modal(trigger_id, view)
        except SlackError:  # most often expired_trigger_id: Slack allows 3 seconds after the click
            return False
        return True
