"""What the command handlers need from Slack, as interfaces that bot/ implements.

Handlers sit below the Slack I/O layer: they decide what to say and to whom, and call these
ports; bot/slack_port.py does the HTTP. Keeping the direction one-way lets the handlers be read
(and reasoned about) without Bolt.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field


class Reply(BaseModel):
    """A message: fallback text (notifications, screen readers) and Block Kit blocks."""

    model_config = ConfigDict(frozen=True)

    text: str
    blocks: list[dict[str, Any]] = Field(default_factory=list)


class Posted(BaseModel):
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


class Responder(Protocol):
    """Replies to the person who ran a command or clicked a button (Slack's response_url)."""

    async def __call__(self, reply: Reply, *, ephemeral: bool = True, replace_original: bool = False) -> None: ...


class SlackPort(Protocol):
    """The workspace-wide Slack calls handlers make."""

    async def post(self, channel: str, reply: Reply) -> Posted: ...

    async def update(self, channel: str, ts: str, reply: Reply) -> None: ...

    async def dm(self, user_id: str, reply: Reply) -> None: ...

    async def open_modal(self, trigger_id: str, view: dict[str, Any]) -> None: ...

    async def person(self, user_id: str) -> SlackPerson: ...

    async def usergroups_of(self, user_id: str) -> frozenset[str]: ...
