"""The bot's embedded redis-server killed (SIGKILL) under a running `okta-chatops serve`: /readyz says so
and recovers once the server is restarted on its data, with the pending approval still there; a server
that cannot be restarted stops the bot with a non-zero exit code."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from bot.runtime import EXIT_REDIS_LOST
from bot.server import BackgroundServer
from oktasim import OktaOrg
from slacksim import SlackWorkspace
from tests.chatops_support import ARJUN, HANA
from tests.process_support import production_env, served_bot

pytestmark = pytest.mark.slow  # real processes (the serve command, a browser, Docker): CI runs them, `-m "not slow"` skips them

BOUND_S = 30.0
EXIT_WITHIN_S = 60.0  # killed during start-up, the step under way first spends the client's retries (about 20 s)
PROBE_EVERY_S = 0.05  # how often the test, like a load balancer, asks /readyz


def _embedded_env(ws: SlackWorkspace, slack: BackgroundServer, okta_sim: BackgroundServer) -> dict[str, str]:
    env = production_env(ws, slack, okta_sim, redis_url="")
    del env["REDIS_URL"]  # the embedded server, under DATA_DIR
    return env


def _embedded(data_dir: Path) -> aioredis.Redis:
    return aioredis.Redis(unix_socket_path=str(data_dir / "redis" / "redis.sock"), decode_responses=True)


async def _redis_pid(data_dir: Path) -> int:
    async with _embedded(data_dir) as direct:
        return int((await direct.info("server"))["process_id"])


async def _readiness(http: httpx.AsyncClient, until_status: int) -> httpx.Response:
    """/readyz, asked until it answers `until_status` (within BOUND_S)."""
    async with asyncio.timeout(BOUND_S):
        while (response := await http.get("/readyz")).status_code != until_status:
            await asyncio.sleep(PROBE_EVERY_S)
    return response


async def test_killed_embedded_redis_is_restarted_and_keeps_the_pending_approval(
    ws: SlackWorkspace, slack: BackgroundServer, okta_org: OktaOrg, okta_sim: BackgroundServer, tmp_path: Path
) -> None:
    printed: list[str] = []
    async with served_bot(_embedded_env(ws, slack, okta_sim), tmp_path, output=printed) as bot, httpx.AsyncClient(
        base_url=bot.url, timeout=10
    ) as http:
        # a suspend waits for approval, in Redis
        await ws.send(f"{bot.url}/slack/events", ws.slash_command(HANA, "suspend alex.kim@acme.example"))
        opened = await ws.wait_for(lambda c: c.method == "views.open" and c.ok)
        await ws.send(f"{bot.url}/slack/events", ws.view_submission(HANA, ws.view(opened.result["view"]["id"])))
        card = await ws.wait_for_message(lambda m: m.channel == ws.channel_id("approvals") and "Approve" in str(m.blocks))
        async with _embedded(tmp_path) as direct:
            [pending] = await direct.zrange("okc:approvals:pending", 0, -1)
        assert (await http.get("/readyz")).status_code == 200

        killed = await _redis_pid(tmp_path)
        os.kill(killed, signal.SIGKILL)
        started = time.monotonic()
        down = await _readiness(http, 503)
        assert down.json() == {"ready": False, "checks": {"redis": "error: ConnectionError", "okta": "ok"}, "down": ["redis"]}
        assert (await http.get("/healthz")).status_code == 200  # alive all the same: no reason to kill it
        assert (await _readiness(http, 200)).json() == {"ready": True, "checks": {"redis": "ok", "okta": "ok"}}
        recovered_s = time.monotonic() - started
        assert await _redis_pid(tmp_path) != killed
        print(f"\nembedded redis-server killed: /readyz 200 again after {recovered_s:.2f} s")

        async with _embedded(tmp_path) as direct:  # the request survived the kill, still pending...
            assert await direct.zrange("okc:approvals:pending", 0, -1) == [pending]
        # ...and goes through as if nothing had happened
        await ws.send(f"{bot.url}/slack/events", ws.block_action(ARJUN, "approval:approve", message=card))
        await ws.wait_for_message(lambda m: m.ts == card.ts and "done" in str(m.blocks), timeout=BOUND_S)
    assert okta_org.get_user("alex.kim@acme.example").status == "SUSPENDED"
    assert any("embedded redis-server restarted" in line for line in printed)


async def test_an_embedded_redis_that_cannot_be_restarted_stops_the_bot_non_zero(
    ws: SlackWorkspace, slack: BackgroundServer, okta_sim: BackgroundServer, tmp_path: Path
) -> None:
    printed: list[str] = []
    async with served_bot(_embedded_env(ws, slack, okta_sim), tmp_path, output=printed) as bot:
        aof = tmp_path / "redis" / "appendonly.aof"
        (tmp_path / "broken.aof").write_text("not an append-only file\n")
        os.replace(tmp_path / "broken.aof", aof)  # what a restart would load; the server keeps writing the old file
        os.kill(await _redis_pid(tmp_path), signal.SIGKILL)
        assert await asyncio.wait_for(bot.process.wait(), EXIT_WITHIN_S) == EXIT_REDIS_LOST, "".join(printed)
    assert any("stopping the bot" in line for line in printed)
