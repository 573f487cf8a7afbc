"""Half a deployment configured: real Okta settings and no Slack app, or the reverse.

The bot refuses to start rather than quietly run the missing half on a stand-in; with
ALLOW_PARTIAL_SANDBOX it starts, says so loudly, and has no console: the console has no login, so
next to a real Okta org (here: the simulator playing one) it would be an open admin API.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import httpx
import pytest

from bot.server import BackgroundServer
from oktasim import OktaOrg
from slacksim import SlackWorkspace
from tests.chatops_support import EXAMPLE_POLICY
from tests.conftest import SIM_API_TOKEN
from tests.process_support import serve_process

pytestmark = pytest.mark.slow  # real processes (the serve command, a browser, Docker): CI runs them, `-m "not slow"` skips them


async def _refused(env: dict[str, str], tmp_path: Path) -> tuple[int, str]:
    """Run `serve` with `env`, expecting it to stop at once: its exit code and what it printed."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OKTA_", "REDIS_", "POLICY_"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", "--port", "0",
        env=full_env | {"DATA_DIR": str(tmp_path), **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode()


async def test_real_okta_without_slack_refuses_to_start(okta_sim: BackgroundServer, tmp_path: Path) -> None:
    code, out = await _refused({"OKTA_ORG_URL": okta_sim.url, "OKTA_API_TOKEN": SIM_API_TOKEN}, tmp_path)
    assert code != 0
    assert "Okta is configured but Slack is not" in out and "ALLOW_PARTIAL_SANDBOX=true" in out
    assert "listening on" not in out


async def test_real_slack_without_okta_refuses_to_start(ws: SlackWorkspace, tmp_path: Path) -> None:
    env = {
        "SLACK_BOT_TOKEN": ws.bot_token,
        "SLACK_SIGNING_SECRET": ws.signing_secret,
        "POLICY_FILE": str(EXAMPLE_POLICY),
    }
    code, out = await _refused(env, tmp_path)
    assert code != 0
    assert "Slack is configured but Okta is not: set OKTA_ORG_URL and its credentials" in out
    assert "listening on" not in out


async def test_partial_sandbox_on_purpose_is_loud_and_has_no_console(
    okta_org: OktaOrg, okta_sim: BackgroundServer, redis_url: str, tmp_path: Path
) -> None:
    env = {
        "OKTA_ORG_URL": okta_sim.url,
        "OKTA_API_TOKEN": SIM_API_TOKEN,
        "REDIS_URL": redis_url,
        "ALLOW_PARTIAL_SANDBOX": "true",
    }
    printed: list[str] = []
    async with (
        serve_process(env, tmp_path, output=printed) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as http,
    ):
        banner = "".join(printed)
        assert f"Okta:    real ({okta_sim.url})" in banner and "Slack:   simulated" in banner
        assert "WARNING: partial sandbox (ALLOW_PARTIAL_SANDBOX=true), with no console" in banner
        assert "Console: " not in banner
        # the console's pages and its admin-action API do not exist
        assert (await http.get("/")).status_code == 404
        assert (await http.get("/console/api/people")).status_code == 404
        command = {"user": "U0HANA00001", "channel": "C0HELPDESK1", "text": "/okta unlock lee.locked@acme.example"}
        assert (await http.post("/console/api/command", json=command)).status_code == 404
        assert (await http.get("/healthz")).status_code == 200
    logged = [json.loads(line) for line in printed if line.startswith("{")]
    assert any(r["level"] == "WARNING" and "PARTIAL SANDBOX" in r["msg"] for r in logged)
    assert okta_org.get_user("lee.locked@acme.example").status == "LOCKED_OUT"
