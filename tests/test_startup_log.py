"""`okta-chatops serve` as a deployment runs it: what would fail silently is in its JSON log, from the
start (rejected credentials, one Redis per replica) and as it happens (refused hook deliveries)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.server import BackgroundServer
from slacksim import SlackWorkspace
from tests.alerts_support import delivery, log_event
from tests.chatops_support import HOOK_SECRET
from tests.conftest import free_port
from tests.process_support import production_env, served_bot

pytestmark = pytest.mark.slow  # real processes (the serve command, a browser, Docker): CI runs them, `-m "not slow"` skips them


async def _serve(env: dict[str, str], tmp_path: Path, *, hook_headers: dict[str, str] | None = None) -> tuple[
    list[str], list[dict[str, Any]], str
]:
    """Run the bot until it listens, (post a hook delivery), stop it; what it printed, its JSON log lines,
    and its /metrics then."""
    printed: list[str] = []
    async with served_bot(env, tmp_path, output=printed) as bot:
        async with httpx.AsyncClient(base_url=bot.url) as http:
            if hook_headers is not None:
                body = delivery(log_event(message="nothing of this may reach the log"))
                assert (await http.post("/okta/hooks", json=body, headers=hook_headers)).status_code == 401
            metrics = (await http.get("/metrics")).text
        bot.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(bot.process.wait(), 20) == 0
    return printed, [json.loads(line) for line in printed if line.startswith("{")], metrics


async def test_rejected_credentials_and_an_embedded_redis_are_logged_at_start_up(
    ws: SlackWorkspace, slack: BackgroundServer, okta_sim: BackgroundServer, redis_url: str, tmp_path: Path
) -> None:
    env = production_env(ws, slack, okta_sim, redis_url)
    del env["REDIS_URL"]
    env["OKTA_API_TOKEN"] = "00revoked-api-token"
    env["SLACK_BOT_TOKEN"] = "xoxb-0000-uninstalled"
    del env["OKTA_HOOK_SECRET"]
    printed, logged, _ = await _serve(env, tmp_path)

    startup = [line for line in logged if line["logger"] == "bot.startup_log"]
    errors = sorted((line for line in startup if line["level"] == "ERROR"), key=lambda line: line["service"])
    assert [(line["service"], line["setting"]) for line in errors] == [
        ("okta", "OKTA_API_TOKEN"), ("slack", "SLACK_BOT_TOKEN")
    ]
    assert errors[0]["msg"].startswith("start-up check of Okta failed: 401 E0000011: Invalid token provided")
    assert "; fix OKTA_API_TOKEN: " in errors[0]["msg"] and "Security > API > Tokens" in errors[0]["msg"]
    assert errors[1]["msg"].startswith("start-up check of Slack failed: invalid_auth; fix SLACK_BOT_TOKEN: ")
    redis, hook_secret = [line["msg"] for line in startup if line["level"] == "WARNING"]
    assert redis.startswith("no REDIS_URL: each replica runs an embedded Redis of its own under DATA_DIR")
    assert hook_secret.startswith("OKTA_HOOK_SECRET is not set: every event hook delivery will be refused")
    assert "00revoked" not in "".join(printed) and "uninstalled" not in "".join(printed)

    # the banner: printed (what .ci/run waits for) and in the JSON log stream
    [banner] = [line for line in startup if line["msg"].startswith("okta-chatops production listening on http://")]
    assert banner["level"] == "INFO" and banner["banner"][0] == "okta-chatops production"
    assert any(field.startswith("  Redis:   embedded (data in ") for field in banner["banner"])
    assert any(line.startswith("okta-chatops production listening on http://") for line in printed)


async def test_a_refused_hook_delivery_is_logged_and_counted(
    ws: SlackWorkspace, slack: BackgroundServer, okta_sim: BackgroundServer, redis_url: str, tmp_path: Path
) -> None:
    env = production_env(ws, slack, okta_sim, redis_url)
    printed, logged, metrics = await _serve(env, tmp_path, hook_headers={"Authorization": HOOK_SECRET + "-old"})

    # all is well at start-up: nothing to warn of
    assert [line["level"] for line in logged if line["logger"] == "bot.startup_log"] == ["INFO"]
    [refused] = [line for line in logged if line["logger"] == "alerts.receiver"]
    assert refused["level"] == "WARNING"
    assert refused["msg"].startswith("event hook delivery refused with HTTP 401 (wrong_secret): the secret matches ")
    assert (refused["hook_request"], refused["outcome"], refused["peer"]) == ("delivery", "wrong_secret", "127.0.0.1")
    assert "nothing of this" not in "".join(printed) and HOOK_SECRET not in "".join(printed)
    assert 'okc_hook_requests_total{outcome="wrong_secret",request="delivery"} 1.0' in metrics
    assert 'okc_hook_requests_total{outcome="accepted",request="delivery"} 0.0' in metrics


async def test_an_empty_signing_secret_stops_serve_before_it_listens(
    ws: SlackWorkspace, slack: BackgroundServer, okta_sim: BackgroundServer, redis_url: str, tmp_path: Path
) -> None:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OKTA_", "REDIS_", "POLICY_"))}
    env = {**inherited, **production_env(ws, slack, okta_sim, redis_url), "DATA_DIR": str(tmp_path)}
    env["SLACK_SIGNING_SECRET"] = ""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", "--port", str(free_port()), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert "SLACK_SIGNING_SECRET: required when SLACK_BOT_TOKEN is set (HTTP mode)" in out.decode()
    assert "listening on" not in out.decode()
