"""What the fake workspace holds and records, as pydantic models tests assert on.

Directory objects (users, channels, usergroups) render themselves the way the Web API returns them
(`to_api`). Records handed to tests are copies: a test holding a `Message` keeps the version it was
given, and asks the workspace again to see later edits.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, Field

ChangeKind = Literal[
    "message_posted",
    "message_updated",
    "message_deleted",
    "ephemeral_posted",
    "view_opened",
    "view_updated",
    "view_closed",
    "home_published",
]
ResponseEffect = Literal["posted", "ephemeral", "replaced", "deleted"]


class SlackProfile(BaseModel):
    real_name: str
    display_name: str = ""
    first_name: str = ""
    last_name: str = ""
    title: str = ""
    email: str | None = None  # bots have none; needs the users:read.email scope on real Slack
    team: str = ""
    bot_id: str | None = None
    api_app_id: str | None = None
    always_active: bool | None = None


class SlackUser(BaseModel):
    id: str
    team_id: str
    name: str  # the handle; slash commands send it as user_name
    real_name: str
    deleted: bool = False
    color: str = "9f69e7"
    tz: str | None = "America/Los_Angeles"
    tz_label: str | None = "Pacific Standard Time"
    tz_offset: int | None = -28800
    is_admin: bool = False
    is_owner: bool = False
    is_primary_owner: bool = False
    is_restricted: bool = False  # a guest (multi- or single-channel)
    is_ultra_restricted: bool = False  # a single-channel guest (is_restricted is true as well)
    is_bot: bool = False
    is_app_user: bool = False
    is_email_confirmed: bool | None = True
    updated: int = 1740990000
    profile: SlackProfile

    def to_api(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class SlackChannel(BaseModel):
    id: str
    name: str  # "" for a DM
    is_private: bool = False
    is_archived: bool = False
    im_user: str | None = None  # a DM's other party
    members: set[str] = Field(default_factory=set)
    topic: str = ""
    purpose: str = ""
    created: int = 1740990000

    @property
    def is_im(self) -> bool:
        return self.im_user is not None

    def to_api(self, bot_user_id: str) -> dict[str, Any]:
        if self.im_user is not None:
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "user": self.im_user,
                "is_user_deleted": False,
            }
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "created": self.created,
            "creator": bot_user_id,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_general": self.name == "general",
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_member": bot_user_id in self.members,
            "topic": {"value": self.topic, "creator": "", "last_set": 0},
            "purpose": {"value": self.purpose, "creator": "", "last_set": 0},
            "previous_names": [],
        }


class Usergroup(BaseModel):
    id: str
    handle: str
    name: str
    description: str = ""
    users: list[str] = Field(default_factory=list)
    date_create: int = 1740990000

    def to_api(self, team_id: str, *, include_users: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "team_id": team_id,
            "is_usergroup": True,
            "name": self.name,
            "description": self.description,
            "handle": self.handle,
            "is_external": False,
            "date_create": self.date_create,
            "date_update": self.date_create,
            "date_delete": 0,
            "auto_type": None,
            "created_by": "USLACKBOT",
            "updated_by": "USLACKBOT",
            "deleted_by": None,
            "prefs": {"channels": [], "groups": []},
            "user_count": len(self.users),
        }
        if include_users:
            out["users"] = list(self.users)
        return out


class Message(BaseModel):
    """A message in a channel or DM, or an ephemeral one (`ephemeral_to` set), as it stands now."""

    channel: str
    ts: str
    user: str  # the author
    text: str = ""
    blocks: list[dict[str, Any]] = Field(default_factory=list)
    attachments: list[dict[str, Any]] = Field(default_factory=list)
    metadata: dict[str, Any] | None = None
    thread_ts: str | None = None
    bot_id: str | None = None
    app_id: str | None = None
    edit_count: int = 0
    edited_ts: str | None = None
    ephemeral_to: str | None = None
    via: str = "chat.postMessage"  # or chat.postEphemeral, response_url, ack
    deleted: bool = False

    def to_api(self, team_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "message", "user": self.user, "text": self.text, "ts": self.ts, "team": team_id}
        if self.bot_id is not None:
            out |= {"bot_id": self.bot_id, "app_id": self.app_id}
        if self.blocks:
            out["blocks"] = self.blocks
        if self.attachments:
            out["attachments"] = self.attachments
        if self.thread_ts is not None:
            out["thread_ts"] = self.thread_ts
        if self.edited_ts is not None:
            out["edited"] = {"user": self.user, "ts": self.edited_ts}
        if self.metadata is not None:
            out["metadata"] = self.metadata
        return out


class SlackView(BaseModel):
    """A modal (or an App Home tab): `view` is the object exactly as views.* returned it."""

    id: str
    user_id: str
    view: dict[str, Any]
    closed: bool = False
    errors: dict[str, str] | None = None  # the last response_action=errors the app answered with

    @property
    def type(self) -> str:
        return str(self.view["type"])

    @property
    def callback_id(self) -> str:
        return str(self.view.get("callback_id") or "")

    @property
    def private_metadata(self) -> str:
        return str(self.view.get("private_metadata") or "")

    @property
    def blocks(self) -> list[dict[str, Any]]:
        return list(self.view.get("blocks") or [])


class RecordedCall(BaseModel):
    """One request to the fake Slack: a Web API method, or `response_url` for a post to a response URL."""

    method: str
    args: dict[str, Any]  # query, form and JSON arguments merged; JSON-valued ones decoded; no token
    at: float = Field(default_factory=time.time)
    status: int = 200
    ok: bool = True
    error: str | None = None
    result: dict[str, Any] = Field(default_factory=dict)  # the JSON body answered


class ResponsePost(BaseModel):
    """A post to a response_url and what Slack did with it."""

    response_id: str
    payload: dict[str, Any]
    effect: ResponseEffect
    channel: str
    ts: str
    at: float = Field(default_factory=time.time)


class ChangeEvent(BaseModel):
    kind: ChangeKind
    channel: str | None = None
    ts: str | None = None
    user: str | None = None
    view_id: str | None = None
    at: float = Field(default_factory=time.time)
