"""Bolt reads Slack settings from the environment by itself; the bot's settings are its only configuration.

With SLACK_BOT_TOKEN in the environment, as in every deployment, Bolt used to warn at each start that
"`token` will be unused"; SLACK_CLIENT_ID with SLACK_CLIENT_SECRET would have turned it into a
multi-workspace OAuth app that refuses the bot's own workspace.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.server import BackgroundServer
from slacksim import SlackWorkspace
from tests.chatops_support import HANA
from tests.process_support import production_env, serve_process

pytestmark = pytest.mark.slow  # real processes (the serve command, a browser, Docker): CI runs them, `-m "not slow"` skips them


async def test_a_deployment_starts_without_warnings_and_bolt_ignores_the_environment(
    ws: SlackWorkspace, slack: BackgroundServer, okta_sim: BackgroundServer, redis_url: str, tmp_path: Path
) -> None:
    env = production_env(ws, slack, okta_sim, redis_url)
    env |= {"SLACK_CLIENT_ID": "1234.5678", "SLACK_CLIENT_SECRET": "another-apps-secret"}
    output: list[str] = []
    async with serve_process(env, tmp_path, output=output) as url:
        command = ws.slash_command(HANA, "groups erin.employee@acme.example")
        assert (await ws.send(f"{url}/slack/events", command)).status_code == 200
        await ws.wait_for_message(lambda _: any("group(s)" in m.text for m in ws.ephemerals(HANA)))
        started = list(output)
    assert not [line for line in started if "WARNING" in line], "".join(started)
    assert not [line for line in output if "will be unused" in line or "ignored" in line]
