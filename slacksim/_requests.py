"""Requests into the app exactly as Slack sends them: signed slash commands, interactions and events.

Builders check that the scene is possible (a user clicks a button that is on the current message,
submits a modal that is open, runs a command in a channel they are in) and raise ValueError when
it is not. `send` posts a request (`send_socket` delivers it over Socket Mode instead) and then does
what Slack does with the app's acknowledgement: a slash command's reply is shown, a view_submission's
response_action is applied. `deliver_event` posts an Events API event as Slack does, redelivering
it when the app does not answer 2xx in time.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlencode

import httpx
from pydantic import BaseModel, ConfigDict

from slacksim._errors import SlackError
from slacksim._signing import SlackSigner
from slacksim._state import WorkspaceState

if TYPE_CHECKING:
    from slacksim._models import Message, SlackChannel, SlackUser, SlackView

RequestKind = Literal[
    "slash_command", "block_actions", "view_submission", "view_closed", "event_callback", "url_verification"
]
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"

# element type -> the field its chosen value travels in (block_actions and view state)
_SELECTED_FIELD = {
    "users_select": "selected_user",
    "conversations_select": "selected_conversation",
    "channels_select": "selected_channel",
    "datepicker": "selected_date",
    "plain_text_input": "value",
    "email_text_input": "value",
    "url_text_input": "value",
    "number_input": "value",
}
_OPTION_ELEMENTS = frozenset({"static_select", "overflow", "radio_buttons"})
ACK_TIMEOUT = 3.0  # seconds Slack waits for the app to answer a request (or ack an envelope)
EVENT_RETRIES = 3  # Events API: redeliveries after the first attempt (docs.slack.dev/apis/events-api, "Retries")
RetryReason = Literal["http_timeout", "http_error", "connection_failed"]


class DeliveryAttempt(BaseModel):
    """One POST of an Events API event: which retry it was (0: the first) and what the app answered."""

    model_config = ConfigDict(frozen=True)

    retry_num: int
    retry_reason: RetryReason | None  # why it was sent again (X-Slack-Retry-Reason); None the first time
    status: int | None  # the app's HTTP status; None: no answer within the timeout, or no connection


class SlackRequest(BaseModel):
    """A request as Slack would POST it to the app: `body` and `headers` go on the wire as they are."""

    model_config = ConfigDict(frozen=True)

    kind: RequestKind
    payload: dict[str, Any]  # what `body` encodes: the form fields, the interaction payload or the event envelope
    body: str
    headers: dict[str, str]
    response_id: str | None = None  # the response_url it carries, if any
    view_id: str | None = None  # the view it concerns, if any

    def resigned(self, signer: SlackSigner, *, timestamp: int | None = None) -> SlackRequest:
        """The same request signed by another secret and/or at another time (forged or stale requests)."""
        return self.model_copy(update={"headers": {**self.headers, **signer.headers(self.body, timestamp=timestamp)}})


class RequestBuilders(WorkspaceState):
    """What the workspace's users do in Slack, as signed requests to the app (SlackWorkspace's methods)."""

    def slash_command(
        self, user_id: str, text: str, *, command: str = "/okta", channel: str = "helpdesk"
    ) -> SlackRequest:
        user = _acting_user(self, user_id)
        where = _channel_of(self, channel, user_id)
        response_id, response_url = self._issue_response_url(user_id, where.id, None)
        fields = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": where.id,
            "channel_name": where.name or "directmessage",
            "user_id": user_id,
            "user_name": user.name,
            "command": command,
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": self._issue_trigger(user_id),
        }
        return _signed(self, "slash_command", fields, urlencode(fields), FORM, response_id=response_id)

    def block_action(
        self,
        user_id: str,
        action_id: str,
        value: str | None = None,
        *,
        message: Message | None = None,
        view: SlackView | None = None,
        block_id: str | None = None,
    ) -> SlackRequest:
        """The user clicks (or picks `value` in) the element `action_id` of the current version of
        `message` (a channel, DM or ephemeral message) or of `view` (an open modal or the App Home)."""
        user = _acting_user(self, user_id)
        response_id = None
        if message is not None and view is None:
            current = _current_message(self, message, user_id)
            where = self._channels[current.channel]
            response_id, response_url = self._issue_response_url(user_id, where.id, current)
            ephemeral = current.ephemeral_to is not None
            blocks = current.blocks
            container = {"type": "message", "message_ts": current.ts, "channel_id": where.id, "is_ephemeral": ephemeral}
            source: dict[str, Any] = {
                "container": container,
                "channel": {"id": where.id, "name": where.name or "directmessage"},
                "response_url": response_url,
                "state": {"values": {}},
            }
            if not ephemeral:  # Slack leaves the message out of payloads from ephemeral messages
                source["message"] = current.to_api(self.team_id)
        elif view is not None and message is None:
            shown = _open_view(self, view, user_id, modal_only=False)
            blocks = shown.blocks
            source = {"container": {"type": "view", "view_id": shown.id}, "view": shown.view}
        else:
            raise ValueError("pass exactly one of message= and view=: where the user clicked")
        action = _action(blocks, action_id, block_id, value)
        payload = _interaction(self, "block_actions", user, trigger_id=self._issue_trigger(user_id), **source)
        payload["actions"] = [action]
        view_id = None if view is None else view.id
        return _signed_payload(self, "block_actions", payload, response_id=response_id, view_id=view_id)

    def view_submission(
        self, user_id: str, view: SlackView, values: dict[str, dict[str, Any]] | None = None
    ) -> SlackRequest:
        """The user submits the open modal with `values` {block_id: {action_id: state or str}}:
        a str is shorthand for a text input's value or a select's chosen option value."""
        user = _acting_user(self, user_id)
        shown = _open_view(self, view, user_id, modal_only=True)
        submitted = {**shown.view, "state": {"values": _submitted_state(shown.blocks, values or {})}}
        trigger_id = self._issue_trigger(user_id)
        payload = _interaction(self, "view_submission", user, trigger_id=trigger_id, view=submitted, response_urls=[])
        return _signed_payload(self, "view_submission", payload, view_id=shown.id)

    def view_closed(self, user_id: str, view: SlackView) -> SlackRequest:
        """The user cancels the modal; Slack tells the app only if the view asked (notify_on_close)."""
        user = _acting_user(self, user_id)
        shown = _open_view(self, view, user_id, modal_only=True)
        if not shown.view.get("notify_on_close"):
            raise ValueError(f"view {shown.id} has notify_on_close false: Slack sends no view_closed for it")
        payload = _interaction(self, "view_closed", user, view=shown.view, is_cleared=False)
        return _signed_payload(self, "view_closed", payload, view_id=shown.id)

    def event(self, user_id: str, event: dict[str, Any]) -> SlackRequest:
        """An Events API event_callback; `user` and `event_ts` are filled in, and for app_home_opened
        also the DM channel, the tab and the home view currently published."""
        body = {"user": user_id, "event_ts": f"{time.time():.6f}", **event}
        if body.get("type") == "app_home_opened":
            body.setdefault("channel", self._open_dm(user_id).id)
            body.setdefault("tab", "home")
            if user_id in self._homes:
                body.setdefault("view", self._views[self._homes[user_id]].view)
        envelope = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.app_id,
            "event": body,
            "type": "event_callback",
            "event_id": self._next_id("Ev"),
            "event_time": int(time.time()),
            "authorizations": [_bot_authorization(self)],
            "is_ext_shared_channel": False,
            "event_context": f"4-{self.verification_token}",
        }
        return _signed(self, "event_callback", envelope, json.dumps(envelope), JSON)

    def url_verification(self, challenge: str | None = None) -> SlackRequest:
        """The check Slack makes when the Events API request URL is saved; the app echoes the challenge."""
        challenge = challenge or secrets.token_urlsafe(36)
        payload = {"token": self.verification_token, "challenge": challenge, "type": "url_verification"}
        return _signed(self, "url_verification", payload, json.dumps(payload), JSON)

    async def send(self, url: str, request: SlackRequest, *, timeout: float = ACK_TIMEOUT) -> httpx.Response:
        """POST the request to the app (Slack gives up after 3 seconds), then act on its acknowledgement."""
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(url, content=request.body.encode(), headers=request.headers)
        if request.kind == "view_closed" and request.view_id is not None:
            self._close_view(self._views[request.view_id])  # closed on the user's side, whatever the app says
        if response.status_code == 200:
            body: Any = None
            if response.content:
                is_json = response.headers.get("content-type", "").startswith(JSON)
                body = response.json() if is_json else {"text": response.text}
            _apply_ack(self, request, body if isinstance(body, dict) else None)
        return response

    async def deliver_event(
        self, url: str, request: SlackRequest, *, timeout: float = ACK_TIMEOUT, retries: int = EVENT_RETRIES
    ) -> list[DeliveryAttempt]:
        """POST an event_callback as Slack does: when the app does not answer 2xx within `timeout`
        seconds, the same body goes again, freshly signed, with X-Slack-Retry-Num (1 to `retries`) and
        X-Slack-Retry-Reason. An answer carrying `X-Slack-No-Retry: 1` stops the retries. Slack spaces
        its retries (at once, about a minute, about five minutes); the stand-in sends them at once,
        which changes nothing an app may rely on. Returns every attempt, in order."""
        if request.kind != "event_callback":
            raise ValueError(f"Slack redelivers Events API events only, not {request.kind}")
        attempts: list[DeliveryAttempt] = []
        reason: RetryReason | None = None
        async with httpx.AsyncClient() as client:
            for retry_num in range(retries + 1):
                headers = request.headers | self.signer.headers(request.body)
                if reason is not None:
                    headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": reason}
                status: int | None = None
                no_retry = False
                try:
                    async with asyncio.timeout(timeout):
                        response = await client.post(url, content=request.body.encode(), headers=headers)
                    status, no_retry = response.status_code, response.headers.get("x-slack-no-retry") == "1"
                except TimeoutError:
                    reason_next: RetryReason = "http_timeout"
                except httpx.TransportError:
                    reason_next = "connection_failed"
                else:
                    reason_next = "http_error"
                attempts.append(DeliveryAttempt(retry_num=retry_num, retry_reason=reason, status=status))
                if (status is not None and 200 <= status < 300) or no_retry:
                    break
                reason = reason_next
        return attempts

    async def socket_connected(self, timeout: float = 5.0, *, after: int = 0) -> int:
        """Once the app has a Socket Mode connection open (now or later), newer than the first `after`
        it opened: how many it has open."""
        hub = self._sockets

        def check() -> int | None:
            return len(hub.connections) if hub.connections and hub.connections[-1].number > after else None

        return await self._waiters.until(check, timeout, lambda: "no (new) Socket Mode connection")

    async def send_socket(
        self, request: SlackRequest, *, timeout: float = ACK_TIMEOUT, retries: int | None = None
    ) -> dict[str, Any] | None:
        """Deliver the request over the app's Socket Mode connection instead of HTTP: the payload the
        signed request carries (a slash command's form fields as an object), in an envelope. Acts on
        the acknowledgement as `send` does; returns the ack message ({"envelope_id", "payload"?}),
        or None when the app did not ack within `timeout` (Slack waits 3 seconds), after `retries`
        redeliveries (default: 3 for events, as on Slack, none for commands and interactions)."""
        if retries is None:
            retries = EVENT_RETRIES if request.kind == "event_callback" else 0
        ack = await self._sockets.deliver(request.kind, request.payload, timeout, retries)
        if request.kind == "view_closed" and request.view_id is not None:
            self._close_view(self._views[request.view_id])
        if ack is not None:
            payload = ack.get("payload")
            _apply_ack(self, request, payload if isinstance(payload, dict) else None)
        return ack


def _apply_ack(ws: WorkspaceState, request: SlackRequest, body: dict[str, Any] | None) -> None:
    """What Slack does with the app's acknowledgement (an HTTP response body or a Socket Mode ack payload)."""
    if request.kind == "slash_command" and body is not None and request.response_id is not None:
        ws._respond(request.response_id, body, via="ack")
    elif request.kind == "view_submission" and request.view_id is not None:
        _apply_response_action(ws, ws._views[request.view_id], body or {})


def _apply_response_action(ws: WorkspaceState, view: SlackView, body: dict[str, Any]) -> None:
    """What Slack does with a view_submission's acknowledgement; an empty one closes the view."""
    action = body.get("response_action")
    if action == "errors":
        view.errors = dict(body.get("errors") or {})
        ws._changed("view_updated", user=view.user_id, view_id=view.id)
    elif action == "update":
        ws._replace_view(view, body["view"])
    elif action == "push":
        ws._new_view(view.user_id, body["view"], pushed_onto=view)
    elif action == "clear":
        for shown in ws._open_stack(view.user_id):
            if shown.view["root_view_id"] == view.view["root_view_id"]:
                ws._close_view(shown)
    else:
        ws._close_view(view)


def _signed(
    ws: WorkspaceState, kind: RequestKind, payload: dict[str, Any], body: str, content_type: str, **ids: str | None
) -> SlackRequest:
    headers = {"Content-Type": content_type, "User-Agent": USER_AGENT, "Accept": "application/json,*/*"}
    headers |= ws.signer.headers(body)
    return SlackRequest(kind=kind, payload=payload, body=body, headers=headers, **ids)


def _signed_payload(ws: WorkspaceState, kind: RequestKind, payload: dict[str, Any], **ids: str | None) -> SlackRequest:
    """Interactions travel as a form with one field, `payload`, holding the JSON."""
    body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))})
    return _signed(ws, kind, payload, body, FORM, **ids)


def _acting_user(ws: WorkspaceState, user_id: str) -> SlackUser:
    user = ws._users.get(user_id)
    if user is None or user.deleted or user.is_bot:
        raise ValueError(f"{user_id} is not an active human user of the workspace")
    return user


def _bot_authorization(ws: WorkspaceState) -> dict[str, Any]:
    return {
        "enterprise_id": None,
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "is_bot": True,
        "is_enterprise_install": False,
    }


def _interaction(ws: WorkspaceState, kind: RequestKind, user: SlackUser, **fields: Any) -> dict[str, Any]:
    """An interaction payload: what every kind carries, then `fields`."""
    return {
        "type": kind,
        "team": {"id": ws.team_id, "domain": ws.team_domain},
        "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": user.team_id},
        "api_app_id": ws.app_id,
        "token": ws.verification_token,
        "enterprise": None,
        "is_enterprise_install": False,
        **fields,
    }


def _channel_of(ws: WorkspaceState, channel: str, user_id: str) -> SlackChannel:
    try:
        where = ws._resolve_channel(channel, names=True)
    except SlackError:
        raise ValueError(f"no channel {channel!r}") from None
    if user_id not in where.members:
        raise ValueError(f"{user_id} is not a member of {channel}")
    return where


def _current_message(ws: WorkspaceState, message: Message, user_id: str) -> Message:
    """The message as it stands now: a user clicks what is on screen, never a stale copy."""
    try:
        current = ws._find_message(message.channel, message.ts, ephemeral=message.ephemeral_to is not None)
    except SlackError:
        raise ValueError(f"message {message.ts} in {message.channel} is gone") from None
    if current.ephemeral_to not in (None, user_id):
        raise ValueError(f"only {current.ephemeral_to} sees ephemeral message {current.ts}")
    _channel_of(ws, current.channel, user_id)
    return current


def _open_view(ws: WorkspaceState, view: SlackView, user_id: str, *, modal_only: bool) -> SlackView:
    shown = ws._views.get(view.id)
    if shown is None or shown.closed or shown.user_id != user_id or (modal_only and shown.type != "modal"):
        raise ValueError(f"view {view.id} is not open for {user_id}")
    return shown


def _elements(block: dict[str, Any]) -> list[dict[str, Any]]:
    """A block's interactive elements (an input's only when it dispatches actions)."""
    if block.get("type") == "actions":
        return list(block.get("elements") or [])
    if block.get("type") == "section" and "accessory" in block:
        return [block["accessory"]]
    if block.get("type") == "input" and block.get("dispatch_action"):
        return [block["element"]]
    return []


def _action(blocks: list[dict[str, Any]], action_id: str, block_id: str | None, value: str | None) -> dict[str, Any]:
    for block in blocks:
        for element in _elements(block):
            if element.get("action_id") == action_id and block_id in (None, block["block_id"]):
                ts = f"{time.time():.6f}"
                base = {"action_id": action_id, "block_id": block["block_id"], "type": element["type"], "action_ts": ts}
                if element["type"] != "button":
                    return base | _selection(element, value)
                if value is not None and value != element.get("value"):
                    raise ValueError(f"button {action_id} carries value {element.get('value')!r}, not {value!r}")
                kept = {k: element[k] for k in ("text", "value", "style") if k in element}
                return base | kept
    raise ValueError(f"no interactive element {action_id!r} (block {block_id!r}) where the user clicked")


def _selection(element: dict[str, Any], value: str | None) -> dict[str, Any]:
    """How an element reports a chosen `value` (None: nothing chosen)."""
    kind = element["type"]
    if kind in _OPTION_ELEMENTS:
        if value is None:
            return {"selected_option": None}
        options = list(element.get("options") or [])
        options += [o for group in element.get("option_groups") or [] for o in group.get("options") or []]
        option = next((o for o in options if o.get("value") == value), None)
        if option is None:
            raise ValueError(f"{element.get('action_id')!r} has no option {value!r}")
        return {"selected_option": option}
    if kind in _SELECTED_FIELD:
        return {_SELECTED_FIELD[kind]: value}
    raise ValueError(f"{kind} elements are not simulated")


def _submitted_state(blocks: list[dict[str, Any]], values: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """view.state.values as Slack sends it: every input block, empty ones included."""
    inputs = {b["block_id"]: b for b in blocks if b.get("type") == "input"}
    unknown = set(values) - set(inputs)
    if unknown:
        raise ValueError(f"the view has no input blocks {sorted(unknown)}")
    state: dict[str, Any] = {}
    for block_id, block in inputs.items():
        element = block["element"]
        action_id = element.get("action_id", "")
        given = values.get(block_id, {}).get(action_id)
        if isinstance(given, dict):
            entry = {"type": element["type"], **given}
        else:
            entry = {"type": element["type"], **_selection(element, given)}
        if not block.get("optional") and not any(v for k, v in entry.items() if k != "type"):
            raise ValueError(f"input {block_id!r} is required: Slack would not let the user submit")
        state[block_id] = {action_id: entry}
    return state
