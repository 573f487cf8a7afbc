"""What crosses the Slack port: messages out, what Slack answers, who a Slack member is."""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated, Any, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from slacktext import fit

# Slack refuses a message whose text is longer (msg_too_long); builders aim for far less
# (slackport.blockkit.MESSAGE_TEXT), this is the backstop that makes every message postable.
MAX_MESSAGE_TEXT = 40_000


class Reply(BaseModel):
    """A message: fallback text (notifications, screen readers) and Block Kit blocks (as dicts).
    The text is cut (visibly, with "…") to what Slack accepts, whatever a caller puts in it."""

    model_config = ConfigDict(frozen=True)

    text: Annotated[str, AfterValidator(lambda text: fit(text, MAX_MESSAGE_TEXT))]
    blocks: list[dict[str, Any]] = Field(default_factory=list)


class Posted(BaseModel):
    """Where a posted message is: the channel's id (never its name) and the message's ts."""

    model_config = ConfigDict(frozen=True)

    channel: str
    ts: str


class SlackPerson(BaseModel):
    """A Slack member, as far as identity and self-service care (from users.info)."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str = ""
    email: str | None = None
    email_verified: bool = True  # Slack only exposes the flag on some plans; absent means verified
    is_bot: bool = False
    is_restricted: bool = False  # multi-channel guest
    is_ultra_restricted: bool = False  # single-channel guest
    deleted: bool = False

    @property
    def is_guest(self) -> bool:
        return self.is_restricted or self.is_ultra_restricted


class Priority(IntEnum):
    """Who waits for a call: a person (a reply, a DM, a modal) goes before a channel announcement."""

    PERSON = 0
    CHANNEL = 1


class Responder(Protocol):
    """Replies to the person who ran a command or clicked a button (Slack's response_url, or the
    equivalent where Slack gives none)."""

    async def __call__(self, reply: Reply, *, ephemeral: bool = True, replace_original: bool = False) -> None: ...
