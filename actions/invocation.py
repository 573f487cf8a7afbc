"""Who acted, from where, and how to answer them: one slash command, click or form, after Slack was acknowledged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from slackport import Responder


@dataclass(frozen=True)
class Invocation:
    user_id: str
    respond: Responder
    channel_id: str | None = None
    trigger_id: str | None = None
    source: Literal["command", "button", "self-service"] = "command"
    # A click on a user card's button: progress and results replace that card in place.
    on_card: bool = False
