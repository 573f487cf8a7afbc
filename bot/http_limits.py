"""Bounds every HTTP request meets before any route parses, verifies or logs anything of it.

- A URL (path and query string) longer than MAX_URL_BYTES: 414.
- A body longer than its path's limit: 413, whatever Content-Length says (the bytes are counted as
  they arrive). The body is read here, within the limit, and handed on whole to the app, so no
  route behind this can be made to buffer, hash or parse more than its limit.

Refusals are logged as one WARNING line that names the (bounded) path and the limit, never the body.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

MAX_URL_BYTES = 8192
DEFAULT_BODY_LIMIT = 64 * 1024  # the console's forms, health probes: far more than any of them sends
_SHOWN_PATH = 120  # characters of a refused request's path in its log line


class RequestLimits:
    """ASGI middleware: `RequestLimits(app, {"/slack/events": 1 << 20})`; other paths get `default`."""

    def __init__(self, app: ASGIApp, body_limits: Mapping[str, int], default: int = DEFAULT_BODY_LIMIT) -> None:
        self._app = app
        self._limits = dict(body_limits)
        self._default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path: str = scope["path"]
        if len(scope.get("raw_path") or path.encode()) + len(scope.get("query_string", b"")) > MAX_URL_BYTES:
            await refuse(send, 414, "URL too long", path)
            return
        limit = self._limits.get(path, self._default)
        declared = _content_length(scope)
        if declared is None:
            await refuse(send, 400, "invalid Content-Length", path)
            return
        if declared > limit:
            await refuse(send, 413, f"body larger than {limit} bytes", path)
            return
        body = await read_body(receive, limit)
        if body is None:
            await refuse(send, 413, f"body larger than {limit} bytes", path)
            return
        await self._app(scope, replay(body, receive), send)


def _content_length(scope: Scope) -> int | None:
    """The declared length (0 when absent); None when it is not a plain number."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() and len(value) <= 18 else None
    return 0


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or None as soon as it passes `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away: the app sees an empty body
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives `body` in one message, then whatever the connection says next."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


async def refuse(send: Send, status: int, message: str, path: str) -> None:
    log.warning("HTTP %d refused: %s (path %s)", status, message, path[:_SHOWN_PATH])
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
