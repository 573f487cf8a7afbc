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
REVIEW_ACTION = "access:review"


def at(epoch: float) -> str:
    return slack_date(datetime.fromtimestamp(epoch, UTC))


def _buttons(grant: Grant, *, extend: bool) -> ActionsBlock:
    elements = [bk.button("Extend", EXTEND_ACTION, grant.id, style="primary")] if extend else []
    elements.append(bk.button("Release now", RELEASE_ACTION, grant.id))
    return ActionsBlock(block_id=f"access:{grant.id}", elements=elements)


def granted_message(grant: Grant, now: float) -> Reply:
    kept = " You were a member already: the membership stays when this ends." if grant.preexisting else ""
    why = f" Reason: {escape(grant.reason)}" if grant.reason else ""
    text = (
        f":key: {escape(grant.login)} is in *{escape(grant.group_name)}* until {at(grant.ends)} "
        f"({time_left(grant.ends - now)}), given by <@{grant.granted_by}>.{why}{kept}"
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
        f"(in {time_left(grant.ends - now)}). Extend it, or release it now if you are done."
    )
    return bk.reply(text, [bk.section(text), _buttons(grant, extend=True)])


def ended_message(grant: Grant, what: str) -> Reply:
    return bk.reply(f":lock: Access to *{escape(grant.group_name)}* for {escape(grant.login)} has ended: {what}")


def stuck_alert(grant: Grant, attempts: int, error: str) -> Reply:
    return bk.reply(
        f":rotating_light: Time-bound access did not end: Okta refused {attempts} times to remove "
        f"{escape(grant.login)} from *{escape(grant.group_name)}* (grant `{grant.id}`, ended {at(grant.ends)}): "
        f"{escape(error)}. The bot keeps trying; remove the membership in Okta if it must end now."
    )


def break_glass_alert(grant: Grant, approver_role: str) -> Reply:
    """Loud, in the security channel: access taken without approval, with the Review button."""
    why = escape(grant.reason) if grant.reason else "none given"
    text = (
        f":rotating_light: <!here> *Break-glass*: <@{grant.granted_by}> took *{escape(grant.group_name)}* for "
        f"{escape(grant.login)} without approval, until {at(grant.ends)}. Reason: {why}. "
        f"A *{escape(approver_role)}* must review it (grant `{grant.id}`)."
    )
    review = bk.button("Review", REVIEW_ACTION, grant.id, style="primary")
    return bk.reply(text, [bk.section(text), ActionsBlock(block_id=f"break-glass:{grant.id}", elements=[review])])


def unreviewed_flag(grants: list[Grant]) -> Reply:
    """The daily line of the break-glass grants nobody has reviewed yet."""
    lines = [f":warning: *{len(grants)} break-glass grant(s) still unreviewed*:"] + [
        f"• <@{g.granted_by}> took *{escape(g.group_name)}* for {escape(g.login)} on {at(g.starts)} · `{g.id}`" for g in grants
    ]
    return bk.reply("\n".join(lines))
