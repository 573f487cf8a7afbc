"""Break-glass played from the sandbox console on the sandbox's policy (policy/example.yaml opts
Engineering in for the security role): Sam, on call, takes it; Beatriz, an approver, sees the
announcement in #security-alerts and reviews it from there; all through the console's own API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.server import BackgroundServer
from console import create_console_app
from tests.chatops_support import BEATRIZ, SAM, run_chatops


@pytest.fixture
async def console(ws, slack, okta_org, okta, redis) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    ws.rate_limits.enabled = False  # the announcement and DMs in quick succession; pacing is not under test
    async for chatops in run_chatops(ws=ws, slack_url=slack.url, org=okta_org, okta=okta, redis=redis):
        app = create_console_app(ws, okta_org, bot_events_url=chatops.url)
        async with BackgroundServer(app) as server, httpx.AsyncClient(base_url=server.url) as client:
            yield client


async def security_alerts(console: httpx.AsyncClient, user: str) -> list[dict[str, Any]]:
    """The messages of #security-alerts as the console shows them to `user`."""
    state = (await console.get("/console/api/state", params={"user": user})).json()
    return next(c for c in state["channels"] if c["name"] == "security-alerts")["messages"]


async def test_the_on_call_breaks_glass_and_an_approver_reviews_it_in_the_console(ws, console: httpx.AsyncClient) -> None:  # type: ignore[no-untyped-def]
    typed = {"user": SAM, "channel": ws.channel_id("helpdesk"), "text": "/okta break-glass Engineering for 2m INC-9 demo"}
    assert (await console.post("/console/api/command", json=typed)).json() == {"ok": True}
    channel = ws.channel_id("security-alerts")
    posted = await ws.wait_for_message(lambda m: m.channel == channel and "*Break-glass*" in m.text)
    [shown] = [m for m in await security_alerts(console, BEATRIZ) if m["ts"] == posted.ts]
    assert "<!here>" in shown["text"] and shown["blocks"][0]["accessory"]["action_id"] == "access:review"

    click = {"user": BEATRIZ, "action_id": "access:review", "channel": channel, "ts": posted.ts}
    assert (await console.post("/console/api/action", json=click)).json() == {"ok": True}
    await ws.wait_for_message(lambda m: m.ts == posted.ts and "Reviewed by" in m.text)
    [reviewed] = [m for m in await security_alerts(console, BEATRIZ) if m["ts"] == posted.ts]
    assert f"Reviewed by <@{BEATRIZ}>" in reviewed["text"] and "accessory" not in reviewed["blocks"][0]
