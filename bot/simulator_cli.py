"""`okta-chatops okta-sim`: serve the Okta org simulator (seeded demo org) on its own."""

from __future__ import annotations

import argparse
from typing import Any

from bot.server import BackgroundServer, stop_signals


def register(sub: Any) -> None:
    sim = sub.add_parser("okta-sim", help="serve the Okta org simulator (seeded demo org) until stopped")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8081)
    sim.add_argument("--token", required=True, help="the SSWS API token clients must present")
    sim.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    from oktasim import create_app, seed_demo_org

    stop = stop_signals()
    org = seed_demo_org()
    org.add_api_token(args.token)
    server = BackgroundServer(create_app(org), host=args.host, port=args.port, log_level="info")
    print(f"Okta org simulator (demo org) listening on {server.url}", flush=True)
    await server.serve_until(stop)
    return 0
