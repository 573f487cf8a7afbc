"""Requests built as Slack sends them: verified by slack_sdk's SignatureVerifier and received by a real
slack_bolt AsyncApp (served through Bolt's Starlette adapter) whose Web API is the fake Slack."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.server import BackgroundServer
from slacksim import SlackSigner, SlackWorkspace, demo_workspace

HANA, ARJUN, GARY, DEE, LEE = "U0HANA00001", "U0ARJUN0001", "U0GARY00001", "U0DEE000001", "U0LEE000001"
BUTTONS: list[dict[str, Any]] = [
    {
        "type": "actions",
        "block_id": "decision",
        "elements": [
            {"type": "button", "action_id": "approve", "text": {"type": "plain_text", "text": "Approve"}, "value": "r1"}
        ],
    }
]
UNLOCK_MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "unlock",
    "notify_on_close": True,
    "title": {"type": "plain_text", "text": "Unlock a user"},
    "submit": {"type": "plain_text", "text": "Unlock"},
    "blocks": [
        {
            "type": "input",
            "block_id": "who",
            "label": {"type": "plain_text", "text": "Email"},
            "element": {"type": "plain_text_input", "action_id": "email"},
        },
        {
            "type": "input",
            "block_id": "why",
            "optional": True,
            "label": {"type": "plain_text", "text": "Reason"},
            "element": {"type": "plain_text_input", "action_id": "reason"},
        },
    ],
}
HOME: dict[str, Any] = {
    "type": "home",
    "blocks": [
        {
            "type": "section",
            "block_id": "me",
            "text": {"type": "mrkdwn", "text": "Your Okta account"},
            "accessory": {
                "type": "overflow",
                "action_id": "self_service",
                "options": [
                    {"text": {"type": "plain_text", "text": "Unlock me"}, "value": "unlock"},
                    {"text": {"type": "plain_text", "text": "Reset MFA"}, "value": "reset_mfa"},
                ],
            },
        }
    ],
}


class Bolt:
    """A tiny Bolt app on the fake Slack: its listeners keep the bodies they receive."""

    def __init__(self, ws: SlackWorkspace, slack_url: str) -> None:
        self.seen: list[dict[str, Any]] = []
        client = AsyncWebClient(token=ws.bot_token, base_url=f"{slack_url}/api/")
        app = AsyncApp(client=client, signing_secret=ws.signing_secret)
        app.command("/okta")(self.okta)
        app.action("approve")(self.approve)
        app.action("self_service")(self.keep)
        app.view_submission("unlock")(self.unlock)
        app.view_closed("unlock")(self.keep)
        app.event("app_home_opened")(self.home_opened)
        handler = AsyncSlackRequestHandler(app)
        self.asgi = Starlette(routes=[Route("/slack/events", handler.handle, methods=["POST"])])

    async def okta(self, ack: Any, body: dict[str, Any], respond: Any, client: AsyncWebClient) -> None:
        self.seen.append(body)
        if body["text"] == "help":
            await ack("Usage: /okta unlock")
            return
        await ack()
        if body["text"] == "unlock":
            await client.views_open(trigger_id=body["trigger_id"], view=UNLOCK_MODAL)
            return
        await respond(f"Asking for approval: {body['text']}")
        await client.chat_postMessage(channel="#approvals", text=f"Approve {body['text']}?", blocks=BUTTONS)

    async def approve(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        self.seen.append(body)
        await ack()
        await respond(text=f"Approved by <@{body['user']['id']}>", replace_original=True)

    async def unlock(self, ack: Any, body: dict[str, Any]) -> None:
        self.seen.append(body)
        email = body["view"]["state"]["values"]["who"]["email"]["value"]
        if not email.endswith("@acme.example"):
            await ack(response_action="errors", errors={"who": "Use an @acme.example address"})
            return
        await ack()

    async def keep(self, ack: Any, body: dict[str, Any]) -> None:
        self.seen.append(body)
        await ack()

    async def home_opened(self, event: dict[str, Any], client: AsyncWebClient) -> None:
        self.seen.append(event)
        await client.views_publish(user_id=event["user"], view=HOME)


@pytest.fixture
async def bolt(ws: SlackWorkspace, slack: BackgroundServer) -> AsyncIterator[tuple[Bolt, str]]:
    app = Bolt(ws, slack.url)
    async with BackgroundServer(app.asgi) as server:
        yield app, f"{server.url}/slack/events"


def test_signatures_verify_with_slack_sdk() -> None:
    ws = demo_workspace()
    ws.base_url = "http://127.0.0.1:9"  # response_urls need a home; nothing is sent here
    verifier = SignatureVerifier(ws.signing_secret)
    request = ws.slash_command(HANA, "unlock lee.locked@acme.example")
    assert verifier.is_valid_request(request.body, request.headers)
    assert request.headers["X-Slack-Signature"] == verifier.generate_signature(
        timestamp=request.headers["X-Slack-Request-Timestamp"], body=request.body
    )
    stale = request.resigned(ws.signer, timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(stale.body, stale.headers)
    forged = request.resigned(SlackSigner("not-the-secret"))
    assert not verifier.is_valid_request(forged.body, forged.headers)
    assert SignatureVerifier("s").is_valid_request("a=b", SlackSigner("s").headers("a=b"))


def test_slash_command_carries_slacks_fields() -> None:
    ws = demo_workspace()
    ws.base_url = "http://127.0.0.1:9"
    request = ws.slash_command(HANA, "unlock lee.locked@acme.example")
    fields = {k: v[0] for k, v in parse_qs(request.body, keep_blank_values=True).items()}
    assert " ".join(fields) == (
        "token team_id team_domain channel_id channel_name user_id user_name command text"
        " api_app_id is_enterprise_install response_url trigger_id"
    )
    assert fields == request.payload
    assert fields["channel_id"] == "C0HELPDESK1" and fields["channel_name"] == "helpdesk"
    assert fields["user_name"] == "hana.helpdesk" and fields["is_enterprise_install"] == "false"
    assert fields["response_url"].startswith("http://127.0.0.1:9/response/")
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    in_dm = ws.slash_command(LEE, "unlock me", channel=ws.dm_channel_id(LEE))
    assert in_dm.payload["channel_name"] == "directmessage"


async def test_builders_refuse_what_a_user_cannot_do(ws: SlackWorkspace, slack: BackgroundServer) -> None:
    client = AsyncWebClient(token=ws.bot_token, base_url=f"{slack.url}/api/")
    with pytest.raises(ValueError, match="not a member"):
        ws.slash_command(GARY, "x", channel="#approvals")
    for impossible in (DEE, "U0JIRABOT01", "U0NOPE00001"):
        with pytest.raises(ValueError, match="not an active human"):
            ws.slash_command(impossible, "x")
    posted = await client.chat_postMessage(channel="#approvals", text="Approve?", blocks=BUTTONS)
    message = ws.message("approvals", posted["ts"])
    with pytest.raises(ValueError, match="no interactive element 'deny'"):
        ws.block_action(ARJUN, "deny", message=message)
    with pytest.raises(ValueError, match="carries value 'r1'"):
        ws.block_action(ARJUN, "approve", "r2", message=message)
    with pytest.raises(ValueError, match="exactly one"):
        ws.block_action(ARJUN, "approve")
    await client.chat_delete(channel="C0APPROVAL1", ts=posted["ts"])
    with pytest.raises(ValueError, match="is gone"):
        ws.block_action(ARJUN, "approve", message=message)
    await client.chat_postEphemeral(channel="#approvals", user=HANA, text="psst", blocks=BUTTONS)
    [ephemeral] = ws.ephemerals(HANA)
    with pytest.raises(ValueError, match="only U0HANA00001 sees"):
        ws.block_action(ARJUN, "approve", message=ephemeral)
    quiet = {**UNLOCK_MODAL, "notify_on_close": False}
    await client.views_open(trigger_id=ws.slash_command(HANA, "x").payload["trigger_id"], view=quiet)
    [modal] = ws.views
    with pytest.raises(ValueError, match="'who' is required"):
        ws.view_submission(HANA, modal, {"why": {"reason": "forgot"}})
    with pytest.raises(ValueError, match="no input blocks"):
        ws.view_submission(HANA, modal, {"nope": {"x": "y"}})
    with pytest.raises(ValueError, match="notify_on_close false"):
        ws.view_closed(HANA, modal)
    with pytest.raises(ValueError, match="is not open for U0LEE000001"):
        ws.view_submission(LEE, modal, {"who": {"email": "lee.locked@acme.example"}})


async def test_bolt_receives_a_slash_command_and_a_button_click(ws: SlackWorkspace, bolt: tuple[Bolt, str]) -> None:
    app, url = bolt
    command = ws.slash_command(HANA, "unlock lee.locked@acme.example")
    assert (await ws.send(url, command)).status_code == 200
    posted = await ws.wait_for(lambda c: c.method == "chat.postMessage")
    [body] = app.seen
    assert {k: body[k] for k in command.payload} == command.payload  # Bolt parsed exactly what Slack sends
    reply = await ws.wait_for_message(lambda m: m.ephemeral_to == HANA)
    assert reply.text == "Asking for approval: unlock lee.locked@acme.example"
    assert (reply.channel, reply.via) == ("C0HELPDESK1", "response_url")

    click = ws.block_action(ARJUN, "approve", message=ws.message("approvals", posted.result["ts"]))
    assert (await ws.send(url, click)).status_code == 200
    await ws.wait_for(lambda c: c.method == "response_url" and c.args.get("replace_original") is True)
    action_body = app.seen[-1]
    action = action_body["actions"][0]
    assert (action["type"], action["action_id"], action["block_id"], action["value"]) == (
        "button",
        "approve",
        "decision",
        "r1",
    )
    assert action["text"] == {"type": "plain_text", "text": "Approve"} and action["action_ts"]
    container = action_body["container"]
    assert (container["type"], container["message_ts"], container["channel_id"]) == (
        "message",
        posted.result["ts"],
        "C0APPROVAL1",
    )
    assert container["is_ephemeral"] is False
    assert action_body["message"]["ts"] == posted.result["ts"] and action_body["user"]["id"] == ARJUN
    [approved] = ws.messages("approvals")
    assert (approved.text, approved.blocks) == (f"Approved by <@{ARJUN}>", [])


async def test_an_acknowledgement_with_text_is_shown_to_the_user(ws: SlackWorkspace, bolt: tuple[Bolt, str]) -> None:
    _, url = bolt
    await ws.send(url, ws.slash_command(HANA, "help"))
    [shown] = ws.ephemerals(HANA)
    assert (shown.text, shown.via) == ("Usage: /okta unlock", "ack")


async def test_modal_submission_errors_then_closes(ws: SlackWorkspace, bolt: tuple[Bolt, str]) -> None:
    app, url = bolt
    await ws.send(url, ws.slash_command(HANA, "unlock"))
    opened = await ws.wait_for(lambda c: c.method == "views.open")
    assert opened.ok, opened.result
    [modal] = ws.views
    assert modal.callback_id == "unlock" and not modal.closed

    await ws.send(url, ws.view_submission(HANA, modal, {"who": {"email": "lee@gmail.com"}}))
    assert ws.view(modal.id).errors == {"who": "Use an @acme.example address"} and not ws.view(modal.id).closed
    await ws.send(url, ws.view_submission(HANA, modal, {"who": {"email": "lee.locked@acme.example"}}))
    assert ws.view(modal.id).closed
    values = app.seen[-1]["view"]["state"]["values"]
    assert values == {
        "who": {"email": {"type": "plain_text_input", "value": "lee.locked@acme.example"}},
        "why": {"reason": {"type": "plain_text_input", "value": None}},
    }


async def test_closing_a_modal_that_asked_to_be_told(ws: SlackWorkspace, bolt: tuple[Bolt, str]) -> None:
    app, url = bolt
    await ws.send(url, ws.slash_command(HANA, "unlock"))
    await ws.wait_for(lambda c: c.method == "views.open")
    [modal] = ws.views
    assert (await ws.send(url, ws.view_closed(HANA, modal))).status_code == 200
    assert app.seen[-1]["type"] == "view_closed" and ws.view(modal.id).closed


async def test_app_home_event_and_overflow_click(ws: SlackWorkspace, bolt: tuple[Bolt, str]) -> None:
    app, url = bolt
    assert (await ws.send(url, ws.event(LEE, {"type": "app_home_opened"}))).status_code == 200
    await ws.wait_for(lambda c: c.method == "views.publish")
    event = app.seen[-1]
    assert (event["type"], event["user"], event["channel"], event["tab"]) == (
        "app_home_opened",
        LEE,
        "D0LEE000001",
        "home",
    )
    assert event["event_ts"] and "view" not in event  # nothing was published before this first visit
    home = ws.home(LEE)
    assert home is not None
    await ws.send(url, ws.block_action(LEE, "self_service", "unlock", view=home))
    body = app.seen[-1]
    assert body["container"] == {"type": "view", "view_id": home.id} and "response_url" not in body
    assert body["actions"][0]["selected_option"]["value"] == "unlock" and body["view"]["type"] == "home"
    with pytest.raises(ValueError, match="no option 'delete_me'"):
        ws.block_action(LEE, "self_service", "delete_me", view=home)


async def test_bolt_refuses_forged_and_stale_requests(ws: SlackWorkspace, bolt: tuple[Bolt, str]) -> None:
    app, url = bolt
    command = ws.slash_command(HANA, "help")
    forged = await ws.send(url, command.resigned(SlackSigner("guessed-secret")))
    stale = await ws.send(url, command.resigned(ws.signer, timestamp=int(time.time()) - 6 * 60))
    assert (forged.status_code, stale.status_code) == (401, 401)
    assert app.seen == [] and ws.ephemerals(HANA) == []
    check = ws.url_verification()
    answer = await ws.send(url, check)
    assert answer.status_code == 200 and answer.json() == {"challenge": check.payload["challenge"]}


async def test_view_submission_response_actions(ws: SlackWorkspace, slack: BackgroundServer) -> None:
    """push, update and clear, answered by a plain app that acknowledges with fixed bodies."""
    confirm = {**UNLOCK_MODAL, "callback_id": "confirm", "blocks": []}
    answers = [
        {"response_action": "push", "view": confirm},
        {"response_action": "update", "view": {**confirm, "callback_id": "confirmed"}},
        {"response_action": "clear"},
    ]

    async def acknowledge(_: Request) -> JSONResponse:
        return JSONResponse(answers.pop(0))

    client = AsyncWebClient(token=ws.bot_token, base_url=f"{slack.url}/api/")
    trigger = ws.slash_command(HANA, "unlock").payload["trigger_id"]
    root = (await client.views_open(trigger_id=trigger, view=UNLOCK_MODAL))["view"]
    async with BackgroundServer(Starlette(routes=[Route("/", acknowledge, methods=["POST"])])) as app:
        await ws.send(app.url, ws.view_submission(HANA, ws.view(root["id"]), {"who": {"email": "lee@acme.example"}}))
        first, pushed = ws.views
        assert (first.id, first.closed, pushed.view["previous_view_id"], pushed.callback_id) == (
            root["id"],
            False,
            root["id"],
            "confirm",
        )
        await ws.send(app.url, ws.view_submission(HANA, pushed))
        assert ws.view(pushed.id).callback_id == "confirmed" and not ws.view(pushed.id).closed
        await ws.send(app.url, ws.view_submission(HANA, ws.view(pushed.id)))
    assert [v.closed for v in ws.views] == [True, True]
