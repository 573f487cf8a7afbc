"""`okta-chatops` command line: serve the bot, serve the Okta simulator, and operator tools."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from bot.server import BackgroundServer
from bot.settings import SettingsError, load_settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return asyncio.run(args.run(args)) or 0
    except SettingsError as exc:
        print(f"okta-chatops: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="okta-chatops", description=__doc__)
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the bot (sandbox on embedded defaults when nothing is configured)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
    serve.set_defaults(run=_serve)

    sim = sub.add_parser("okta-sim", help="serve the Okta org simulator (seeded demo org) until stopped")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8081)
    sim.add_argument("--token", required=True, help="the SSWS API token clients must present")
    sim.set_defaults(run=_okta_sim)
    return parser


async def _serve(args: argparse.Namespace) -> int:
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


async def _okta_sim(args: argparse.Namespace) -> int:
    from oktasim import create_app, seed_demo_org

    org = seed_demo_org()
    org.add_api_token(args.token)
    server = BackgroundServer(create_app(org), host=args.host, port=args.port, log_level="info")
    print(f"Okta org simulator (demo org) listening on {server.url}", flush=True)
    await server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
