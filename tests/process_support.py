"""`okta-chatops serve` as a real child process, configured by environment like a deployment."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.server import BackgroundServer
from slacksim import Message, SlackWorkspace
from tests.chatops_support import EXAMPLE_POLICY, HOOK_SECRET
from tests.conftest import SIM_API_TOKEN, free_port

BANNER = "listening on "


def production_env(ws: SlackWorkspace, slack: BackgroundServer, okta_sim: BackgroundServer, redis_url: str) -> dict[str, str]:
    """Configured as a deployment is, with the stand-ins playing the real Slack and Okta."""
    return {
        "SLACK_BOT_TOKEN": ws.bot_token,
        "SLACK_SIGNING_SECRET": ws.signing_secret,
        "SLACK_API_URL": f"{slack.url}/api/",
        "OKTA_ORG_URL": okta_sim.url,
        "OKTA_API_TOKEN": SIM_API_TOKEN,
        "OKTA_HOOK_SECRET": HOOK_SECRET,
        "REDIS_URL": redis_url,
        "POLICY_FILE": str(EXAMPLE_POLICY),
    }


@dataclass
class Served:
    url: str
    process: asyncio.subprocess.Process


@asynccontextmanager
async def serve_process(
    env: dict[str, str], data_dir: Path, *, ready_within: float = 30.0, output: list[str] | None = None
) -> AsyncIterator[str]:
    """Start the bot with `env` on a free port; yields its base URL once it prints its banner (the
    socket is bound before the banner, so requests from then on queue until they are served).
    What it prints is collected in `output`, when given."""
    async with served_bot(env, data_dir, ready_within=ready_within, output=output) as bot:
        yield bot.url


@asynccontextmanager
async def served_bot(
    env: dict[str, str], data_dir: Path, *, ready_within: float = 30.0, output: list[str] | None = None
) -> AsyncIterator[Served]:
    """`serve_process`, with the process itself: for a test that signals it."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OKTA_", "REDIS_", "POLICY_"))}
    full_env |= {"DATA_DIR": str(data_dir), **env}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", "--port", str(port),
        env=full_env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    output = [] if output is None else output
    try:
        url = await asyncio.wait_for(_banner_url(process.stdout, output), ready_within)
        # keep reading, or a full pipe would block the child's logging
        drain = asyncio.create_task(_collect(process.stdout, output))
        yield Served(url, process)
    except Exception as exc:
        raise RuntimeError("okta-chatops serve failed; its output:\n" + "".join(output)) from exc
    finally:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), 15)
        if "drain" in locals():
            await drain


async def _banner_url(stream: asyncio.StreamReader, output: list[str]) -> str:
    while line := (await stream.readline()).decode():
        output.append(line)
        if BANNER in line:
            return line.split(BANNER, 1)[1].strip()
    raise RuntimeError("the process ended before it was listening")


async def _collect(stream: asyncio.StreamReader, output: list[str]) -> None:
    while line := await stream.readline():
        output.append(line.decode())


async def request_approval(ws: SlackWorkspace, url: str, user: str, text: str) -> Message:
    """Run a command that needs approval on the bot at `url` and send its request form; the approval
    message it posts."""
    forms = {c.result["view"]["id"] for c in ws.calls if c.method == "views.open" and c.ok}
    posted = {m.ts for m in ws.messages("approvals")}
    await ws.send(f"{url}/slack/events", ws.slash_command(user, text))
    opened = await ws.wait_for(lambda c: c.method == "views.open" and c.ok and c.result["view"]["id"] not in forms)
    await ws.send(f"{url}/slack/events", ws.view_submission(user, ws.view(opened.result["view"]["id"])))
    return await ws.wait_for_message(lambda m: m.channel == ws.channel_id("approvals") and m.ts not in posted)
