"""The fake Slack's HTTP side: Web API methods at /api/{method}, response_urls at /response/{id} and
Socket Mode's WebSocket (slacksim/_socket.py), whose URL apps.connections.open hands out.

Arguments arrive as slack_sdk sends them: a query string (GET, and some POSTs), a form, or JSON with
`Authorization: Bearer`; JSON-valued arguments (blocks, view, ...) may come as JSON strings in forms.
Every request is recorded in `ws.calls` after it has taken effect, so a waiter sees its effect too.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from slacksim._blocks import error_messages, view_problems
from slacksim._errors import SlackError
from slacksim._models import Message, RecordedCall, SlackChannel
from slacksim._ratelimits import PER_CHANNEL_METHODS
from slacksim._scopes import conversation_kind, header, require
from slacksim._socket import SOCKET_PATH
from slacksim._state import EDIT_FIELDS, POST_FIELDS, flag, message_content
from slacksim._workspace import SlackWorkspace

Handler = Callable[[SlackWorkspace, dict[str, Any]], dict[str, Any]]

JSON_ARGS = frozenset({"blocks", "attachments", "metadata", "view"})
MAX_PUSHED_VIEWS = 3
APP_LEVEL_METHODS = frozenset({"apps.connections.open"})  # the only ones an xapp- token may call, and only it


def create_app(ws: SlackWorkspace) -> Starlette:
    async def api(request: Request) -> JSONResponse:
        method = request.path_params["method"]
        ws.base_url = ws.base_url or str(request.base_url).rstrip("/")
        args: dict[str, Any] = {}
        try:
            args, token = await _read_args(request)
            failure = await _injected(ws, method if method in METHODS else "", args.get("channel"))
            status, body, headers = _answer(ws, method, args, token) if failure is None else failure
        except SlackError as exc:
            status, body, headers = exc.status, exc.body(), exc.headers
        _record(ws, method, args, status, body)
        headers |= {"X-Slack-Req-Id": secrets.token_hex(16), "X-OAuth-Scopes": header(ws.scopes)}
        return JSONResponse(body, status_code=status, headers=headers)

    async def response_url(request: Request) -> PlainTextResponse:
        """Like Slack's webhooks: "ok", or the error as plain text with a 4xx."""
        response_id = request.path_params["response_id"]
        payload: dict[str, Any] = {}
        body: dict[str, Any]
        status, body = 200, {"ok": True}
        try:
            payload = _json_object(await request.body())
            failure = await _injected(ws, "response_url")
            if failure is not None:
                raise SlackError(failure[1]["error"], status=failure[0])
            ws._respond(response_id, payload)
        except SlackError as exc:
            status, body = (400 if exc.status == 200 else exc.status), exc.body()
        except ValidationError:  # a field of the wrong type, e.g. text that is not a string
            status, body = 400, {"ok": False, "error": "invalid_payload"}
        _record(ws, "response_url", {"response_id": response_id, **payload}, status, body)
        return PlainTextResponse(body.get("error", "ok"), status_code=status)

    async def socket_mode(websocket: WebSocket) -> None:
        await ws._sockets.serve(websocket)

    routes = [
        Route("/api/{method}", api, methods=["GET", "POST"]),
        Route("/response/{response_id}", response_url, methods=["POST"]),
        WebSocketRoute(SOCKET_PATH, socket_mode),
    ]
    return Starlette(routes=routes)


def _json_object(raw: bytes, error: str = "invalid_payload") -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise SlackError(error)
    return value


def _record(ws: SlackWorkspace, method: str, args: dict[str, Any], status: int, body: dict[str, Any]) -> None:
    ws._record(
        RecordedCall(method=method, args=args, status=status, ok=body["ok"], error=body.get("error"), result=body)
    )


async def _read_args(request: Request) -> tuple[dict[str, Any], str | None]:
    """The call's arguments (None values dropped, JSON-valued ones decoded) and its token."""
    args: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    raw = await request.body()
    if content_type.startswith("application/json") and raw:
        args |= _json_object(raw, "invalid_json")
    elif content_type.startswith("application/x-www-form-urlencoded"):
        args |= dict(parse_qsl(raw.decode(), keep_blank_values=True))
    bearer = request.headers.get("authorization", "")
    token = bearer.removeprefix("Bearer ").strip() if bearer.startswith("Bearer ") else args.pop("token", None)
    args.pop("token", None)
    return {k: _decoded(k, v) for k, v in args.items() if v is not None}, token


def _decoded(name: str, value: Any) -> Any:
    if name in JSON_ARGS and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value  # left for the method's own check to refuse
    return value


Answer = tuple[int, dict[str, Any], dict[str, str]]


async def _injected(ws: SlackWorkspace, method: str, channel: object = None) -> Answer | None:
    """An injected failure's answer, after its delay; None: carry the call out (a delay alone has passed)."""
    failure = ws._take_fault(method, channel) if method else None
    if failure is None:
        return None
    if failure.delay > 0:
        await asyncio.sleep(failure.delay)  # the stand-in is slow, as Slack sometimes is
    if failure.status is None or failure.error is None:
        return None
    headers = {} if failure.retry_after is None else {"Retry-After": str(failure.retry_after)}
    return failure.status, {"ok": False, "error": failure.error}, headers


def _answer(ws: SlackWorkspace, method: str, args: dict[str, Any], token: str | None) -> Answer:
    handler = METHODS.get(method)
    if handler is None:
        return 200, {"ok": False, "error": "unknown_method", "req_method": method}, {}
    if not token:
        return 200, {"ok": False, "error": "not_authed"}, {}
    if token not in (ws.bot_token, ws.app_token):
        return 200, {"ok": False, "error": "invalid_auth"}, {}
    if (token == ws.app_token) != (method in APP_LEVEL_METHODS):
        return 200, {"ok": False, "error": "not_allowed_token_type"}, {}
    try:
        if token == ws.bot_token:
            require(ws.scopes, method)  # conversation methods check theirs once they know the kind
        if method not in PER_CHANNEL_METHODS:
            ws._throttle(method)
        return 200, {"ok": True, **handler(ws, args)}, {}
    except SlackError as exc:
        return exc.status, exc.body(), exc.headers
    except ValidationError:  # an argument of the wrong type, e.g. text that is not a string
        return 200, {"ok": False, "error": "invalid_arguments"}, {}


# apps (Socket Mode), auth, chat


def apps_connections_open(ws: SlackWorkspace, args: dict[str, Any]) -> dict[str, Any]:
    assert ws.base_url is not None  # learned from this very call
    return {"url": ws._sockets.open_url(ws.base_url)}


def auth_test(ws: SlackWorkspace, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": f"https://{ws.team_domain}.slack.com/",
        "team": ws.team_name,
        "user": ws._users[ws.bot_user_id].name,
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


def chat_post_message(ws: SlackWorkspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = _writable(ws, args)
    ws._throttle("chat.postMessage", channel.id)
    message = ws._post(channel, message_content(args, POST_FIELDS), via="chat.postMessage")
    return {"channel": channel.id, "ts": message.ts, "message": message.to_api(ws.team_id)}


def chat_post_ephemeral(ws: SlackWorkspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = _writable(ws, args)
    user = ws._user_or_error(str(args.get("user", "")))
    if user.id not in channel.members:
        raise SlackError("user_not_in_channel")
    message = ws._post(channel, message_content(args, POST_FIELDS), via="chat.postEphemeral", ephemeral_to=user.id)
    return {"message_ts": message.ts}


def chat_update(ws: SlackWorkspace, args: dict[str, Any]) -> dict[str, Any]:
    channel, message = _own_message(ws, args, "ts", "cant_update_message")
    ws._edit(message, message_content(args, EDIT_FIELDS))
    return {"channel": channel.id, "ts": message.ts, "text": message.text, "message": message.to_api(ws.team_id)}


def chat_delete(ws: SlackWorkspace, args: dict[str, Any]) -> dict[str, Any]:
    channel, message = _own_message(ws, args, "ts", "cant_delete_message")
    ws._delete(message)
    return {"channel": channel.id, "ts": message.ts}


def chat_get_permalink(ws: SlackWorkspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = ws._resolve_channel(str(args.get("channel", "")), names=False)
    message = ws._find_message(channel.id, str(args.get("message_ts", "")))
    link = f"https://{ws.team_domain}.slack.com/archives/{channel.id}/p{message.ts.replace('.', '')}"
    if message.thread_ts not in (None, message.ts):
        link += f"?thread_ts={message.thread_ts}&cid={channel.id}"
    return {"channel": channel.id, "permalink": link}


def _writable(ws: SlackWorkspace, args: dict[str, Any]) -> SlackChannel:
    """Where chat.postMessage/postEphemeral may post: by id, by name or to a user's DM, if the bot is in it."""
    channel = ws._resolve_channel(str(args.get("channel", "")), names=True)
    if channel.is_archived:
        raise SlackError("is_archived")
    if ws.bot_user_id not in channel.members:
        raise SlackError("not_in_channel")
    return channel


def _own_message(ws: SlackWorkspace, args: dict[str, Any], ts_arg: str, refusal: str) -> tuple[SlackChannel, Message]:
    """The message chat.update/delete name: by channel id only (names are for posting), and the bot's own."""
    channel = ws._resolve_channel(str(args.get("channel", "")), names=False)
    message = ws._find_message(channel.id, str(args.get(ts_arg, "")))
    if message.user != ws.bot_user_id:
        raise SlackError(refusal)
    return channel, message


# users, usergroups


def users_info(ws: SlackWorkspace, args: dict[str, Any]) -> dict[str, Any]:
    return {"user": ws._user_or_error(str(args.get("user", ""))).to_api()}


def users_lookup_by_email(ws: SlackWorkspace, args: dict[str, Any]) -> dict[str, Any]:
    user = ws.user_by_email(str(args.get("email", "")))
    if user is None or user.deleted:  # deactivated accounts are not found by email
        raise SlackError("users_not_found")
    return {"user": user.to_api()}


def usergroups_list(ws: SlackWorkspace, args: dict[str, Any]) -> dict[str, Any]:
    include_users = flag(args.get("include_users"))
    return {"usergroups": [g.to_api(ws.team_id, include_users=include_users) for g in ws._usergroups.values()]}


def usergroups_users_list(ws: SlackWorkspace, args: dict[str, Any]) -> dict[str, Any]:
    group = ws._usergroups.get(str(args.get("usergroup", "")))
    if group is None:
        raise SlackError("no_such_subteam")
    return {"users": list(group.users)}


# conversations


def conversations_open(ws: SlackWorkspace, args: dict[str, Any]) -> dict[str, Any]:
    users = [u for u in str(args.get("users", "")).split(",") if u]
    if not users:
        raise SlackError("users_list_not_supplied")
    if len(users) > 1:
        raise SlackError("mpim_not_simulated")  # group DMs are not part of the stand-in
    already_open = ("D" + users[0][1:]) in ws._channels
    dm = ws._open_dm(users[0])
    body: dict[str, Any] = {"channel": dm.to_api(ws.bot_user_id) if flag(args.get("return_im")) else {"id": dm.id}}
    if already_open:
        body |= {"no_op": True, "already_open": True}
    return body


def conversations_info(ws: SlackWorkspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = ws._resolve_channel(str(args.get("channel", "")), names=False)
    require(ws.scopes, "conversations.info", [conversation_kind(channel)])
    if channel.is_private and ws.bot_user_id not in channel.members:
        raise SlackError("channel_not_found")  # a private channel exists only for its members
    return {"channel": channel.to_api(ws.bot_user_id)}


_CONVERSATION_TYPES = frozenset({"public_channel", "private_channel", "mpim", "im"})


def conversations_list(ws: SlackWorkspace, args: dict[str, Any]) -> dict[str, Any]:
    """Channels of the given `types` (default public ones) as the bot sees them: every public channel,
    private channels and DMs only when it is in them; `limit` a page, continued with `cursor`."""
    types = {t.strip() for t in str(args.get("types") or "public_channel").split(",") if t.strip()}
    if not types <= _CONVERSATION_TYPES:
        raise SlackError("invalid_types")
    require(ws.scopes, "conversations.list", sorted(types))
    given = _number_arg(args, "limit", "invalid_limit")
    limit = 100 if given is None else int(given)
    if not 1 <= limit <= 1000:
        raise SlackError("invalid_limit")

    def listed(channel: SlackChannel) -> bool:
        kind = conversation_kind(channel)
        visible = kind == "public_channel" or ws.bot_user_id in channel.members
        return kind in types and visible and not (channel.is_archived and flag(args.get("exclude_archived")))

    found = [c for c in ws._channels.values() if listed(c)]
    start = 0
    if args.get("cursor"):  # where the previous page stopped: the id of the next channel
        next_id = _decode_cursor(str(args["cursor"]), "next_id:")
        start = next((i for i, c in enumerate(found) if c.id == next_id), -1)
        if start < 0:
            raise SlackError("invalid_cursor")
    page = found[start : start + limit]
    channels = [c.to_api(ws.bot_user_id) | ({} if c.is_im else {"num_members": len(c.members)}) for c in page]
    more = start + limit < len(found)
    cursor = base64.b64encode(f"next_id:{found[start + limit].id}".encode()).decode() if more else ""
    return {"channels": channels, "response_metadata": {"next_cursor": cursor}}


def conversations_history(ws: SlackWorkspace, args: dict[str, Any]) -> dict[str, Any]:
    """Top-level messages, newest first, between `oldest` and `latest`, `limit` at a time."""
    channel = ws._resolve_channel(str(args.get("channel", "")), names=False)
    require(ws.scopes, "conversations.history", [conversation_kind(channel)])
    if ws.bot_user_id not in channel.members:
        raise SlackError("not_in_channel")
    latest = _number_arg(args, "latest", "invalid_ts_latest")
    oldest = _number_arg(args, "oldest", "invalid_ts_oldest") or Decimal(0)
    inclusive = flag(args.get("inclusive"))
    if args.get("cursor"):  # the next page: what lies below the last message of the page before
        latest, inclusive = _cursor_ts(str(args["cursor"])), False
    limit = max(1, min(int(_number_arg(args, "limit", "invalid_limit") or 100), 999))

    def in_range(ts: Decimal) -> bool:
        above = ts >= oldest if inclusive else ts > oldest
        below = latest is None or (ts <= latest if inclusive else ts < latest)
        return above and below

    top_level = [m for m in ws.messages(channel.id) if m.thread_ts in (None, m.ts)]
    found = [m for m in reversed(top_level) if in_range(Decimal(m.ts))]
    page = found[:limit]
    with_metadata = flag(args.get("include_all_metadata"))
    messages = [m.to_api(ws.team_id) for m in page]
    if not with_metadata:
        for rendered in messages:
            rendered.pop("metadata", None)
    body: dict[str, Any] = {"messages": messages, "has_more": len(found) > limit, "pin_count": 0}
    if len(found) > limit:
        cursor = base64.b64encode(f"next_ts:{page[-1].ts}".encode()).decode()
        body["response_metadata"] = {"next_cursor": cursor}
    return body


def _decode_cursor(cursor: str, prefix: str) -> str:
    try:
        decoded = base64.b64decode(cursor, validate=True).decode()
    except ValueError:  # not base64, or not UTF-8
        raise SlackError("invalid_cursor") from None
    if not decoded.startswith(prefix):
        raise SlackError("invalid_cursor")
    return decoded.removeprefix(prefix)


def _cursor_ts(cursor: str) -> Decimal:
    try:
        return Decimal(_decode_cursor(cursor, "next_ts:"))
    except InvalidOperation:
        raise SlackError("invalid_cursor") from None


def _number_arg(args: dict[str, Any], name: str, error: str) -> Decimal | None:
    if not args.get(name):
        return None
    try:
        return Decimal(str(args[name]))
    except InvalidOperation:
        raise SlackError(error) from None


# views


def views_open(ws: SlackWorkspace, args: dict[str, Any]) -> dict[str, Any]:
    spec = _view_spec(args, "modal")
    user_id = ws._redeem_trigger(str(args.get("trigger_id", "")))
    return {"view": ws._new_view(user_id, spec).view}


def views_push(ws: SlackWorkspace, args: dict[str, Any]) -> dict[str, Any]:
    spec = _view_spec(args, "modal")
    user_id = ws._redeem_trigger(str(args.get("trigger_id", "")))
    stack = ws._open_stack(user_id)
    if not stack:
        raise SlackError("invalid_arguments", response_metadata={"messages": ["[ERROR] no open view to push onto"]})
    if len(stack) >= MAX_PUSHED_VIEWS:
        raise SlackError("push_limit_reached")
    return {"view": ws._new_view(user_id, spec, pushed_onto=stack[-1]).view}


def views_update(ws: SlackWorkspace, args: dict[str, Any]) -> dict[str, Any]:
    view_id, external_id = args.get("view_id"), args.get("external_id")
    view = next(
        (v for v in ws._views.values() if v.id == view_id or (external_id and v.view["external_id"] == external_id)),
        None,
    )
    if view is None or view.closed:
        raise SlackError("not_found")
    if args.get("hash") and args["hash"] != view.view["hash"]:
        raise SlackError("hash_conflict")
    ws._replace_view(view, _view_spec(args, view.type))
    return {"view": view.view}


def views_publish(ws: SlackWorkspace, args: dict[str, Any]) -> dict[str, Any]:
    user_id = str(args.get("user_id", ""))
    if user_id not in ws._users:
        raise SlackError("invalid_arguments", response_metadata={"messages": ["[ERROR] invalid `user_id`"]})
    spec = _view_spec(args, "home")
    current = ws._homes.get(user_id)
    if args.get("hash") and current is not None and args["hash"] != ws._views[current].view["hash"]:
        raise SlackError("hash_conflict")
    return {"view": ws._publish_home(user_id, spec).view}


def _view_spec(args: dict[str, Any], expected_type: str) -> dict[str, Any]:
    problems = view_problems(args.get("view"), expected_type)
    if problems:
        raise SlackError("invalid_arguments", response_metadata={"messages": error_messages(problems)})
    spec: dict[str, Any] = args["view"]
    return spec


METHODS: dict[str, Handler] = {
    "apps.connections.open": apps_connections_open,
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.update": chat_update,
    "chat.delete": chat_delete,
    "chat.getPermalink": chat_get_permalink,
    "users.info": users_info,
    "users.lookupByEmail": users_lookup_by_email,
    "usergroups.list": usergroups_list,
    "usergroups.users.list": usergroups_users_list,
    "conversations.open": conversations_open,
    "conversations.info": conversations_info,
    "conversations.list": conversations_list,
    "conversations.history": conversations_history,
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
    "views.publish": views_publish,
}
