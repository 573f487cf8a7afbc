"""A stand-in for the bot behind the console: it checks Slack's signature on every request, records
what arrived, and answers as a test tells it to. Tests of the console use it instead of the real
bot so that each one sees exactly the request the console made the workspace send. Also the Block
Kit such a bot posts: a card's elements and a modal.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import httpx
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Reply = Callable[["Arrival"], Awaitable[Response]]


@dataclass
class Arrival:
    kind: str  # slash_command, block_actions, view_submission, view_closed, event_callback
    payload: dict[str, Any]  # the form fields, the interaction payload or the event envelope
    signed: bool  # Slack's v0 signature checks out with the workspace's signing secret


class StubBot:
    def __init__(self, signing_secret: str) -> None:
        self.verifier = SignatureVerifier(signing_secret)
        self.arrivals: list[Arrival] = []
        self.reply: Reply = _ack
        self._arrived = asyncio.Condition()

    async def endpoint(self, request: Request) -> Response:
        body = (await request.body()).decode()
        if request.headers.get("content-type", "").startswith("application/json"):
            payload = json.loads(body)
            kind = payload["type"]
        else:
            form = dict(parse_qsl(body))
            payload = json.loads(form["payload"]) if "payload" in form else form
            kind = payload.get("type", "slash_command")
        arrival = Arrival(kind, payload, self.verifier.is_valid_request(body, dict(request.headers)))
        async with self._arrived:
            self.arrivals.append(arrival)
            self._arrived.notify_all()
        return await self.reply(arrival)

    async def nth(self, n: int, timeout: float = 5.0) -> Arrival:
        """The n-th request to arrive (1-based), once it has."""
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: len(self.arrivals) >= n), timeout)
        return self.arrivals[n - 1]

    def app(self) -> Starlette:
        return Starlette(routes=[self.route()])

    def route(self) -> Route:
        return Route("/slack/events", self.endpoint, methods=["POST"])


async def _ack(_: Arrival) -> Response:
    return Response(status_code=200)


def answer(body: dict[str, Any]) -> Reply:
    """A reply that acknowledges with `body` as JSON."""

    async def reply(_: Arrival) -> Response:
        return JSONResponse(body)

    return reply


async def web_api(slack_url: str, token: str, method: str, **args: Any) -> dict[str, Any]:
    """One Slack Web API call to the stand-in, as the bot would make it."""
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{slack_url}/api/{method}", json=args, headers={"Authorization": f"Bearer {token}"}
        )
    result: dict[str, Any] = response.json()
    assert result["ok"], result
    return result


def _plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


UNLOCK_BUTTON = {
    "type": "button",
    "action_id": "okta:unlock",
    "value": "00ulee",
    "style": "primary",
    "text": _plain("Unlock"),
    "confirm": {
        "title": _plain("Unlock Lee?"),
        "text": {"type": "mrkdwn", "text": "Unlock *Lee Locked*?"},
        "confirm": _plain("Yes, unlock"),
        "deny": _plain("Cancel"),
    },
}
MORE_MENU = {
    "type": "overflow",
    "action_id": "okta:more",
    "options": [
        {"text": _plain("Reset password"), "value": "reset"},
        {"text": _plain("Clear sessions"), "value": "clear"},
    ],
}
GROUP_SELECT = {
    "type": "static_select",
    "action_id": "okta:group",
    "placeholder": _plain("Add to group"),
    "options": [{"text": _plain("Sales"), "value": "sales"}, {"text": _plain("Finance"), "value": "finance"}],
}


def reason_modal(*, notify_on_close: bool = False) -> dict[str, Any]:
    """A modal with a required text input (block "reason") and an optional select (block "group")."""
    return {
        "type": "modal",
        "callback_id": "okta:reason",
        "title": _plain("Why?"),
        "submit": _plain("Send"),
        "close": _plain("Cancel"),
        "notify_on_close": notify_on_close,
        "blocks": [
            {
                "type": "input",
                "block_id": "reason",
                "label": _plain("Reason"),
                "element": {"type": "plain_text_input", "action_id": "text"},
            },
            {
                "type": "input",
                "block_id": "group",
                "optional": True,
                "label": _plain("Group"),
                "element": {**GROUP_SELECT, "action_id": "pick"},
            },
        ],
    }
