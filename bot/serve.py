"""`okta-chatops serve`: the bot's main job (the sandbox when nothing is configured)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from bot.server import BackgroundServer
from bot.settings import Settings, load_settings

EXAMPLE_POLICY = Path(__file__).resolve().parents[1] / "policy" / "example.yaml"


def register(sub: Any) -> None:
    serve = sub.add_parser("serve", help="run the bot (sandbox on embedded defaults when nothing is configured)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
    serve.set_defaults(run=run)


def policy_path(settings: Settings) -> Path:
    """POLICY_FILE, or the shipped example (settings insist on a file when Slack is real)."""
    return settings.policy_file or EXAMPLE_POLICY


async def run(args: argparse.Namespace) -> int:
    settings = load_settings()  # first, so a bad configuration is reported before anything starts
    from policy import PolicyError, load_policy

    try:
        policy = load_policy(policy_path(settings))
    except PolicyError as exc:
        print(f"okta-chatops: {exc}", file=sys.stderr)
        return 2

    from approvals import run_sweeper
    from bot.assembly import assemble
    from bot.runtime import Runtime
    from bot.web import create_web_app

    async with Runtime(settings) as runtime, AsyncExitStack() as background:
        bot = assemble(
            redis=runtime.redis,
            okta=runtime.okta,
            slack=runtime.slack,
            policy=policy,
            signing_secret=runtime.signing_secret,
            org_url=runtime.okta_org_url,
        )
        app = create_web_app(redis=runtime.redis, bolt=bot.bolt, hook_secret=runtime.hook_secret, okta=runtime.okta)
        server = BackgroundServer(app, host=args.host, port=args.port, log_level="info")
        mode = "sandbox" if not (settings.slack_configured and settings.okta_configured) else "production"
        print(f"okta-chatops {mode} listening on {server.url}", flush=True)
        print(f"  Slack:  {runtime.parts.slack}", flush=True)
        print(f"  Okta:   {runtime.parts.okta}", flush=True)
        print(f"  Redis:  {runtime.parts.redis}", flush=True)
        print(f"  Policy: {policy_path(settings)}", flush=True)

        if settings.socket_mode:
            # Slack's requests arrive over a WebSocket the bot opens; HTTP still serves health and hooks.
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            assert settings.slack_app_token is not None
            socket = AsyncSocketModeHandler(bot.bolt, settings.slack_app_token.get_secret_value())
            await socket.connect_async()
            background.push_async_callback(socket.close_async)

        flow = bot.handlers.approvals
        await flow.reconcile_stuck()  # executions a previous process left unfinished
        sweeper = asyncio.create_task(run_sweeper(bot.services.approvals, flow.expired))
        background.callback(sweeper.cancel)
        await server.serve_forever()
    return 0
