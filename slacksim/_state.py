"""WorkspaceState: the engine under SlackWorkspace: what the workspace holds and the operations that
change it.

The Web API routes, the response_url route and the request builders all change state through these
operations, so a message posted by chat.postMessage, by a response_url or by a slash command's
acknowledgement is the same kind of record; every change wakes the waiters and the subscribers.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from slacksim._blocks import error_messages, message_problems
from slacksim._clock import Clock
from slacksim._errors import SlackError
from slacksim._faults import Failure, FaultPlan
from slacksim._limits import BLOCK_KIT_LIMITS
from slacksim._models import (
    ChangeEvent,
    ChangeKind,
    Message,
    RecordedCall,
    ResponseEffect,
    ResponsePost,
    SlackChannel,
    SlackProfile,
    SlackUser,
    SlackView,
    Usergroup,
)
from slacksim._ratelimits import RateLimits
from slacksim._scopes import GRANTED
from slacksim._signing import SlackSigner
from slacksim._socket import SocketHub
from slacksim._socket import app_token as new_app_token
from slacksim._waiting import Waiters

POST_FIELDS = ("text", "blocks", "attachments", "metadata", "thread_ts")
EDIT_FIELDS = ("text", "blocks", "attachments", "metadata")
# "You can use a response_url five times within 30 minutes" (docs.slack.dev, handling user interaction)
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL = 30 * 60.0


@dataclass
class _Trigger:
    user_id: str
    issued_at: float  # the workspace clock: expiry must not depend on the wall clock
    used: bool = False


@dataclass
class _ResponseTarget:
    user_id: str
    channel_id: str
    original: tuple[str, str] | None  # (channel, ts) of the message a reply may replace or delete
    issued_at: float  # the workspace clock
    uses: int = 0


class WorkspaceState:
    def __init__(
        self,
        *,
        team_id: str = "T0ACME00001",
        team_domain: str = "acme",
        team_name: str = "Acme",
        app_id: str = "A0OKTACHAT1",
        bot_user_id: str = "U0OKTABOT01",
        bot_id: str = "B0OKTABOT01",
        bot_name: str = "okta-chatops",
        bot_token: str | None = None,
        signing_secret: str | None = None,
        app_token: str | None = None,
    ) -> None:
        self.team_id = team_id
        self.team_domain = team_domain
        self.team_name = team_name
        self.app_id = app_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_token = bot_token or f"xoxb-sim-{secrets.token_hex(12)}"
        self.signing_secret = signing_secret or secrets.token_hex(16)
        self.app_token = app_token or new_app_token(app_id)  # app-level: Socket Mode's apps.connections.open
        self.verification_token = secrets.token_urlsafe(18)  # the deprecated `token` field of payloads
        self.signer = SlackSigner(self.signing_secret)
        # Where this workspace's server is reachable: response_urls point here. Learned from the
        # first request it serves; set it explicitly to build requests before that.
        self.base_url: str | None = None
        self.trigger_ttl = 3.0  # seconds a trigger_id stays usable, as on Slack
        self.clock = Clock()  # what triggers, response_urls and rate limits age by; tests advance it
        self.rate_limits = RateLimits(self.clock)  # on, as on Slack: `ws.rate_limits.enabled = False` for bursts
        self.calls: list[RecordedCall] = []
        self.scopes: set[str] = set(GRANTED)  # the bot token's scopes (slacksim/_scopes.py)
        self.responses: list[ResponsePost] = []
        self._users: dict[str, SlackUser] = {}
        self._channels: dict[str, SlackChannel] = {}
        self._usergroups: dict[str, Usergroup] = {}
        self._messages: list[Message] = []
        self._views: dict[str, SlackView] = {}
        self._homes: dict[str, str] = {}  # user id -> the id of their published App Home view
        self._triggers: dict[str, _Trigger] = {}
        self._targets: dict[str, _ResponseTarget] = {}
        self._faults = FaultPlan()
        self._waiters = Waiters()
        self._sockets = SocketHub(app_id, self._waiters)
        self._subscribers: list[asyncio.Queue[ChangeEvent]] = []
        self._seq = itertools.count(1)
        self._users[bot_user_id] = _bot_user(self, bot_name)

    # operations shared by the Web API routes, the response_url route and the request builders

    def _take_fault(self, method: str, channel: object = None) -> Failure | None:
        """`channel`: the call's channel argument (a name or an id), for faults aimed at one channel."""
        try:
            channel_id = self._resolve_channel(channel, names=True).id if isinstance(channel, str) else None
        except SlackError:
            channel_id = None
        return self._faults.take(method, channel_id)

    def _throttle(self, method: str, scope: str = "") -> None:
        """Raises Slack's 429 when the call is over its rate limit (slacksim/_ratelimits.py)."""
        retry_after = self.rate_limits.take(method, scope)
        if retry_after is not None:
            raise SlackError("ratelimited", status=429, headers={"Retry-After": str(retry_after)})

    def _record(self, call: RecordedCall) -> None:
        self.calls.append(call)
        self._waiters.notify()

    def _changed(self, kind: ChangeKind, **fields: Any) -> None:
        event = ChangeEvent(kind=kind, **fields)
        for queue in self._subscribers:
            queue.put_nowait(event)
        self._waiters.notify()

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._seq):06d}"

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}0{next(self._seq):09d}"

    def _user_or_error(self, user_id: str, error: str = "user_not_found") -> SlackUser:
        user = self._users.get(user_id)
        if user is None:
            raise SlackError(error)
        return user

    def _resolve_channel(self, ref: str, *, names: bool) -> SlackChannel:
        """A channel by id; with `names`, also by name ('#x' or 'x') or by user id (the bot's DM with them)."""
        if ref in self._channels:
            return self._channels[ref]
        if names:
            if ref in self._users:
                return self._open_dm(ref)
            name = ref.removeprefix("#")
            for channel in self._channels.values():
                if channel.name and channel.name == name:
                    return channel
        raise SlackError("channel_not_found")

    def _open_dm(self, user_id: str) -> SlackChannel:
        user = self._user_or_error(user_id)
        if user.deleted:
            raise SlackError("user_disabled")
        dm_id = "D" + user_id[1:]
        if dm_id not in self._channels:
            self._channels[dm_id] = SlackChannel(
                id=dm_id, name="", im_user=user_id, members={user_id, self.bot_user_id}
            )
        return self._channels[dm_id]

    def _post(
        self, channel: SlackChannel, content: dict[str, Any], *, via: str, ephemeral_to: str | None = None
    ) -> Message:
        """A new message by the bot; `content` comes from `message_content`."""
        message = Message(
            channel=channel.id,
            ts=self._next_ts(),
            user=self.bot_user_id,
            bot_id=self.bot_id,
            app_id=self.app_id,
            via=via,
            ephemeral_to=ephemeral_to,
            **content,
        )
        self._messages.append(message)
        kind: ChangeKind = "message_posted" if ephemeral_to is None else "ephemeral_posted"
        self._changed(kind, channel=channel.id, ts=message.ts, user=ephemeral_to)
        return message

    def _find_message(self, channel_id: str, ts: str, *, ephemeral: bool = False) -> Message:
        for message in self._messages:
            # an ephemeral message is not a channel message: chat.update and chat.delete cannot reach it
            is_ephemeral = message.ephemeral_to is not None
            if (message.channel, message.ts) == (channel_id, ts) and not message.deleted and is_ephemeral == ephemeral:
                return message
        raise SlackError("message_not_found")

    def _edit(self, message: Message, content: dict[str, Any]) -> None:
        """Replace the fields in `content` (from `message_content`); the others are kept."""
        for key, value in content.items():
            setattr(message, key, value)
        message.edit_count += 1
        message.edited_ts = self._next_ts()
        self._changed("message_updated", channel=message.channel, ts=message.ts, user=message.ephemeral_to)

    def _delete(self, message: Message) -> None:
        message.deleted = True
        self._changed("message_deleted", channel=message.channel, ts=message.ts, user=message.ephemeral_to)

    # triggers and response_urls, issued with the requests Slack sends and redeemed by the app

    def _issue_trigger(self, user_id: str) -> str:
        trigger_id = f"{int(time.time() * 1000)}.{next(self._seq)}.{secrets.token_hex(16)}"
        self._triggers[trigger_id] = _Trigger(user_id, self.clock.monotonic())
        return trigger_id

    def _redeem_trigger(self, trigger_id: str) -> str:
        """The user the trigger_id was issued for; it works once, within `trigger_ttl` seconds."""
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        if trigger.used:
            raise SlackError("exchanged_trigger_id")
        if self.clock.monotonic() - trigger.issued_at > self.trigger_ttl:
            raise SlackError("expired_trigger_id")
        trigger.used = True
        return trigger.user_id

    def _issue_response_url(self, user_id: str, channel_id: str, original: Message | None) -> tuple[str, str]:
        """A new response_url's id and URL; replies to it may replace or delete `original`."""
        if self.base_url is None:
            raise RuntimeError("ws.base_url is unknown: set it to the URL the fake Slack is served at")
        response_id = secrets.token_urlsafe(12)
        where = None if original is None else (original.channel, original.ts)
        self._targets[response_id] = _ResponseTarget(user_id, channel_id, where, self.clock.monotonic())
        return response_id, f"{self.base_url}/response/{response_id}"

    def _respond(self, response_id: str, payload: dict[str, Any], *, via: str = "response_url") -> ResponsePost:
        """What Slack does with a message sent to a response_url (or in a slash command's acknowledgement)."""
        target = self._targets.get(response_id)
        if target is None or self.clock.monotonic() - target.issued_at > RESPONSE_URL_TTL:
            raise SlackError("expired_url", status=404)
        if target.uses >= RESPONSE_URL_USES:
            raise SlackError("used_url", status=404)
        original = self._original(target)
        if flag(payload.get("delete_original")):
            if original is None:
                raise SlackError("message_not_found", status=404)
            target.uses += 1
            self._delete(original)
            return self._responded(response_id, payload, "deleted", original)
        content = message_content(payload, POST_FIELDS)
        target.uses += 1
        if flag(payload.get("replace_original")) and original is not None:
            # the reply replaces the whole message: what it leaves out is gone (its thread stays)
            replacement = {"text": "", "blocks": [], "attachments": []} | content
            replacement.pop("thread_ts", None)
            self._edit(original, replacement)
            return self._responded(response_id, payload, "replaced", original)
        channel = self._channels[target.channel_id]
        in_channel = payload.get("response_type") == "in_channel"
        message = self._post(channel, content, via=via, ephemeral_to=None if in_channel else target.user_id)
        if target.original is None:  # a command's later replace_original applies to its first reply
            target.original = (message.channel, message.ts)
        return self._responded(response_id, payload, "posted" if in_channel else "ephemeral", message)

    def _original(self, target: _ResponseTarget) -> Message | None:
        if target.original is None:
            return None
        channel_id, ts = target.original
        return next((m for m in self._messages if m.channel == channel_id and m.ts == ts and not m.deleted), None)

    def _responded(
        self, response_id: str, payload: dict[str, Any], effect: ResponseEffect, message: Message
    ) -> ResponsePost:
        post = ResponsePost(
            response_id=response_id, payload=payload, effect=effect, channel=message.channel, ts=message.ts
        )
        self.responses.append(post)
        return post

    # views

    def _new_view(self, user_id: str, spec: dict[str, Any], *, pushed_onto: SlackView | None = None) -> SlackView:
        view_id = self._next_id("V")
        root_id = view_id if pushed_onto is None else pushed_onto.view["root_view_id"]
        previous_id = None if pushed_onto is None else pushed_onto.id
        view = SlackView(id=view_id, user_id=user_id, view=self._render_view(view_id, spec, root_id, previous_id))
        self._views[view_id] = view
        self._changed("view_opened", user=user_id, view_id=view_id)
        return view

    def _replace_view(self, view: SlackView, spec: dict[str, Any]) -> None:
        view.view = self._render_view(view.id, spec, view.view["root_view_id"], view.view["previous_view_id"])
        view.errors = None
        self._changed("view_updated", user=view.user_id, view_id=view.id)

    def _close_view(self, view: SlackView) -> None:
        view.closed = True
        self._changed("view_closed", user=view.user_id, view_id=view.id)

    def _publish_home(self, user_id: str, spec: dict[str, Any]) -> SlackView:
        view_id = self._homes.get(user_id) or self._next_id("V")
        view = SlackView(id=view_id, user_id=user_id, view=self._render_view(view_id, spec, view_id, None))
        self._views[view_id] = view
        self._homes[user_id] = view_id
        self._changed("home_published", user=user_id, view_id=view_id)
        return view

    def _open_stack(self, user_id: str) -> list[SlackView]:
        """The user's open modals, oldest first: each pushed view lies on top of the one before it."""
        return [v for v in self._views.values() if v.user_id == user_id and v.type == "modal" and not v.closed]

    def _render_view(self, view_id: str, spec: dict[str, Any], root_id: str, previous_id: str | None) -> dict[str, Any]:
        """The view object as views.* answer it: the app's fields plus Slack's."""
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": spec["type"],
            "blocks": _with_block_ids(spec.get("blocks") or [], view_id),
            "private_metadata": spec.get("private_metadata", ""),
            "callback_id": spec.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": spec.get("title"),
            "clear_on_close": bool(spec.get("clear_on_close", False)),
            "notify_on_close": bool(spec.get("notify_on_close", False)),
            "close": spec.get("close"),
            "submit": spec.get("submit"),
            "previous_view_id": previous_id,
            "root_view_id": root_id,
            "app_id": self.app_id,
            "external_id": spec.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }


def _bot_user(ws: WorkspaceState, name: str) -> SlackUser:
    """The app's bot user: no email, no time zone; its profile names the bot and the app."""
    profile = SlackProfile(
        real_name="Okta ChatOps",
        display_name=name,
        team=ws.team_id,
        bot_id=ws.bot_id,
        api_app_id=ws.app_id,
        always_active=True,
    )
    return SlackUser(
        id=ws.bot_user_id,
        team_id=ws.team_id,
        name=name,
        real_name="Okta ChatOps",
        is_bot=True,
        is_email_confirmed=None,
        tz=None,
        tz_label=None,
        tz_offset=None,
        profile=profile,
    )


def flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1")) or value == 1


def message_content(fields: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The message fields of an API call or a response_url payload, checked as Slack checks them,
    with block ids filled in: raises no_text, msg_too_long, invalid_blocks or invalid_metadata_format."""
    content = {k: fields[k] for k in keys if fields.get(k) is not None}
    if not any(content.get(k) for k in ("text", "blocks", "attachments")):
        raise SlackError("no_text")
    if len(str(content.get("text", ""))) > BLOCK_KIT_LIMITS["message.text"]:
        raise SlackError("msg_too_long")
    problems = message_problems(content)
    if problems:
        raise SlackError("invalid_blocks", errors=problems, response_metadata={"messages": error_messages(problems)})
    if "blocks" in content:
        content["blocks"] = _with_block_ids(content["blocks"], secrets.token_hex(2))
    if "metadata" in content and not _is_metadata(content["metadata"]):
        raise SlackError("invalid_metadata_format")
    return content


def _is_metadata(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("event_type"), str)
        and isinstance(value.get("event_payload"), dict)
    )


def _with_block_ids(blocks: Iterable[dict[str, Any]], salt: str) -> list[dict[str, Any]]:
    """Slack gives every block without a block_id a generated one, and interactions carry it."""
    return [b if "block_id" in b else {**b, "block_id": f"{salt[-4:]}{i}"} for i, b in enumerate(blocks)]
