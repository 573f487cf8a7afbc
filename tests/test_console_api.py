"""The console's HTTP API over real HTTP: the state one person sees, what they do arriving at a
stub bot as Slack's signed requests, the live update stream, and the simulate panel's endpoints."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount

from bot.server import BackgroundServer
from console import create_console_app
from tests.console_stub import GROUP_SELECT, MORE_MENU, UNLOCK_BUTTON, Arrival, StubBot, answer, reason_modal, web_api

HANA, ERIN, ARJUN = "U0HANA00001", "U0ERIN00001", "U0ARJUN0001"
HELPDESK = "C0HELPDESK1"


@pytest.fixture
def stub(ws) -> StubBot:  # type: ignore[no-untyped-def]
    return StubBot(ws.signing_secret)


@pytest.fixture
async def bot(stub: StubBot) -> AsyncIterator[BackgroundServer]:
    async with BackgroundServer(stub.app()) as server:
        yield server


@pytest.fixture
async def console(ws, okta_org, slack, bot) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    app = create_console_app(ws, okta_org, bot_events_url=f"{bot.url}/slack/events")
    async with BackgroundServer(app) as server, httpx.AsyncClient(base_url=server.url) as client:
        yield client


async def post(client: httpx.AsyncClient, path: str, **body: Any) -> httpx.Response:
    return await client.post(f"/console/api/{path}", json=body)


async def state(client: httpx.AsyncClient, user: str) -> dict[str, Any]:
    response = await client.get("/console/api/state", params={"user": user})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def channel(snapshot: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in snapshot["channels"] if c["name"] == name)


async def call(ws, slack, method: str, **args: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return await web_api(slack.url, ws.bot_token, method, **args)


# the page and who can be played


async def test_page_is_served_with_its_scripts_and_no_cdn(console: httpx.AsyncClient) -> None:
    page = await console.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert 'src="console/static/console.js"' in page.text and "https://" not in page.text
    for asset, kind in (("console.js", "javascript"), ("blocks.js", "javascript"), ("console.css", "text/css")):
        served = await console.get(f"/console/static/{asset}")
        assert served.status_code == 200 and kind in served.headers["content-type"]


async def test_people_come_with_their_roles_and_okta_accounts(console: httpx.AsyncClient) -> None:
    directory = (await console.get("/console/api/people")).json()
    people = {p["id"]: p for p in directory["people"]}
    assert directory["team"]["name"] == "Acme"
    assert people[HANA]["roles"] == ["Helpdesk Team"]
    assert people[HANA]["okta"] == {"login": "hana.helpdesk@acme.example", "status": "ACTIVE", "groups": ["Helpdesk"]}
    assert people[ARJUN]["roles"] == ["Approvers"]
    assert people[ERIN]["roles"] == ["Employee"] and people["U0LEE000001"]["okta"]["status"] == "LOCKED_OUT"
    assert people["U0GARY00001"]["roles"] == ["Guest"] and people["U0GINA00001"]["roles"] == ["Single-channel guest"]
    assert people["U0NOBODY001"]["okta"] == {"status": None, "groups": []}
    assert people["U0JIRABOT01"]["is_bot"] and people["U0DEE000001"]["deleted"]


async def test_state_shows_a_persons_channels_and_only_their_ephemerals(ws, slack, console) -> None:  # type: ignore[no-untyped-def]
    await call(ws, slack, "chat.postMessage", channel="#helpdesk", text="for everyone")
    await call(ws, slack, "chat.postEphemeral", channel="#helpdesk", user=HANA, text="for hana")
    await call(ws, slack, "chat.postEphemeral", channel="#helpdesk", user=ERIN, text="for erin")
    await call(ws, slack, "chat.postMessage", channel=HANA, text="a DM")

    hana = await state(console, HANA)
    assert [c["name"] for c in hana["channels"] if not c["is_dm"]] == ["approvals", "general", "helpdesk"]
    shown = [(m["text"], m["ephemeral"]) for m in channel(hana, "helpdesk")["messages"]]
    assert shown == [("for everyone", False), ("for hana", True)]
    dm = next(c for c in hana["channels"] if c["is_dm"])
    assert dm["name"] == "Okta ChatOps" and [m["text"] for m in dm["messages"]] == ["a DM"]
    assert hana["modals"] == [] and hana["home"] is None
    erin = await state(console, ERIN)
    assert [m["text"] for m in channel(erin, "helpdesk")["messages"]] == ["for everyone", "for erin"]


@pytest.mark.parametrize("who", ["U0NOPE00001", "U0OKTABOT01", "U0JIRABOT01", "U0DEE000001"])
async def test_only_active_people_can_be_played(console: httpx.AsyncClient, who: str) -> None:
    response = await console.get("/console/api/state", params={"user": who})
    assert response.status_code == 404 and not response.json()["ok"]
    assert (await post(console, "home", user=who)).status_code == 404


# what the person does reaches the bot as Slack sends it


async def test_a_slash_command_arrives_signed_and_its_ack_is_shown(ws, console, stub) -> None:  # type: ignore[no-untyped-def]
    stub.reply = answer({"text": "Looking up *lee*…"})
    response = await post(console, "command", user=HANA, channel=HELPDESK, text="/okta  lookup a<b & c ")
    assert response.json() == {"ok": True}

    [arrival] = stub.arrivals
    assert arrival.signed and arrival.kind == "slash_command"
    fields = arrival.payload
    assert (fields["command"], fields["text"]) == ("/okta", "lookup a&lt;b &amp; c")  # escaped, as Slack sends it
    assert (fields["user_id"], fields["channel_id"], fields["team_id"]) == (HANA, HELPDESK, ws.team_id)
    assert fields["response_url"].startswith(ws.base_url) and fields["trigger_id"]
    [reply] = channel(await state(console, HANA), "helpdesk")["messages"]
    assert reply["text"] == "Looking up *lee*…" and reply["ephemeral"]


async def test_impossible_commands_are_refused_before_the_bot(console, stub) -> None:  # type: ignore[no-untyped-def]
    not_a_command = await post(console, "command", user=HANA, channel=HELPDESK, text="hello")
    not_a_member = await post(console, "command", user=ERIN, channel="C0APPROVAL1", text="/okta approvals")
    malformed = await post(console, "command", user=HANA, channel=HELPDESK)
    assert [r.status_code for r in (not_a_command, not_a_member, malformed)] == [409, 409, 400]
    assert "not a member" in not_a_member.json()["error"] and "text" in malformed.json()["error"]
    assert stub.arrivals == []


CARD = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Lee Locked*"}},
    {"type": "actions", "block_id": "card", "elements": [UNLOCK_BUTTON, MORE_MENU, GROUP_SELECT]},
]


async def test_clicks_and_picks_send_block_actions(ws, slack, console, stub) -> None:  # type: ignore[no-untyped-def]
    posted = await call(ws, slack, "chat.postMessage", channel="#helpdesk", text="Lee", blocks=CARD)
    where = {"user": HANA, "channel": HELPDESK, "ts": posted["ts"], "block_id": "card"}
    for action_id, value in (("okta:unlock", "00ulee"), ("okta:more", "clear"), ("okta:group", "sales")):
        assert (await post(console, "action", action_id=action_id, value=value, **where)).json() == {"ok": True}

    assert all(a.signed and a.kind == "block_actions" for a in stub.arrivals)
    button, overflow, select = (a.payload["actions"][0] for a in stub.arrivals)
    assert (button["action_id"], button["value"], button["block_id"]) == ("okta:unlock", "00ulee", "card")
    assert overflow["selected_option"]["value"] == "clear" and select["selected_option"]["value"] == "sales"
    payload = stub.arrivals[0].payload
    assert payload["user"]["id"] == HANA and payload["container"]["message_ts"] == posted["ts"]
    assert payload["message"]["blocks"][1]["block_id"] == "card" and payload["response_url"].startswith(ws.base_url)


async def test_clicking_what_is_no_longer_there_is_refused(ws, slack, console, stub) -> None:  # type: ignore[no-untyped-def]
    posted = await call(ws, slack, "chat.postMessage", channel="#helpdesk", text="Lee", blocks=CARD)
    await call(ws, slack, "chat.delete", channel=HELPDESK, ts=posted["ts"])
    gone = await post(console, "action", user=HANA, action_id="okta:unlock", channel=HELPDESK, ts=posted["ts"])
    nowhere = await post(console, "action", user=HANA, action_id="okta:unlock")
    assert (gone.status_code, nowhere.status_code) == (409, 409) and stub.arrivals == []


async def test_a_click_on_an_ephemeral_message_says_so(ws, slack, console, stub) -> None:  # type: ignore[no-untyped-def]
    posted = await call(ws, slack, "chat.postEphemeral", channel="#helpdesk", user=HANA, text="Lee", blocks=CARD)
    ts = posted["message_ts"]
    clicked = await post(
        console, "action", user=HANA, action_id="okta:more", value="reset", channel=HELPDESK, ts=ts, ephemeral=True
    )
    assert clicked.json() == {"ok": True}
    assert stub.arrivals[0].payload["container"]["is_ephemeral"] is True
    as_erin = await post(
        console, "action", user=ERIN, action_id="okta:more", value="reset", channel=HELPDESK, ts=ts, ephemeral=True
    )
    assert as_erin.status_code == 409


def opens_modal(ws, slack, view: dict[str, Any]):  # type: ignore[no-untyped-def]
    """A reply to a slash command that opens `view` with its trigger_id, as a bot does, then acks."""

    async def reply(arrival: Arrival) -> Response:
        if arrival.kind == "slash_command":
            await call(ws, slack, "views.open", trigger_id=arrival.payload["trigger_id"], view=view)
        return Response(status_code=200)

    return reply


async def test_a_modal_is_shown_submitted_and_closed_as_slack_does(ws, slack, console, stub) -> None:  # type: ignore[no-untyped-def]
    stub.reply = opens_modal(ws, slack, reason_modal())
    await post(console, "command", user=HANA, channel=HELPDESK, text="/okta suspend alex.kim@acme.example")
    [shown] = (await state(console, HANA))["modals"]
    assert shown["view"]["title"]["text"] == "Why?" and shown["errors"] == {}

    empty = await post(console, "view/submit", user=HANA, view_id=shown["id"], values={})
    assert empty.status_code == 409 and "required" in empty.json()["error"]

    stub.reply = answer({"response_action": "errors", "errors": {"reason": "Say why"}})
    values = {"reason": {"text": "left the company"}}
    assert (await post(console, "view/submit", user=HANA, view_id=shown["id"], values=values)).json()["ok"]
    [refused] = (await state(console, HANA))["modals"]
    assert refused["errors"] == {"reason": "Say why"}

    stub.reply = answer({})
    assert (await post(console, "view/submit", user=HANA, view_id=shown["id"], values=values)).json()["ok"]
    submitted = stub.arrivals[-1].payload
    assert submitted["type"] == "view_submission" and submitted["view"]["callback_id"] == "okta:reason"
    assert submitted["view"]["state"]["values"]["reason"]["text"]["value"] == "left the company"
    assert submitted["view"]["state"]["values"]["group"]["pick"]["selected_option"] is None
    assert (await state(console, HANA))["modals"] == []


async def test_closing_a_modal_tells_the_bot_only_when_it_asked(ws, slack, console, stub) -> None:  # type: ignore[no-untyped-def]
    for notify in (False, True):
        stub.reply = opens_modal(ws, slack, reason_modal(notify_on_close=notify))
        await post(console, "command", user=HANA, channel=HELPDESK, text="/okta suspend alex.kim@acme.example")
        [shown] = (await state(console, HANA))["modals"]
        assert (await post(console, "view/close", user=HANA, view_id=shown["id"])).json() == {"ok": True}
        assert (await state(console, HANA))["modals"] == []
        assert stub.arrivals[-1].kind == ("view_closed" if notify else "slash_command")
    gone = await post(console, "view/close", user=HANA, view_id=shown["id"])
    assert gone.status_code == 404


async def test_opening_the_app_home_sends_app_home_opened(ws, slack, console, stub) -> None:  # type: ignore[no-untyped-def]
    async def publish(arrival: Arrival) -> Response:
        home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}]}
        await call(ws, slack, "views.publish", user_id=arrival.payload["event"]["user"], view=home)
        return Response(status_code=200)

    stub.reply = publish
    assert (await post(console, "home", user=ERIN)).json() == {"ok": True}
    [arrival] = stub.arrivals
    assert arrival.signed and arrival.kind == "event_callback"
    assert arrival.payload["event"]["type"] == "app_home_opened" and arrival.payload["event"]["user"] == ERIN
    home = (await state(console, ERIN))["home"]
    assert home["view"]["blocks"][0]["text"]["text"] == "Hi"
    button = await post(console, "action", user=ERIN, action_id="nope", view_id=home["id"])
    assert button.status_code == 409  # the home view has no such element


async def test_what_slack_would_tell_the_person_when_the_bot_fails(ws, okta_org, slack, stub, bot) -> None:  # type: ignore[no-untyped-def]
    async def fail(_: Arrival) -> Response:
        return JSONResponse({"error": "boom"}, status_code=500)

    stub.reply = fail
    failing = create_console_app(ws, okta_org, bot_events_url=f"{bot.url}/slack/events")
    async with BackgroundServer(failing) as up, httpx.AsyncClient(base_url=up.url) as client:
        failed = await post(client, "command", user=HANA, channel=HELPDESK, text="/okta help")
    assert failed.status_code == 502 and failed.json()["error"] == "dispatch_failed: the app answered HTTP 500"

    nowhere = create_console_app(ws, okta_org, bot_events_url=f"{bot.url}/nothing-here/slack/events")
    async with BackgroundServer(nowhere) as down, httpx.AsyncClient(base_url=down.url) as client:
        missing = await post(client, "command", user=HANA, channel=HELPDESK, text="/okta help")
    assert missing.status_code == 502 and "HTTP 404" in missing.json()["error"]


async def test_by_default_requests_go_to_slack_events_on_the_same_server(ws, slack, stub, okta_org) -> None:  # type: ignore[no-untyped-def]
    """The bot mounts the console at "/" beside its own /slack/events."""
    app = Starlette(routes=[stub.route(), Mount("/", create_console_app(ws, okta_org))])
    async with BackgroundServer(app) as server, httpx.AsyncClient(base_url=server.url) as client:
        assert (await post(client, "command", user=HANA, channel=HELPDESK, text="/okta help")).json()["ok"]
    assert [a.payload["text"] for a in stub.arrivals] == ["help"] and stub.arrivals[0].signed


# the live update stream


async def events(lines: AsyncIterator[str]) -> AsyncIterator[dict[str, Any]]:
    async for line in lines:
        if line.startswith("data: "):
            yield json.loads(line.removeprefix("data: "))


async def test_the_stream_tells_of_changes_the_person_can_see(ws, slack, console) -> None:  # type: ignore[no-untyped-def]
    async with console.stream("GET", "/console/api/stream", params={"user": HANA}) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        assert (await anext(lines)).startswith("retry: ")
        await call(ws, slack, "chat.postEphemeral", channel="#helpdesk", user=ERIN, text="not for hana")
        posted = await call(ws, slack, "chat.postMessage", channel="#helpdesk", text="for everyone")
        first = await asyncio.wait_for(anext(events(lines)), 5)
    assert first == {"kind": "message_posted", "channel": HELPDESK, "ts": posted["ts"], "view_id": None}


async def test_a_stream_ends_when_its_client_goes(ws, okta_org) -> None:  # type: ignore[no-untyped-def]
    """The server can only stop once every response is over: it stops at once, so the stream ended."""
    server = BackgroundServer(create_console_app(ws, okta_org, stream_seconds=600))
    await server.__aenter__()
    async with (
        httpx.AsyncClient(base_url=server.url) as client,
        client.stream("GET", "/console/api/stream", params={"user": HANA}) as stream,
    ):
        assert (await anext(stream.aiter_lines())).startswith("retry: ")
    await asyncio.wait_for(server.stop(), 5)


async def test_a_stream_ends_by_itself_so_shutdown_never_waits_long(ws, okta_org) -> None:  # type: ignore[no-untyped-def]
    app = create_console_app(ws, okta_org, stream_seconds=0.3)
    async with BackgroundServer(app) as server, httpx.AsyncClient(base_url=server.url) as client:
        started = time.monotonic()
        async with client.stream("GET", "/console/api/stream", params={"user": HANA}) as stream:
            body = await asyncio.wait_for(stream.aread(), 5)
        assert body.decode().startswith("retry: ") and time.monotonic() - started < 3
        assert (await client.get("/console/api/stream", params={"user": "U0NOPE00001"})).status_code == 404


# the simulate panel


async def test_simulate_a_lock_out(okta_org, console) -> None:  # type: ignore[no-untyped-def]
    before = len(okta_org.log_events)
    locked = await post(console, "simulate/lockout", login="erin.employee@acme.example", failures=3)
    assert locked.json() == {"ok": True, "login": "erin.employee@acme.example", "status": "LOCKED_OUT", "events": 4}
    assert okta_org.get_user("erin.employee@acme.example").status.value == "LOCKED_OUT"
    written = [(e["eventType"], e["outcome"]["result"]) for e in okta_org.log_events[before:]]
    assert written == [("user.session.start", "FAILURE")] * 3 + [("user.account.lock", "SUCCESS")]

    again = await post(console, "simulate/lockout", login="erin.employee@acme.example")
    unknown = await post(console, "simulate/lockout", login="nobody@acme.example")
    assert again.status_code == 409 and "Okta refuses" in again.json()["error"]
    assert unknown.status_code == 404 and "no user" in unknown.json()["error"]


async def test_simulate_a_burst_of_failed_sign_ins(okta_org, console) -> None:  # type: ignore[no-untyped-def]
    before = len(okta_org.log_events)
    burst = await post(console, "simulate/burst", login="admin@acme.example", count=120, ip="192.0.2.99")
    assert burst.json() == {"ok": True, "login": "admin@acme.example", "events": 120}
    written = okta_org.log_events[before:]
    assert len(written) == 120 and {e["client"]["ipAddress"] for e in written} == {"192.0.2.99"}
    assert {(e["eventType"], e["outcome"]["result"]) for e in written} == {("user.session.start", "FAILURE")}
    too_many = await post(console, "simulate/burst", login="admin@acme.example", count=100_000)
    assert too_many.status_code == 400 and "count" in too_many.json()["error"]


async def test_simulate_answering_a_push(console) -> None:  # type: ignore[no-untyped-def]
    answered = await post(console, "simulate/push", login="erin.employee@acme.example", result="REJECTED")
    assert answered.json() == {
        "ok": True,
        "login": "erin.employee@acme.example",
        "result": "REJECTED",
        "answered": "next",
    }
    wrong = await post(console, "simulate/push", login="erin.employee@acme.example", result="MAYBE")
    assert wrong.status_code == 400
