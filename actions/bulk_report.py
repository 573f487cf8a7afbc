"""What people read about a batch: the progress line while it runs, the final report, and the one-line
summary that the approval message and the audit trail keep. Within Slack's limits: each list is cut
to fit its section, ending "and N more"."""

from __future__ import annotations

import re

from actions.bulk import Batch, Tally
from slackport import Reply
from slackport import blockkit as bk
from slackport.blockkit import Block
from slacktext import capped, escape

_MENTION = re.compile(r"<@[UW][A-Z0-9]+>")  # a Slack member not found is listed as a mention
_SHOWN_PER_LIST = 100  # logins listed per outcome at most; the count says how many there are


def summary(batch: Batch, tally: Tally) -> str:
    """`12 added · 3 already members · 1 not found · 0 failed` (plain, for details and the trail)."""
    done, unchanged = ("added", "already members") if batch.adding else ("removed", "not members")
    counts = ((len(tally.done), done), (len(tally.unchanged), unchanged), (len(tally.not_found), "not found"), (len(tally.failed), "failed"))
    return " · ".join(f"{n} {what}" for n, what in counts)


def _heading(batch: Batch) -> str:
    direction = "to" if batch.adding else "from"
    return f"{'Adding' if batch.adding else 'Removing'} {batch.total} user{'s' if batch.total != 1 else ''} {direction} group *{escape(batch.group_name)}*"


def progress_reply(batch: Batch, tally: Tally) -> Reply:
    text = f":gear: {_heading(batch)}: {tally.settled} of {tally.total} done so far ({summary(batch, tally)})…"
    return bk.reply(text, [bk.section(text), bk.context(f"Batch `{batch.id}` · requested by <@{batch.requester}>")])


def report_reply(batch: Batch, tally: Tally) -> Reply:
    """The final report: the counts, then who was in each outcome (capped lists)."""
    mark = ":white_check_mark:" if not tally.failed else ":warning:"
    text = f"{mark} {_heading(batch)}: finished. {summary(batch, tally)}."
    done, unchanged = ("Added", "Already members") if batch.adding else ("Removed", "Not members")
    lists = (
        (done, [escape(login) for login in tally.done]),
        (unchanged, [escape(login) for login in tally.unchanged]),
        ("Not found", [typed if _MENTION.fullmatch(typed) else f"`{escape(typed)}`" for typed in tally.not_found]),
        ("Failed", [f"{escape(login)} ({escape(why)})" for login, why in tally.failed]),
    )
    blocks: list[Block] = [bk.section(text)]
    for title, items in lists:
        if items:
            head = f"*{title} ({len(items)})*\n"
            blocks.append(bk.section(head + capped(sorted(items), bk.SECTION_TEXT - len(head), sep=", ", at_most=_SHOWN_PER_LIST)))
    blocks.append(bk.context(f"Batch `{batch.id}` · requested by <@{batch.requester}>"))
    return bk.reply(text, blocks)


def failed_reply(batch: Batch, why: str) -> Reply:
    """The batch stopped before any change: `why` is mrkdwn (Okta's error explained)."""
    text = f":x: {_heading(batch)}: stopped. {why}"
    return bk.reply(text, [bk.section(text)])
