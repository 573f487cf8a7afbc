"""Socket Mode: the app opens a WebSocket to Slack and receives its requests as envelopes over it.

As on Slack: `apps.connections.open` (app-level xapp- token) answers a single-use URL; connecting
to it gets a `hello`; each request travels as an envelope {envelope_id, type, payload, ...} and the
app acknowledges it with {envelope_id, payload?} on the same socket within 3 seconds. An Events API
envelope not acknowledged in time is sent again (`retry_attempt` 1 to 3, `retry_reason` "timeout");
commands and interactions are not (the user is told the app did not respond). Slack may send
`disconnect` (reason `refresh_requested`, `warning`, `link_disabled`) and then close the socket: the
app opens a new one. Slack's URLs are wss://; the stand-in serves ws:// on loopback.
(docs.slack.dev/apis/events-api/using-socket-mode)
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.websockets import WebSocket, WebSocketDisconnect

from slacksim._waiting import Waiters

SOCKET_PATH = "/link/"
DisconnectReason = Literal["refresh_requested", "warning", "link_disabled"]
# the envelope type each kind of request travels as; url_verification has no Socket Mode form
ENVELOPE_TYPES = {
    "slash_command": "slash_commands",
    "block_actions": "interactive",
    "view_submission": "interactive",
    "view_closed": "interactive",
    "event_callback": "events_api",
}


@dataclass
class _Connection:
    websocket: WebSocket
    number: int  # 1 for the app's first connection, then counting up
    # envelope_id -> the app's acknowledgement, once it arrives
    acks: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)


class SocketHub:
    """The open Socket Mode connections of one app, and the tickets apps.connections.open handed out."""

    def __init__(self, app_id: str, waiters: Waiters) -> None:
        self._app_id = app_id
        self._waiters = waiters
        self._tickets: set[str] = set()
        self.connections: list[_Connection] = []
        self.opened = 0  # connections ever accepted

    def open_url(self, base_url: str) -> str:
        """A new single-use WebSocket URL on the server at `base_url` (http(s)://host:port)."""
        ticket = str(uuid.uuid4())
        self._tickets.add(ticket)
        return f"{'ws' + base_url.removeprefix('http')}{SOCKET_PATH}?ticket={ticket}&app_id={self._app_id}"

    async def serve(self, websocket: WebSocket) -> None:
        """One connection: refused unless its ticket is fresh; then hello, then acks until it closes."""
        ticket = websocket.query_params.get("ticket", "")
        if ticket not in self._tickets:
            await websocket.close(code=1008)  # policy violation: Slack refuses unknown or reused URLs
            return
        self._tickets.discard(ticket)
        await websocket.accept()
        self.opened += 1
        connection = _Connection(websocket, self.opened)
        await websocket.send_json(
            {
                "type": "hello",
                "num_connections": len(self.connections) + 1,
                "debug_info": {
                    "host": "applink-slacksim",
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": self._app_id},
            }
        )
        self.connections.append(connection)
        self._waiters.notify()
        try:
            while True:
                message = await websocket.receive_json()
                future = connection.acks.get(str(message.get("envelope_id"))) if isinstance(message, dict) else None
                if future is not None and not future.done():
                    future.set_result(message)
        except (WebSocketDisconnect, KeyError, ValueError):  # closed, or a frame that is not JSON text
            pass
        finally:
            self.connections.remove(connection)
            for pending in connection.acks.values():
                pending.cancel()
            self._waiters.notify()

    async def deliver(
        self, kind: str, payload: dict[str, Any], timeout: float, retries: int = 0
    ) -> dict[str, Any] | None:
        """Send `payload` in an envelope over the newest connection; the app's ack message, or None
        when none came within `timeout` seconds after `retries` more attempts (each a new envelope)."""
        envelope_type = ENVELOPE_TYPES.get(kind)
        if envelope_type is None:
            raise ValueError(f"{kind} requests are not delivered over Socket Mode")
        for attempt in range(retries + 1):
            ack = await self._deliver_once(envelope_type, payload, timeout, attempt)
            if ack is not None:
                return ack
        return None

    async def disconnect(self, reason: DisconnectReason, *, close: bool) -> int:
        """Tell every open connection Slack is about to drop it, and (with `close`) drop it; how many
        connections had been opened so far."""
        for connection in list(self.connections):
            message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-slacksim"}}
            await connection.websocket.send_json(message)
            if close:
                await connection.websocket.close(code=1000)
        return self.opened

    async def _deliver_once(
        self, envelope_type: str, payload: dict[str, Any], timeout: float, attempt: int
    ) -> dict[str, Any] | None:
        if not self.connections:
            raise RuntimeError("no Socket Mode connection is open: await ws.socket_connected() first")
        connection = self.connections[-1]
        envelope_id = str(uuid.uuid4())
        ack: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        connection.acks[envelope_id] = ack
        envelope = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            # Events API acks carry nothing back; commands and interactions may carry a reply
            "accepts_response_payload": envelope_type != "events_api",
            "retry_attempt": attempt,
            "retry_reason": "timeout" if attempt else "",
        }
        try:
            await connection.websocket.send_json(envelope)
            done, _ = await asyncio.wait({ack}, timeout=timeout)
            # not done: no ack in time; cancelled: the connection closed before the app acked
            return ack.result() if done and not ack.cancelled() else None
        finally:
            connection.acks.pop(envelope_id, None)


def app_token(app_id: str) -> str:
    """An app-level token shaped like Slack's: xapp-1-<app id>-<number>-<hex>."""
    return f"xapp-1-{app_id}-{int(time.time())}-{secrets.token_hex(32)}"
