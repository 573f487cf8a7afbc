"""`okta-chatops serve`: the bot's main job (the sandbox when nothing is configured)."""

from __future__ import annotations

import argparse
from typing import Any

from bot.server import BackgroundServer
from bot.settings import load_settings


def register(sub: Any) -> None:
    serve = sub.add_parser("serve", help="run the bot (sandbox on embedded defaults when nothing is configured)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
    serve.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    settings = load_settings()  # first, so a bad configuration is reported before anything starts

    from bot.runtime import Runtime
    from bot.web import create_web_app

    async with Runtime(settings) as runtime:
        server = BackgroundServer(create_web_app(runtime), host=args.host, port=args.port, log_level="info")
        mode = "sandbox" if not (settings.slack_configured and settings.okta_configured) else "production"
        print(f"okta-chatops {mode} listening on {server.url}", flush=True)
        print(f"  Slack: {runtime.parts.slack}", flush=True)
        print(f"  Okta:  {runtime.parts.okta}", flush=True)
        print(f"  Redis: {runtime.parts.redis}", flush=True)
        await server.serve_forever()
    return 0
