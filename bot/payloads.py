"""Pydantic models of what Slack sends us: slash commands, block_actions and view_submission.

Bolt verifies the signature and parses the body into a dict; these models are the typed edge
between that dict and the rest of the bot. Slack adds fields over time, so unknown ones are kept.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class _SlackModel(BaseModel):
    model_config = ConfigDict(extra="allow")


class SlashCommand(_SlackModel):
    command: str
    text: str = ""
    user_id: str
    user_name: str | None = None
    team_id: str | None = None
    channel_id: str
    channel_name: str | None = None
    response_url: str
    trigger_id: str | None = None


class SlackUserRef(_SlackModel):
    id: str
    username: str | None = None
    name: str | None = None
    team_id: str | None = None


class SelectedOption(_SlackModel):
    value: str


class Action(_SlackModel):
    action_id: str
    block_id: str | None = None
    type: str
    value: str | None = None
    selected_option: SelectedOption | None = None

    @property
    def chosen(self) -> str | None:
        """The button's value, or the chosen option of an overflow / select menu."""
        return self.value if self.selected_option is None else self.selected_option.value


class Container(_SlackModel):
    type: str  # "message" or "view"
    message_ts: str | None = None
    channel_id: str | None = None
    is_ephemeral: bool | None = None
    view_id: str | None = None


class ChannelRef(_SlackModel):
    id: str
    name: str | None = None


class BlockActions(_SlackModel):
    type: Literal["block_actions"]
    user: SlackUserRef
    actions: list[Action] = Field(min_length=1)
    container: Container | None = None
    channel: ChannelRef | None = None
    message: dict[str, Any] | None = None
    response_url: str | None = None
    trigger_id: str | None = None

    @property
    def channel_id(self) -> str | None:
        if self.channel is not None:
            return self.channel.id
        return self.container.channel_id if self.container else None


class ViewState(_SlackModel):
    values: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)


class View(_SlackModel):
    id: str
    callback_id: str | None = None
    private_metadata: str = ""
    state: ViewState = Field(default_factory=ViewState)

    def text_value(self, block_id: str, action_id: str) -> str:
        """A plain-text input's value ('' when the optional input was left empty)."""
        return (self.state.values.get(block_id, {}).get(action_id, {}).get("value") or "").strip()

    def selected(self, block_id: str, action_id: str) -> str | None:
        """A select's chosen option value (None when nothing was picked)."""
        option = self.state.values.get(block_id, {}).get(action_id, {}).get("selected_option")
        value = option.get("value") if isinstance(option, dict) else None
        return value if isinstance(value, str) else None


class ViewSubmission(_SlackModel):
    type: Literal["view_submission"]
    user: SlackUserRef
    view: View
    trigger_id: str | None = None


class ViewClosed(_SlackModel):
    """Sent only for views opened with notify_on_close: the user dismissed the modal."""

    type: Literal["view_closed"]
    user: SlackUserRef
    view: View


# Approval request ids are 16 URL-safe characters (approvals/store.py); any id-like value is read,
# and one that names no request is answered as such.
ApprovalId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
ChannelId = Annotated[str, StringConstraints(pattern=r"^[CDG][A-Z0-9]{1,31}$")]


class ApprovalButton(BaseModel):
    """The value of an Approve, Deny or Cancel button: the request's id."""

    model_config = ConfigDict(frozen=True)

    id: ApprovalId

    @classmethod
    def of(cls, payload: BlockActions) -> ApprovalButton:
        """Raises ValidationError for any other value (a forged or outdated button)."""
        return cls(id=payload.actions[0].chosen or "")


class DenyMetadata(BaseModel):
    """The deny form's private_metadata: which request, and the channel to answer in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: ApprovalId
    channel: ChannelId | None = None


class FormChannel(BaseModel):
    """A form's private_metadata that says only where its author is answered (None: by DM)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: ChannelId | None = None
