"""`/okta history <user>`: what was done to a user through the bot, from the audit trail, a page at a time."""

from __future__ import annotations

from collections.abc import Sequence

from actions.describe import describe
from audit import AuditEntry
from commands.cards import ACTION_PREFIX
from oktaclient.models import User
from policy import Verb
from slackport import Reply
from slackport import blockkit as bk
from slackport.blockkit import ActionsBlock, Block
from slacktext import escape, fit, slack_date

PAGE = 15  # records per message: a section each, well inside Slack's 50 blocks
SCAN = 20_000  # audit entries looked through at most for one user's history (a bounded read)
DETAIL_SHOWN = 300

_OUTCOMES = {
    "succeeded": ":white_check_mark:",
    "failed": ":x:",
    "refused": ":no_entry:",
    "requested": ":memo:",
    "approved": ":+1:",
    "denied": ":no_entry_sign:",
    "expired": ":hourglass:",
    "cancelled": ":wastebasket:",
    "unchanged": ":information_source:",
    "verified": ":white_check_mark:",
}


def history_reply(user: User, entries: Sequence[AuditEntry], page: int, more: bool) -> Reply:
    """Page `page` (1: the newest) of the records about `user`; `more`: older records exist."""
    title = f"History of {describe(user)} through this bot"
    if not entries:
        text = (
            f"No records about {describe(user)} in the audit trail."
            if page == 1
            else f"No records on page {page} of the history of {describe(user)}: it has fewer pages."
        )
        return bk.reply(text, [bk.section(text)])
    blocks: list[Block] = [bk.section(f"*{title}* (page {page}, newest first)")]
    blocks += [bk.section(_line(entry)) for entry in entries]
    buttons = []
    if page > 1:
        buttons.append(bk.button("Newer", f"{ACTION_PREFIX}{Verb.HISTORY.value}:0", f"{user.id} {page - 1}"))
    if more:
        buttons.append(bk.button("Older", f"{ACTION_PREFIX}{Verb.HISTORY.value}:1", f"{user.id} {page + 1}"))
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    blocks.append(bk.context(f"From the audit trail (its newest {SCAN:,} records); Okta's own record: `/okta activity`."))
    return bk.reply(title, blocks)


def _line(entry: AuditEntry) -> str:
    r = entry.record
    actor = f"<@{r.actor}>" if not r.actor.startswith("system:") else f"_{escape(r.actor)}_"
    mark = _OUTCOMES.get(r.outcome, ":small_blue_diamond:")
    parts = [f"{slack_date(r.at)} · {actor} · `{escape(r.verb)}` · {mark} {escape(r.outcome)} · via {r.source}"]
    if r.approval_id:
        parts.append(f"approval `{escape(r.approval_id)}`")
    if r.okta_request_id:
        parts.append(f"Okta request `{escape(r.okta_request_id)}`")
    line = " · ".join(parts)
    if r.detail:
        line += "\n> " + fit(escape(r.detail), DETAIL_SHOWN)
    return line
