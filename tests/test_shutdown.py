"""`docker stop` sends SIGTERM: the bot finishes what it acked, stops what it started, and exits 0."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
import redis
import redis.exceptions

from bot.server import BackgroundServer
from oktasim import OktaOrg
from slacksim import SlackWorkspace
from tests.chatops_support import HANA
from tests.process_support import production_env, served_bot

pytestmark = pytest.mark.slow  # real processes (the serve command, a browser, Docker): CI runs them, `-m "not slow"` skips them

EXIT_WITHIN_S = 20.0


async def test_sigterm_exits_0_and_stops_the_embedded_redis(tmp_path: Path) -> None:
    printed: list[str] = []
    async with served_bot({}, tmp_path, output=printed) as bot:
        sock = tmp_path / "redis" / "redis.sock"
        assert redis.Redis(unix_socket_path=str(sock)).ping()
        bot.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(bot.process.wait(), EXIT_WITHIN_S) == 0, "".join(printed)

    # the embedded server went with the bot, instead of living on as an orphan holding the data
    try:
        redis.Redis(unix_socket_path=str(sock), socket_connect_timeout=1).ping()
        raise AssertionError("the embedded redis-server outlived the bot")
    except (redis.exceptions.ConnectionError, FileNotFoundError):
        pass


async def test_sigterm_lets_an_acked_command_finish(
    ws: SlackWorkspace, slack: BackgroundServer, okta_org: OktaOrg, okta_sim: BackgroundServer,
    redis_url: str, tmp_path: Path,
) -> None:
    printed: list[str] = []
    async with served_bot(production_env(ws, slack, okta_sim, redis_url), tmp_path, output=printed) as bot:
        okta_org.inject_delay("GET", "/api/v1/users", seconds=1.5)  # the lookup is still on its way to Okta
        command = ws.slash_command(HANA, "lookup erin.employee@acme.example")
        assert (await ws.send(f"{bot.url}/slack/events", command)).status_code == 200
        bot.process.send_signal(signal.SIGTERM)

        card = await ws.wait_for(lambda c: c.method == "response_url" and c.args.get("response_id") == command.response_id
                                 and "Erin Employee" in str(c.args.get("text")), timeout=EXIT_WITHIN_S)
        assert card.args.get("replace_original") is True  # the "working on it" became the answer
        assert await asyncio.wait_for(bot.process.wait(), EXIT_WITHIN_S) == 0, "".join(printed)
    assert not any("cancelled" in line for line in printed)
