"""`okta-chatops serve`: the bot's main job (the sandbox when nothing is configured).

Settings and policy first (a bad configuration is reported before anything starts), then the
process as bot/process.py composes it: Slack's requests (HTTP, or Socket Mode), Okta's event
hooks, health and metrics, and the background services. Replicas share all state in Redis.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from pathlib import Path
from typing import Any

from bot.server import stop_signals
from bot.settings import Settings, load_settings

log = logging.getLogger(__name__)

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
    stop = stop_signals()  # a SIGTERM during start-up also stops cleanly
    settings = load_settings(serving=True)  # first, so a bad configuration is reported before anything starts
    from bot.logs import configure_logging, register_secret, register_settings_secrets
    from policy import PolicyError, load_policy

    register_settings_secrets(settings)
    configure_logging(access=settings.log_access)
    try:
        policy = load_policy(policy_path(settings))
    except PolicyError as exc:
        print(f"okta-chatops: {exc}", file=sys.stderr)
        return 2

    from bot.process import build
    from bot.runtime import Runtime

    async with Runtime(settings) as runtime:
        for generated in (runtime.signing_secret, runtime.hook_secret):  # the sandbox makes its own
            register_secret(generated)
        process = build(settings, policy, policy_path(settings), runtime, host=args.host, port=args.port)
        # Everything built so far lives as long as the process: keep the collector's full passes off
        # it, so they do not stall acks under load (bench/bench_ack.py).
        gc.collect()
        gc.freeze()
        # again: each uvicorn.Config built since (the server's, the stand-ins') rewired uvicorn's loggers
        configure_logging(access=settings.log_access)
        await process.run(stop)
    return 0
