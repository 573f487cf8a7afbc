"""The live update stream: Server-Sent Events, one per workspace change the person can see.

An event only says what changed; the page then reads the state again, so a missed event costs
nothing. That lets every stream end after `lifetime` seconds: uvicorn waits for open responses
before it shuts down, and an app cannot hear that a shutdown has begun, so an endless stream
would hold the server up for as long as a browser tab stays open. The `retry` field makes the
browser reconnect at once, and the page re-reads the state on every (re)connection. A stream also
ends as soon as its client goes.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from console.workspace import acting_user
from slacksim import ChangeEvent, SlackWorkspace

RETRY_MS = 250  # how soon the browser reconnects after a stream ends


class ChangeStream:
    """ASGI endpoint: GET ?user=U… answers `text/event-stream`."""

    def __init__(self, ws: SlackWorkspace, lifetime: float) -> None:
        self.ws = ws
        self.lifetime = lifetime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user_id = Request(scope).query_params.get("user", "")
        try:
            acting_user(self.ws, user_id)
        except KeyError as exc:
            await JSONResponse({"ok": False, "error": exc.args[0]}, status_code=404)(scope, receive, send)
            return
        queue = self.ws.subscribe()
        try:
            headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-store")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await _chunk(send, f"retry: {RETRY_MS}\n\n")
            relay = asyncio.ensure_future(self._relay(queue, user_id, send))
            gone = asyncio.ensure_future(_client_gone(receive))
            await asyncio.wait({relay, gone}, return_when=asyncio.FIRST_COMPLETED)
            client_left = gone.done()
            for task in (relay, gone):
                task.cancel()
            if not client_left:  # the lifetime is up: end the response; the browser comes back
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self.ws.unsubscribe(queue)

    async def _relay(self, queue: asyncio.Queue[ChangeEvent], user_id: str, send: Send) -> None:
        """Forward the changes the person can see, for `lifetime` seconds."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.lifetime):
                while True:
                    event = await queue.get()
                    if event.user in (None, user_id):  # others' ephemerals, modals and Home are not news here
                        data = event.model_dump_json(include={"kind", "channel", "ts", "view_id"})
                        await _chunk(send, f"data: {data}\n\n")


async def _client_gone(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _chunk(send: Send, text: str) -> None:
    await send({"type": "http.response.body", "body": text.encode(), "more_body": True})
