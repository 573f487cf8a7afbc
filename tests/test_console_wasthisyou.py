""" "Was this you?" played from the sandbox console: each suspicious event the simulate panel can
trigger reaches the whole bot through the Okta simulator's event hook, and the bot's DM to the
demo user is in the Slack stand-in and in what the console shows that user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.server import BackgroundServer
from console import create_console_app
from slacksim import Message
from tests.chatops_support import ERIN
from tests.helpdesk_support import buttons, mrkdwn
from tests.wasthisyou_support import ERIN_LOGIN, Scene, scene

__all__ = ["scene"]  # the fixture

ASKING = ["factor_enrolled", "factor_reset", "password_changed", "new_country", "push_bombing"]


@pytest.fixture
async def console(scene: Scene) -> AsyncIterator[httpx.AsyncClient]:
    """The console in front of the whole bot, with a replica of the flow reading the alert stream."""
    chatops = scene.chatops
    app = create_console_app(chatops.ws, chatops.org, bot_events_url=chatops.url)
    async with (
        scene.replica(),
        BackgroundServer(app) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        yield client


async def simulate(console: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await console.post("/console/api/simulate/suspicious", json=body)


async def dm_to_erin(scene: Scene, predicate: Any) -> Message:
    ws = scene.chatops.ws
    return await ws.wait_for_message(lambda m: m.channel == ws.dm_channel_id(ERIN) and predicate(m), timeout=10)


async def shown_to_erin(console: httpx.AsyncClient) -> list[str]:
    """The texts of the messages in Erin's DM with the app, as the console shows them to her."""
    state = (await console.get("/console/api/state", params={"user": ERIN})).json()
    return [m["text"] for c in state["channels"] if c["is_dm"] for m in c["messages"]]


@pytest.mark.parametrize("kind", ASKING)
async def test_each_suspicious_event_makes_the_bot_ask_the_demo_user(
    scene: Scene, console: httpx.AsyncClient, kind: str
) -> None:
    triggered = await simulate(console, login=ERIN_LOGIN, kind=kind)
    assert triggered.status_code == 200, triggered.text
    assert triggered.json()["kind"] == kind and triggered.json()["events"] >= 1
    question = await dm_to_erin(scene, lambda m: "Was this you?" in m.text)
    assert {"wty:yes", "wty:no"} <= set(buttons(question))
    assert question.text in await shown_to_erin(console)


async def test_the_users_own_report_contains_at_once_and_tells_them(scene: Scene, console: httpx.AsyncClient) -> None:
    assert (await simulate(console, login=ERIN_LOGIN, kind="reported")).status_code == 200
    told = await dm_to_erin(scene, lambda m: "you reported this was not you" in mrkdwn(m))
    assert told.text in await shown_to_erin(console)
    assert scene.session_clears(scene.org.get_user(ERIN_LOGIN).id) == 1


async def test_impossible_scenes_are_refused_with_the_reason(scene: Scene, console: httpx.AsyncClient) -> None:
    own = await simulate(console, login=ERIN_LOGIN, kind="password_changed", admin=ERIN_LOGIN)
    no_push = await simulate(console, login="alex.garcia@acme.example", kind="push_bombing")  # SMS only
    nobody = await simulate(console, login="nobody@acme.example", kind="factor_enrolled")
    unknown = await simulate(console, login=ERIN_LOGIN, kind="alien_abduction")
    assert (own.status_code, no_push.status_code, nobody.status_code, unknown.status_code) == (409, 409, 404, 400)
    assert "someone else" in own.json()["error"] and "Okta Verify" in no_push.json()["error"]
    assert "no user" in nobody.json()["error"] and "kind" in unknown.json()["error"]
