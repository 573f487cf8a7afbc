"""Delivery as Slack makes it: Events API events redelivered with X-Slack-Retry-Num / -Reason when the
app does not answer 2xx within 3 seconds, and Socket Mode envelopes redelivered or moved to a new
connection after `disconnect`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.server import BackgroundServer
from slacksim import DeliveryAttempt, SlackWorkspace
from tests.chatops_support import ChatOps

HANA, LEE = "U0HANA00001", "U0LEE000001"
MENTION = {"type": "app_mention", "text": "<@U0OKTABOT01> hi", "channel": "C0HELPDESK1"}


@dataclass
class App:
    """An app whose answers follow a script: a status per request, or None for "never in time"."""

    url: str
    script: list[int | None]
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    no_retry: bool = False


@pytest.fixture
async def app() -> AsyncIterator[App]:
    release = asyncio.Event()  # set at the end: the app's late answers go out then
    state = App(url="", script=[])

    async def events(request: Request) -> Response:
        state.received.append((dict(request.headers), await request.body()))
        status = state.script[len(state.received) - 1] if len(state.received) <= len(state.script) else 200
        if status is None:
            await release.wait()
            status = 200
        headers = {"X-Slack-No-Retry": "1"} if state.no_retry else {}
        return Response(status_code=status, headers=headers)

    async with BackgroundServer(Starlette(routes=[Route("/slack/events", events, methods=["POST"])])) as server:
        state.url = server.url + "/slack/events"
        yield state
        release.set()


def attempts(*rows: tuple[int, str | None, int | None]) -> list[DeliveryAttempt]:
    return [
        DeliveryAttempt.model_validate({"retry_num": n, "retry_reason": why, "status": status})
        for n, why, status in rows
    ]


async def test_an_event_is_redelivered_after_a_timeout_and_an_error(ws: SlackWorkspace, app: App) -> None:
    app.script = [None, 500, 200]
    event = ws.event(HANA, MENTION)
    delivered = await ws.deliver_event(app.url, event, timeout=0.2)
    assert delivered == attempts((0, None, None), (1, "http_timeout", 500), (2, "http_error", 200))
    verifier = SignatureVerifier(ws.signing_secret)
    assert all(verifier.is_valid_request(body, headers) for headers, body in app.received)
    assert {body for _, body in app.received} == {event.body.encode()}  # the same event_id each time
    retries = [(h.get("x-slack-retry-num"), h.get("x-slack-retry-reason")) for h, _ in app.received]
    assert retries == [(None, None), ("1", "http_timeout"), ("2", "http_error")]


async def test_three_retries_at_most(ws: SlackWorkspace, app: App) -> None:
    app.script = [503] * 10
    delivered = await ws.deliver_event(app.url, ws.event(HANA, MENTION))
    assert [a.retry_num for a in delivered] == [0, 1, 2, 3] and len(app.received) == 4


async def test_x_slack_no_retry_stops_redelivery(ws: SlackWorkspace, app: App) -> None:
    app.script, app.no_retry = [500], True
    assert await ws.deliver_event(app.url, ws.event(HANA, MENTION)) == attempts((0, None, 500))


async def test_a_connection_refused_counts_as_a_failed_attempt(ws: SlackWorkspace) -> None:
    gone = BackgroundServer(Starlette())
    async with gone:
        url = gone.url + "/slack/events"
    delivered = await ws.deliver_event(url, ws.event(HANA, MENTION), retries=1)
    assert delivered == attempts((0, None, None), (1, "connection_failed", None))


async def test_only_events_are_redelivered(ws: SlackWorkspace, slack: BackgroundServer, app: App) -> None:
    with pytest.raises(ValueError, match="slash_command"):
        await ws.deliver_event(app.url, ws.slash_command(HANA, "lookup lee"))


@pytest.fixture
async def socket_app(ws: SlackWorkspace, slack: BackgroundServer) -> AsyncIterator[tuple[SocketModeClient, list[dict]]]:
    """A Socket Mode app that acknowledges only redelivered envelopes (the first attempts go unanswered)."""
    received: list[dict] = []

    async def on_request(client: SocketModeClient, request: SocketModeRequest) -> None:
        received.append(
            request.to_dict() | {"retry_attempt": request.retry_attempt, "retry_reason": request.retry_reason}
        )
        if request.retry_attempt:
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))

    client = SocketModeClient(app_token=ws.app_token, web_client=AsyncWebClient(base_url=f"{slack.url}/api/"))
    client.socket_mode_request_listeners.append(on_request)  # type: ignore[arg-type]
    await client.connect()
    try:
        await ws.socket_connected()
        yield client, received
    finally:
        await client.close()


async def test_socket_mode_redelivers_an_unacked_event(
    ws: SlackWorkspace, socket_app: tuple[SocketModeClient, list[dict]]
) -> None:
    _, received = socket_app
    event = ws.event(HANA, MENTION)
    ack = await ws.send_socket(event, timeout=0.2)
    assert ack is not None
    assert [(r["retry_attempt"], r["retry_reason"]) for r in received] == [(0, ""), (1, "timeout")]
    assert received[0]["envelope_id"] != received[1]["envelope_id"] == ack["envelope_id"]
    assert all(r["payload"]["event_id"] == event.payload["event_id"] for r in received)
    assert await ws.send_socket(ws.slash_command(HANA, "lookup lee"), timeout=0.2) is None  # commands: never again


async def test_after_disconnect_the_app_moves_to_a_new_connection(
    ws: SlackWorkspace, socket_app: tuple[SocketModeClient, list[dict]]
) -> None:
    _, received = socket_app
    opened = await ws.socket_disconnect("refresh_requested")
    assert opened == 1
    await ws.socket_connected(after=opened)
    assert [c.method for c in ws.calls].count("apps.connections.open") == 2
    assert await ws.send_socket(ws.event(HANA, MENTION), timeout=0.5) is not None
    assert received[-1]["retry_attempt"] == 1


async def test_the_bot_answers_an_event_in_time_so_slack_sends_it_once(chatops: ChatOps) -> None:
    ws = chatops.ws
    delivered = await ws.deliver_event(chatops.url, ws.event(LEE, {"type": "app_home_opened"}))
    assert delivered == attempts((0, None, 200))
    home = await ws.wait_for(lambda c: c.method == "views.publish" and c.args.get("user_id") == LEE)
    assert home.ok
