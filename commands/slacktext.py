"""Slack's escaping of message and command text: `&`, `<` and `>` travel as entities.

Slack sends slash command text escaped this way (a literal `<` arrives as `&lt;`), so a raw `<`
always starts Slack markup such as `<@U0123ABCD>`. Text we send as mrkdwn must be escaped the same
way, or user input could turn into mentions and links (`<!channel>`).
"""

from __future__ import annotations

from datetime import datetime


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    # `&amp;` last, so that a typed "&lt;" (sent as "&amp;lt;") stays "&lt;".
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def slack_date(value: datetime) -> str:
    """A time Slack renders in each reader's own time zone; the fallback text is UTC."""
    return f"<!date^{int(value.timestamp())}^{{date_short_pretty}} {{time}}|{value:%Y-%m-%d %H:%M} UTC>"
