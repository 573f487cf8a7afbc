"""What the security channel reads of break-glass: the loud announcement with its Review button, the
same message once reviewed, and the daily list of the grants nobody has reviewed yet."""

from __future__ import annotations

from access.messages import at
from access.models import Grant
from slackport import Reply
from slackport import blockkit as bk
from slacktext import escape, more

REVIEW_ACTION = "access:review"
FLAGGED_AT_MOST = 20  # grants listed, each with its Review button, in one daily flag (Slack: 50 blocks)


def _review_button(grant: Grant) -> bk.ButtonElement:
    return bk.button("Review", REVIEW_ACTION, grant.id, style="primary")


def _taken(grant: Grant) -> str:
    why = escape(grant.reason.removeprefix("break-glass: ")) or "none given"
    return (
        f"<@{grant.granted_by}> took *{escape(grant.group_name)}* for {escape(grant.login)} without approval, "
        f"from {at(grant.starts)} until {at(grant.ends)}. Reason: {why}"
    )


def break_glass_alert(grant: Grant, approver_role: str) -> Reply:
    """Loud: access taken without approval, with the Review button for the group's approvers."""
    text = (
        f":rotating_light: <!here> *Break-glass*: {_taken(grant)}. "
        f"A *{escape(approver_role)}* must review it (grant `{grant.id}`)."
    )
    return bk.reply(text, [bk.section(text, block_id=f"break-glass:{grant.id}", accessory=_review_button(grant))])


def reviewed_alert(grant: Grant, reviewer: str, reviewed_at: float) -> Reply:
    """The announcement once reviewed: who and when, and no button left."""
    text = f":white_check_mark: *Break-glass*: {_taken(grant)}. Reviewed by <@{reviewer}> at {at(reviewed_at)} (grant `{grant.id}`)."
    return bk.reply(text, [bk.section(text)])


def unreviewed_flag(grants: list[Grant]) -> Reply:
    """The daily list of the break-glass grants nobody has reviewed yet, each with its Review button."""
    title = f":warning: *{len(grants)} break-glass grant(s) still unreviewed*: an approver of each group must review them."
    shown = [(g, f"• {_taken(g)} · `{g.id}`") for g in grants[:FLAGGED_AT_MOST]]
    blocks: list[bk.Block] = [bk.section(title)]
    blocks += [bk.section(line, block_id=f"break-glass:{g.id}", accessory=_review_button(g)) for g, line in shown]
    if len(grants) > len(shown):
        blocks.append(bk.context(more(len(grants) - len(shown))))
    return bk.reply("\n".join([title, *(line for _, line in shown)]), blocks)
