"""The stand-in's rate limits, response_url and trigger lifetimes and injected faults, on its own
clock: tests advance it instead of sleeping."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.server import BackgroundServer
from slacksim import METHOD_ALLOWANCES, SlackWorkspace

HANA, LEE = "U0HANA00001", "U0LEE000001"
HOME = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]}


@pytest.fixture
def client(ws: SlackWorkspace, slack: BackgroundServer) -> AsyncWebClient:
    """No retry handler: a 429 reaches the test."""
    return AsyncWebClient(token=ws.bot_token, base_url=f"{slack.url}/api/")


async def limited(call: Any) -> int:
    """The Retry-After of a call refused with 429."""
    with pytest.raises(SlackApiError) as refused:
        await call
    response = refused.value.response
    assert (response.status_code, response.data["error"]) == (429, "ratelimited")
    return int(response.headers["retry-after"])


async def test_post_message_allows_a_burst_of_five_then_one_a_second_per_channel(
    ws: SlackWorkspace, client: AsyncWebClient
) -> None:
    for n in range(5):
        await client.chat_postMessage(channel="#approvals", text=f"burst {n}")
    assert await limited(client.chat_postMessage(channel="#approvals", text="sixth")) == 1
    await client.chat_postMessage(channel="#helpdesk", text="another channel has its own allowance")
    ws.clock.advance(1.0)
    await client.chat_postMessage(channel="#approvals", text="a second later")
    assert await limited(client.chat_postMessage(channel="C0APPROVAL1", text="by id: the same channel")) == 1
    ws.clock.advance(5.0)
    for n in range(5):  # refilled, never beyond the burst
        await client.chat_postMessage(channel="#approvals", text=f"again {n}")
    assert await limited(client.chat_postMessage(channel="#approvals", text="x")) == 1
    assert [m.text for m in ws.messages("approvals")][-1] == "again 4"
    assert sum(c.status == 429 for c in ws.calls) == 3  # refused calls are recorded, and posted nothing


@pytest.mark.parametrize(
    ("method", "call", "per_minute"),
    [
        ("usergroups.list", lambda c: c.usergroups_list(), 20),  # Tier 2
        ("users.lookupByEmail", lambda c: c.users_lookupByEmail(email="hana.helpdesk@acme.example"), 50),  # Tier 3
        ("conversations.info", lambda c: c.conversations_info(channel="C0APPROVAL1"), 50),  # Tier 3
        ("users.info", lambda c: c.users_info(user=HANA), 100),  # Tier 4
        ("views.publish", lambda c: c.views_publish(user_id=LEE, view=HOME), 100),  # Tier 4
    ],
)
async def test_tiers_allow_their_minute_then_answer_429_with_retry_after(
    ws: SlackWorkspace, client: AsyncWebClient, method: str, call: Any, per_minute: int
) -> None:
    assert METHOD_ALLOWANCES[method].per_minute == per_minute
    ws.clock.freeze()  # no refill while the minute's calls are made, however slow the machine
    for _ in range(per_minute):
        await call(client)
    retry_after = await limited(call(client))
    assert retry_after == -(-60 // per_minute)  # one call's worth of the minute, in whole seconds
    ws.clock.advance(retry_after)
    assert (await call(client))["ok"]


async def test_the_client_retry_handler_waits_out_a_real_limit(ws: SlackWorkspace, slack: BackgroundServer) -> None:
    retrying = AsyncWebClient(
        token=ws.bot_token, base_url=f"{slack.url}/api/", retry_handlers=[AsyncRateLimitErrorRetryHandler()]
    )
    for n in range(6):  # the sixth waits Retry-After (1 s, real time: the clock runs as well)
        await retrying.chat_postMessage(channel="#approvals", text=f"paced {n}")
    assert [c.status for c in ws.calls] == [200] * 5 + [429, 200]
    assert len(ws.messages("approvals")) == 6


async def test_rate_limits_can_be_turned_off_for_a_workspace(ws: SlackWorkspace, client: AsyncWebClient) -> None:
    ws.rate_limits.enabled = False
    for n in range(30):
        await client.chat_postMessage(channel="#approvals", text=f"burst {n}")
    assert len(ws.messages("approvals")) == 30


async def test_response_url_five_uses_within_30_minutes(ws: SlackWorkspace, slack: BackgroundServer) -> None:
    used = AsyncWebhookClient(ws.slash_command(HANA, "lookup lee").payload["response_url"])
    for n in range(5):
        assert (await used.send(text=f"use {n}")).status_code == 200
    sixth = await used.send(text="sixth")
    assert (sixth.status_code, sixth.body) == (404, "used_url")

    aged = AsyncWebhookClient(ws.slash_command(HANA, "lookup lee").payload["response_url"])
    ws.clock.advance(29 * 60)
    assert (await aged.send(text="within 30 minutes")).status_code == 200
    ws.clock.advance(60 + 1)
    late = await aged.send(text="too late")
    assert (late.status_code, late.body) == (404, "expired_url")


async def test_triggers_expire_after_3_seconds_on_the_clock(ws: SlackWorkspace, client: AsyncWebClient) -> None:
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Hi"}, "blocks": HOME["blocks"]}
    trigger = ws.slash_command(HANA, "x").payload["trigger_id"]
    ws.clock.advance(3.5)
    with pytest.raises(SlackApiError) as expired:
        await client.views_open(trigger_id=trigger, view=modal)
    assert expired.value.response.data["error"] == "expired_trigger_id"


async def test_injected_faults(ws: SlackWorkspace, client: AsyncWebClient, slack: BackgroundServer) -> None:
    ws.fail_next("chat.postMessage", error="channel_not_found")
    with pytest.raises(SlackApiError) as missing:
        await client.chat_postMessage(channel="#helpdesk", text="x")
    assert (missing.value.response.status_code, missing.value.response.data["error"]) == (200, "channel_not_found")

    ws.fail_next("users.info", status=503)
    with pytest.raises(SlackApiError) as down:
        await client.users_info(user=HANA)
    assert down.value.response.status_code == 503

    # a timeout: the answer comes after the client gave up, but the message was posted all the same
    ws.fail_next("chat.postMessage", delay=0.5)
    async with httpx.AsyncClient(base_url=f"{slack.url}/api/", timeout=0.2) as impatient:
        with pytest.raises(httpx.TimeoutException):
            auth = {"Authorization": f"Bearer {ws.bot_token}"}
            await impatient.post(
                "chat.postMessage", json={"channel": "#helpdesk", "text": "posted, unanswered"}, headers=auth
            )
    posted = await ws.wait_for_message(lambda m: m.text == "posted, unanswered")
    assert posted.channel == ws.channel_id("helpdesk")

    ws.fail_next("response_url", status=500)
    respond = AsyncWebhookClient(ws.slash_command(HANA, "lookup lee").payload["response_url"])
    assert (await respond.send(text="x")).status_code == 500
    assert (await respond.send(text="x")).status_code == 200
