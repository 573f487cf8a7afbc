"""Slack's mrkdwn text: escaping, dates, and cutting to fit, for every part of the bot that writes
to Slack (commands/ and alerts/ alike; the Block Kit builders are in commands/blockkit.py).

Slack sends slash command text escaped this way (a literal `<` arrives as `&lt;`), so a raw `<`
always starts Slack markup such as `<@U0123ABCD>`. Text we send as mrkdwn must be escaped the same
way, or user input could turn into mentions and links (`<!channel>`).

Slack refuses a whole message when one text is a character too long, so texts are cut visibly,
ending with "…", never inside an `&amp;` entity or `<...>` markup, and lists are capped with
"and N more".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

ELLIPSIS = "…"


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    # `&amp;` last, so that a typed "&lt;" (sent as "&amp;lt;") stays "&lt;".
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def slack_date(value: datetime) -> str:
    """A time Slack renders in each reader's own time zone; the fallback text is UTC."""
    return f"<!date^{int(value.timestamp())}^{{date_short_pretty}} {{time}}|{value:%Y-%m-%d %H:%M} UTC>"


def fit(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else its start ending with "…" (mrkdwn-safe)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    amp = cut.rfind("&")
    if amp >= 0 and ";" not in cut[amp:]:  # an entity cut in half: drop it
        cut = cut[:amp]
    lt = cut.rfind("<")
    if lt >= 0 and ">" not in cut[lt:]:  # a link, mention or date cut in half: drop it
        cut = cut[:lt]
    return cut + ELLIPSIS


def fit_plain(text: str, limit: int) -> str:
    """`fit` for plain_text, where nothing is markup."""
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


def fit_middle(before: str, middle: str, after: str, limit: int) -> str:
    """`before + middle + after` in `limit` characters, cutting `middle` only, so that the
    question or the instruction around a long name stays whole."""
    return before + fit(middle, max(len(ELLIPSIS), limit - len(before) - len(after))) + after


def more(n: int) -> str:
    return f"and {n} more"


def capped(
    items: Sequence[str],
    limit: int,
    *,
    sep: str = "\n",
    at_most: int | None = None,
    rest: Callable[[int], str] = more,
    rest_sep: str | None = None,
) -> str:
    """As many `items` as fit in `limit` characters (and at most `at_most`), then `rest(n)` for the n
    left out, joined by `rest_sep` (default `sep`). A first item too long by itself is cut."""
    note_sep = sep if rest_sep is None else rest_sep
    shown: list[str] = []
    used = -len(sep)  # the first item has no separator before it
    for i, item in enumerate(items):
        left = len(items) - i - 1
        note = len(note_sep) + len(rest(left)) if left else 0
        if (at_most is not None and i >= at_most) or used + len(sep) + len(item) + note > limit:
            break
        shown.append(item)
        used += len(sep) + len(item)
    hidden = len(items) - len(shown)
    if hidden == 0:
        return sep.join(shown)
    if not shown and (at_most is None or at_most > 0):
        first = fit(items[0], limit - (len(note_sep) + len(rest(hidden - 1)) if hidden > 1 else 0))
        return first + (note_sep + rest(hidden - 1) if hidden > 1 else "")
    return sep.join(shown) + (note_sep if shown else "") + rest(hidden)
