"""The whole life of a short time-bound grant (`for 2m`) played from the sandbox console over its HTTP
API, in front of the whole bot: the request, its approval, the member's DM, the reminder, `/okta
access`, the Home tab, the end. The bot's clock is moved by hand and its access service's tick is
called (in the sandbox, the service ticks every 5 seconds on the wall clock)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.server import BackgroundServer
from console import create_console_app
from slacksim import Message
from tests.access_support import ManualClock, bot, clock
from tests.chatops_support import ARJUN, ERIN, ChatOps

__all__ = ["bot", "clock"]  # the fixtures


@pytest.fixture
async def console(bot: ChatOps) -> AsyncIterator[httpx.AsyncClient]:
    app = create_console_app(bot.ws, bot.org, bot_events_url=bot.url)
    async with BackgroundServer(app) as server, httpx.AsyncClient(base_url=server.url) as client:
        yield client


async def post(console: httpx.AsyncClient, path: str, **body: Any) -> None:
    response = await console.post(f"/console/api/{path}", json=body)
    assert response.status_code == 200 and response.json()["ok"], response.text


async def shown(console: httpx.AsyncClient, user: str, channel: str | None = None) -> list[dict[str, Any]]:
    """The messages `user` sees in `channel` (their DM with the app when None), as the console shows them."""
    state = (await console.get("/console/api/state", params={"user": user})).json()
    return next(c for c in state["channels"] if (c["is_dm"] if channel is None else c["name"] == channel))["messages"]


def button(message: dict[str, Any], action_id: str) -> tuple[str, dict[str, Any]]:
    """(block_id, button) of the message's button `action_id`."""
    return next((b["block_id"], e) for b in message["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == action_id)


async def click(console: httpx.AsyncClient, user: str, message: dict[str, Any], action_id: str) -> None:
    block_id, element = button(message, action_id)
    where = {"channel": message["channel"], "ts": message["ts"], "ephemeral": message["ephemeral"]}
    await post(console, "action", user=user, action_id=action_id, value=element.get("value"), block_id=block_id, **where)


async def okta_groups(console: httpx.AsyncClient) -> dict[str, list[str]]:
    """Each person's Okta groups, as the console's persona picker shows them."""
    people = (await console.get("/console/api/people")).json()["people"]
    return {p["id"]: p["okta"]["groups"] for p in people if p["okta"]}


async def dm_to_erin(bot: ChatOps, text: str) -> Message:
    channel = bot.ws.dm_channel_id(ERIN)
    return await bot.ws.wait_for_message(lambda m: m.channel == channel and text in m.text)


async def test_a_two_minute_grant_lives_its_whole_life_in_the_console(
    bot: ChatOps, clock: ManualClock, console: httpx.AsyncClient
) -> None:
    ws, grants = bot.ws, bot.bot.handlers.access.grants
    await post(console, "command", user=ERIN, channel=ws.channel_id("helpdesk"), text="/okta request Finance for 2m quarter close")
    approvals = ws.channel_id("approvals")
    await ws.wait_for_message(lambda m: m.channel == approvals and "quarter close" in str(m.blocks))
    [request] = [m for m in await shown(console, ARJUN, "approvals") if "quarter close" in str(m["blocks"])]
    assert "for *2m*" in str(request["blocks"])
    await click(console, ARJUN, request, "approval:approve")

    await dm_to_erin(bot, "is in *Finance* until")
    [granted] = [m for m in await shown(console, ERIN) if "is in *Finance* until" in m["text"]]
    assert button(granted, "access:release") and "(2m)" in granted["text"]
    assert "Finance" in (await okta_groups(console))[ERIN]

    await grants.tick()  # two minutes is inside the 15-minute reminder: it comes at once
    await dm_to_erin(bot, ":alarm_clock:")
    [reminder] = [m for m in await shown(console, ERIN) if ":alarm_clock:" in m["text"]]
    assert button(reminder, "access:extend") and button(reminder, "access:release")

    await post(console, "command", user=ERIN, channel=ws.channel_id("helpdesk"), text="/okta access")
    await ws.wait_for_message(lambda m: m.ephemeral_to == ERIN and "*Finance*: ends" in m.text)
    assert any("2m left" in m["text"] for m in await shown(console, ERIN, "helpdesk"))
    await post(console, "home", user=ERIN)
    await ws.wait_for(lambda c: c.method == "views.publish" and "*Finance*: ends" in str(c.args.get("view")))
    home = (await console.get("/console/api/state", params={"user": ERIN})).json()["home"]
    assert "Your access" in str(home["view"]) and "self:release" in str(home["view"])

    clock.advance(2 * 60)
    assert await grants.tick() == 1
    await dm_to_erin(bot, "has ended: ended on time; membership removed")
    assert any("has ended" in m["text"] for m in await shown(console, ERIN))
    assert "Finance" not in (await okta_groups(console))[ERIN]
