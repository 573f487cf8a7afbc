"""The Slack stand-in refuses what Slack refuses: every documented Block Kit limit, over the Web API
(chat.postMessage, chat.postEphemeral, chat.update, views.*) and response_urls, with Slack's answers."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.server import BackgroundServer
from slacksim import BLOCK_KIT_LIMITS, CHECKED_PAYLOADS, SlackWorkspace

HANA, LEE = "U0HANA00001", "U0LEE000001"
Blocks = list[dict[str, Any]]


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def button(**fields: Any) -> dict[str, Any]:
    return {"type": "button", "action_id": "go", "text": plain("Go"), "value": "v", **fields}


def confirm(**fields: Any) -> dict[str, Any]:
    return {
        "title": plain("Sure?"),
        "text": mrkdwn("It cannot be undone."),
        "confirm": plain("Yes"),
        "deny": plain("No"),
        **fields,
    }


def options(n: int, text: str = "option", value: str = "v") -> list[dict[str, Any]]:
    return [{"text": plain(f"{text}"), "value": f"{value}{i}"} for i in range(n)]


def select(**fields: Any) -> dict[str, Any]:
    return {"type": "static_select", "action_id": "pick", "placeholder": plain("Pick"), "options": options(3), **fields}


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


def section(text: str = "hello", **fields: Any) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text), **fields}


def modal(**fields: Any) -> dict[str, Any]:
    return {"type": "modal", "title": plain("Request"), "blocks": [section()], **fields}


# (limit key, the largest blocks Slack accepts, the same one character or item over, where Slack points)
MESSAGE_CASES: list[tuple[str, Callable[[int], Blocks], str]] = [
    ("section.text", lambda n: [section("x" * n)], "/blocks/0/text/text"),
    ("section.fields", lambda n: [{"type": "section", "fields": [mrkdwn("f")] * n}], "/blocks/0/fields"),
    ("section.field", lambda n: [{"type": "section", "fields": [mrkdwn("x" * n)]}], "/blocks/0/fields/0/text"),
    ("header.text", lambda n: [{"type": "header", "text": plain("x" * n)}], "/blocks/0/text/text"),
    ("context.elements", lambda n: [{"type": "context", "elements": [mrkdwn("c")] * n}], "/blocks/0/elements"),
    ("actions.elements", lambda n: [actions(*(button(action_id=f"a{i}") for i in range(n)))], "/blocks/0/elements"),
    ("button.text", lambda n: [actions(button(text=plain("x" * n)))], "/blocks/0/elements/0/text/text"),
    ("button.value", lambda n: [actions(button(value="x" * n))], "/blocks/0/elements/0/value"),
    ("button.url", lambda n: [actions(button(url="https://e.example/" + "x" * (n - 18)))], "/blocks/0/elements/0/url"),
    ("action_id", lambda n: [actions(button(action_id="x" * n))], "/blocks/0/elements/0/action_id"),
    ("block_id", lambda n: [section(block_id="x" * n)], "/blocks/0/block_id"),
    (
        "confirm.title",
        lambda n: [actions(button(confirm=confirm(title=plain("x" * n))))],
        "/blocks/0/elements/0/confirm/title/text",
    ),
    (
        "confirm.text",
        lambda n: [actions(button(confirm=confirm(text=mrkdwn("x" * n))))],
        "/blocks/0/elements/0/confirm/text/text",
    ),
    (
        "confirm.confirm",
        lambda n: [actions(button(confirm=confirm(confirm=plain("x" * n))))],
        "/blocks/0/elements/0/confirm/confirm/text",
    ),
    (
        "confirm.deny",
        lambda n: [actions(button(confirm=confirm(deny=plain("x" * n))))],
        "/blocks/0/elements/0/confirm/deny/text",
    ),
    ("static_select.options", lambda n: [actions(select(options=options(n)))], "/blocks/0/elements/0/options"),
    (
        "option.text",
        lambda n: [actions(select(options=options(1, "x" * n)))],
        "/blocks/0/elements/0/options/0/text/text",
    ),
    (
        "option.value",
        lambda n: [actions(select(options=options(1, value="x" * (n - 1))))],
        "/blocks/0/elements/0/options/0/value",
    ),
    ("message.blocks", lambda n: [section()] * n, "/blocks"),
]
VIEW_CASES: list[tuple[str, Callable[[int], dict[str, Any]], str]] = [
    ("view.blocks", lambda n: modal(blocks=[section()] * n), "/view/blocks"),
    ("modal.title", lambda n: modal(title=plain("x" * n)), "/view/title/text"),
    ("modal.submit", lambda n: modal(submit=plain("x" * n)), "/view/submit/text"),
    ("modal.close", lambda n: modal(close=plain("x" * n)), "/view/close/text"),
    ("view.private_metadata", lambda n: modal(private_metadata="x" * n), "/view/private_metadata"),
    ("view.callback_id", lambda n: modal(callback_id="x" * n), "/view/callback_id"),
    (
        "plain_text_input.max_length",
        lambda n: modal(
            submit=plain("Send"),
            blocks=[{"type": "input", "label": plain("Why"), "element": {"type": "plain_text_input", "max_length": n}}],
        ),
        "/view/blocks/0/element/max_length",
    ),
]


@pytest.fixture
def client(ws: SlackWorkspace, slack: BackgroundServer) -> AsyncWebClient:
    return AsyncWebClient(token=ws.bot_token, base_url=f"{slack.url}/api/")


async def refusal(call: Any) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as refused:
        await call
    data: dict[str, Any] = refused.value.response.data
    return data


def test_the_table_holds_the_documented_limits() -> None:
    documented = {
        "section.text": 3000, "section.fields": 10, "section.field": 2000, "header.text": 150,
        "context.elements": 10, "actions.elements": 25, "button.text": 75, "button.value": 2000,
        "button.url": 3000, "action_id": 255, "block_id": 255, "confirm.title": 100, "confirm.text": 300,
        "confirm.confirm": 30, "confirm.deny": 30, "static_select.options": 100, "option.text": 75,
        "option.value": 150, "message.blocks": 50, "view.blocks": 100, "modal.title": 24, "modal.submit": 24,
        "modal.close": 24, "view.private_metadata": 3000, "view.callback_id": 255,
        "plain_text_input.max_length": 3000, "message.text": 40000,
    }  # fmt: skip
    assert {key: BLOCK_KIT_LIMITS[key] for key in documented} == documented


@pytest.mark.parametrize(("key", "build", "pointer"), MESSAGE_CASES, ids=[c[0] for c in MESSAGE_CASES])
async def test_a_message_at_the_limit_passes_and_one_over_is_refused(
    ws: SlackWorkspace, client: AsyncWebClient, key: str, build: Callable[[int], Blocks], pointer: str
) -> None:
    ws.rate_limits.enabled = False  # one channel, many posts: the burst is the point here
    limit = BLOCK_KIT_LIMITS[key]
    await client.chat_postMessage(channel="#helpdesk", text="at the limit", blocks=build(limit))
    refused = await refusal(client.chat_postMessage(channel="#helpdesk", text="over", blocks=build(limit + 1)))
    assert refused["error"] == "invalid_blocks"
    [problem] = [p for p in refused["errors"] if pointer in p]
    assert problem.endswith(f"[json-pointer:{pointer}]")
    assert f"[ERROR] {problem}" in refused["response_metadata"]["messages"]
    # the same blocks by every other way a message reaches Slack
    ephemeral = client.chat_postEphemeral(channel="#helpdesk", user=HANA, text="over", blocks=build(limit + 1))
    assert (await refusal(ephemeral))["error"] == "invalid_blocks"
    posted = await client.chat_postMessage(channel="#helpdesk", text="fine")
    update = client.chat_update(channel=posted["channel"], ts=posted["ts"], text="over", blocks=build(limit + 1))
    assert (await refusal(update))["error"] == "invalid_blocks"
    respond = AsyncWebhookClient(ws.slash_command(HANA, "lookup lee").payload["response_url"])
    answered = await respond.send(text="over", blocks=build(limit + 1))
    assert (answered.status_code, answered.body) == (400, "invalid_blocks")
    assert (await respond.send(text="at the limit", blocks=build(limit))).status_code == 200


@pytest.mark.parametrize(("key", "build", "pointer"), VIEW_CASES, ids=[c[0] for c in VIEW_CASES])
async def test_a_view_at_the_limit_opens_and_one_over_is_refused(
    ws: SlackWorkspace, client: AsyncWebClient, key: str, build: Callable[[int], dict[str, Any]], pointer: str
) -> None:
    limit = BLOCK_KIT_LIMITS[key]
    opened = await client.views_open(trigger_id=ws.slash_command(HANA, "x").payload["trigger_id"], view=build(limit))
    trigger = ws.slash_command(HANA, "x").payload["trigger_id"]
    refused = await refusal(client.views_open(trigger_id=trigger, view=build(limit + 1)))
    assert refused["error"] == "invalid_arguments"
    assert f"[json-pointer:{pointer}]" in refused["response_metadata"]["messages"][0]
    update = client.views_update(view_id=opened["view"]["id"], view=build(limit + 1))
    assert (await refusal(update))["error"] == "invalid_arguments"
    push = client.views_push(trigger_id=ws.slash_command(HANA, "x").payload["trigger_id"], view=build(limit + 1))
    assert (await refusal(push))["error"] == "invalid_arguments"


async def test_home_tabs_hold_100_blocks(client: AsyncWebClient) -> None:
    await client.views_publish(user_id=LEE, view={"type": "home", "blocks": [section()] * 100})
    refused = await refusal(client.views_publish(user_id=LEE, view={"type": "home", "blocks": [section()] * 101}))
    assert refused["response_metadata"]["messages"] == [
        "[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]"
    ]


async def test_message_text_beyond_40000_characters_is_msg_too_long(ws: SlackWorkspace, client: AsyncWebClient) -> None:
    await client.chat_postMessage(channel="#helpdesk", text="x" * 40_000)
    assert (await refusal(client.chat_postMessage(channel="#helpdesk", text="x" * 40_001)))["error"] == "msg_too_long"
    respond = AsyncWebhookClient(ws.slash_command(HANA, "groups lee").payload["response_url"])
    answered = await respond.send(text="x" * 40_001)
    assert (answered.status_code, answered.body) == (400, "msg_too_long")


async def test_shapes_slack_insists_on(client: AsyncWebClient) -> None:
    bad: Blocks = [
        {"type": "section"},
        {"type": "header", "text": mrkdwn("*bold*")},
        actions(button(style="warning"), button()),
        actions(select(option_groups=[{"label": plain("g"), "options": options(1)}])),
        {"type": "context", "elements": []},
        section(block_id="same"),
        section(block_id="same"),
        {"type": "image", "image_url": "https://e.example/i.png"},
        actions({"type": "overflow", "action_id": "more", "options": options(6)}),
        actions({"type": "carousel"}),
    ]
    refused = await refusal(client.chat_postMessage(channel="#helpdesk", text="x", blocks=bad))
    assert refused["errors"] == [
        "must provide text or fields [json-pointer:/blocks/0]",
        "must be plain_text [json-pointer:/blocks/1/text/type]",
        "must be primary or danger [json-pointer:/blocks/2/elements/0/style]",
        "duplicate action_id: go [json-pointer:/blocks/2/elements/1/action_id]",
        "must provide exactly one of options or option_groups [json-pointer:/blocks/3/elements/0]",
        "must provide a non-empty array [json-pointer:/blocks/4/elements]",
        "duplicate block_id: same [json-pointer:/blocks/6/block_id]",
        "missing required field: alt_text [json-pointer:/blocks/7]",
        "no more than 5 items allowed [json-pointer:/blocks/8/elements/0/options]",
        "unsupported type: carousel [json-pointer:/blocks/9/elements/0/type]",
    ]


async def test_attachments_blocks_follow_the_same_rules(client: AsyncWebClient) -> None:
    attachments = [{"color": "#ff0000", "blocks": [section("x" * 3001)]}]
    refused = await refusal(client.chat_postMessage(channel="#helpdesk", text="x", attachments=attachments))
    assert refused["errors"] == ["must be less than 3001 characters [json-pointer:/attachments/0/blocks/0/text/text]"]


async def test_every_check_is_counted(ws: SlackWorkspace, client: AsyncWebClient) -> None:
    before = copy.copy(CHECKED_PAYLOADS)
    await client.chat_postMessage(channel="#helpdesk", text="x", blocks=[section()])
    await client.views_publish(user_id=LEE, view={"type": "home", "blocks": [section()]})
    assert (CHECKED_PAYLOADS["message"] - before["message"], CHECKED_PAYLOADS["view"] - before["view"]) == (1, 1)
