"""What the member of a time-bound grant reads: the grant, the reminder, the end (DMs with buttons)."""

from __future__ import annotations

from datetime import UTC, datetime

from access.duration import time_left
from access.models import Grant
from slackport import Reply
from slackport import blockkit as bk
from slackport.blockkit import ActionsBlock
from slacktext import escape, slack_date

RELEASE_ACTION = "access:release"
EXTEND_ACTION = "access:extend"


def at(epoch: float) -> str:
    return slack_date(datetime.fromtimestamp(epoch, UTC))


def _buttons(grant: Grant, *, extend: bool) -> ActionsBlock:
    elements = [bk.button("Extend", EXTEND_ACTION, grant.id, style="primary")] if extend else []
    elements.append(bk.button("Release now", RELEASE_ACTION, grant.id))
    return ActionsBlock(block_id=f"access:{grant.id}", elements=elements)


def granted_message(grant: Grant, now: float) -> Reply:
    kept = " You were a member already: the membership stays when this ends." if grant.preexisting else ""
    why = f" Reason: {escape(grant.reason)}" if grant.reason else ""
    asked = f", asked by <@{grant.asked_by}>" if grant.asked_by and grant.asked_by != grant.granted_by else ""
    text = (
        f":key: {escape(grant.login)} is in *{escape(grant.group_name)}* until {at(grant.ends)} "
        f"({time_left(grant.ends - now)}), given by <@{grant.granted_by}>{asked}.{why}{kept}"
    )
    return bk.reply(text, [bk.section(text), _buttons(grant, extend=False)])


def extended_message(grant: Grant, now: float) -> Reply:
    text = f":key: Access to *{escape(grant.group_name)}* for {escape(grant.login)} now ends {at(grant.ends)} ({time_left(grant.ends - now)})."
    return bk.reply(text, [bk.section(text), _buttons(grant, extend=False)])


def agent_message(grant: Grant, member: str | None) -> Reply:
    """For whoever gave the grant by login: the member was told by DM, or has no Slack account."""
    group = escape(grant.group_name)
    if member is not None:
        return bk.reply(f":key: <@{member}> was told by DM that they are in *{group}* until {at(grant.ends)}; the reminder and Release are theirs.")
    return bk.reply(
        f":information_source: {escape(grant.login)} has no Slack account with their Okta email: you get the reminder "
        f"and the end of their access to *{group}* instead."
    )


def reminder_message(grant: Grant, now: float) -> Reply:
    text = (
        f":alarm_clock: Access to *{escape(grant.group_name)}* for {escape(grant.login)} ends {at(grant.ends)} "
        f"(in {time_left(grant.ends - now)}). "
        + ("Release it now if you are done: break-glass is not extended." if grant.break_glass else "Extend it, or release it now if you are done.")
    )
    return bk.reply(text, [bk.section(text), _buttons(grant, extend=not grant.break_glass)])


def ended_message(grant: Grant, what: str) -> Reply:
    return bk.reply(f":lock: Access to *{escape(grant.group_name)}* for {escape(grant.login)} has ended: {what}")


def stuck_alert(grant: Grant, attempts: int, error: str) -> Reply:
    return bk.reply(
        f":rotating_light: Time-bound access did not end: Okta refused {attempts} times to remove "
        f"{escape(grant.login)} from *{escape(grant.group_name)}* (grant `{grant.id}`, ended {at(grant.ends)}): "
        f"{escape(error)}. The bot keeps trying; remove the membership in Okta if it must end now."
    )
