"""The bot in Socket Mode: it opens a WebSocket to the Slack stand-in with its app-level token
(no signing secret, no request URL) and answers a slash command delivered over it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.server import BackgroundServer
from oktasim import OktaOrg
from slacksim import SlackWorkspace
from tests.chatops_support import EXAMPLE_POLICY, HANA
from tests.conftest import SIM_API_TOKEN
from tests.process_support import serve_process

pytestmark = pytest.mark.slow  # real processes (the serve command, a browser, Docker): CI runs them, `-m "not slow"` skips them

LEE = "lee.locked@acme.example"


def _socket_mode_env(ws: SlackWorkspace, slack: BackgroundServer, okta_sim: BackgroundServer, redis_url: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": ws.bot_token,
        "SLACK_APP_TOKEN": ws.app_token,  # Socket Mode: SLACK_SIGNING_SECRET is not needed
        "SLACK_API_URL": f"{slack.url}/api/",
        "OKTA_ORG_URL": okta_sim.url,
        "OKTA_API_TOKEN": SIM_API_TOKEN,
        "REDIS_URL": redis_url,
        "POLICY_FILE": str(EXAMPLE_POLICY),
    }


async def test_a_command_over_socket_mode_unlocks_a_user(
    ws: SlackWorkspace, slack: BackgroundServer, okta_org: OktaOrg, okta_sim: BackgroundServer,
    redis_url: str, redis, tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    env = _socket_mode_env(ws, slack, okta_sim, redis_url)
    assert okta_org.get_user(LEE).status == "LOCKED_OUT"
    async with serve_process(env, tmp_path):
        assert await ws.socket_connected(timeout=20) == 1
        opened = await ws.wait_for(lambda c: c.method == "apps.connections.open")
        assert opened.ok

        ack = await ws.send_socket(ws.slash_command(HANA, f"unlock {LEE}"))
        assert ack is not None, "the bot did not acknowledge the envelope within 3 seconds"
        assert "Working on `/okta unlock" in ack["payload"]["text"]  # the ack's body: the first ephemeral reply
        reply = await ws.wait_for_message(lambda m: m.ephemeral_to == HANA and "unlocked" in m.text, timeout=10)
        assert LEE in reply.text
        assert [m.text for m in ws.ephemerals(HANA)] == [reply.text]  # the final reply replaced the ack's

    assert okta_org.get_user(LEE).status == "ACTIVE"


async def test_a_redelivered_envelope_is_acked_and_run_once(
    ws: SlackWorkspace, slack: BackgroundServer, okta_org: OktaOrg, okta_sim: BackgroundServer,
    redis_url: str, redis, tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    env = _socket_mode_env(ws, slack, okta_sim, redis_url)
    async with serve_process(env, tmp_path):
        assert await ws.socket_connected(timeout=20) == 1
        command = ws.slash_command(HANA, f"unlock {LEE}")
        first = await ws.send_socket(command)
        again = await ws.send_socket(command)  # Slack redelivers when it missed the ack
        assert first is not None and again is not None  # both acknowledged
        await ws.wait_for_message(lambda m: m.ephemeral_to == HANA and "unlocked" in m.text, timeout=10)
    assert okta_org.get_user(LEE).status == "ACTIVE"
    assert sum(1 for r in okta_org.requests if r.method == "POST" and r.path.endswith("/lifecycle/unlock")) == 1
