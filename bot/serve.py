"""`okta-chatops serve`: the bot's main job (the sandbox when nothing is configured).

One process serves Slack's requests (HTTP, or Socket Mode), Okta's event hooks, health and
metrics, and runs the background loops: alert workers, the approval sweeper and, at start, the
reconciliation of approvals a previous process left executing. Replicas share all state in Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import socket
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from starlette.routing import BaseRoute, Mount

from bot.server import BackgroundServer, stop_signals
from bot.settings import Settings, load_settings
from bot.startup_log import log_banner, log_startup_problems

log = logging.getLogger(__name__)

EXAMPLE_POLICY = Path(__file__).resolve().parents[1] / "policy" / "example.yaml"
SHUTDOWN_GRACE_S = 6.0  # with the server's own 3 s, within `docker stop`'s 10 s


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

    from alerts import AlertService
    from approvals import run_sweeper
    from bot.assembly import assemble
    from bot.metrics import count_hook_events, observe_okta
    from bot.runtime import Runtime
    from bot.web import create_web_app

    async with Runtime(settings) as runtime, AsyncExitStack() as background:
        for generated in (runtime.signing_secret, runtime.hook_secret):  # the sandbox makes its own
            register_secret(generated)
        background.callback(observe_okta(runtime.okta))
        background.callback(count_hook_events())
        bot = assemble(
            redis=runtime.redis,
            okta=runtime.okta,
            slack=runtime.slack,
            policy=policy,
            signing_secret=runtime.signing_secret,
            org_url=runtime.okta_org_url,
        )
        # Everything built so far lives as long as the process: keep the collector's full passes off
        # it, so they do not stall acks under load (bench/bench_ack.py).
        gc.collect()
        gc.freeze()
        console = _console(runtime)
        app = create_web_app(
            redis=runtime.redis, bolt=bot.bolt, hook_secret=runtime.hook_secret, signing_secret=runtime.signing_secret,
            okta=runtime.okta, extra_routes=console, previous_hook_secret=settings.previous_hook_secret,
        )
        server = BackgroundServer(app, host=args.host, port=args.port, log_level="info")
        # again: each uvicorn.Config built since (this one, the stand-ins') rewired uvicorn's loggers
        configure_logging(access=settings.log_access)
        await log_startup_problems(settings, policy, runtime.okta, runtime.slack)
        _banner(settings, runtime, server, console=bool(console))

        if settings.socket_mode:
            # Slack's requests arrive over a WebSocket the bot opens; HTTP still serves health and hooks.
            from slack_bolt.adapter.socket_mode.async_handler import (
                AsyncSocketModeHandler,
            )

            assert settings.slack_app_token is not None
            socket_mode = AsyncSocketModeHandler(bot.bolt, settings.slack_app_token.get_secret_value())
            await socket_mode.connect_async()
            background.push_async_callback(socket_mode.close_async)

        flow = bot.handlers.approvals
        await flow.reconcile_stuck()  # executions a previous process left unfinished
        sweeper = asyncio.create_task(run_sweeper(flow.store, flow.expired))
        background.callback(sweeper.cancel)
        await background.enter_async_context(
            AlertService(
                runtime.redis,
                bot.slack,
                policy,
                okta=runtime.okta,
                org_url=runtime.okta_org_url,
                poll_logs=settings.okta_poll_logs,
                # stable across restarts of this replica, distinct between replicas on one host
                consumer_name=f"{socket.gethostname()}:{server.port}",
            )
        )
        if runtime.okta_sim is not None:
            # The simulated org delivers its events to this very server, through the real hook path.
            hook = asyncio.create_task(_register_sandbox_hook(runtime, policy, f"{server.url}/okta/hooks"))
            background.callback(hook.cancel)
        await server.serve_until(stop)
        # every command in flight was acked with "working on it": let it finish while the clients are open
        await bot.after_ack.drain(SHUTDOWN_GRACE_S)
    return 0


def _console(runtime: Any) -> list[BaseRoute]:
    # Only in the sandbox proper: the console has no login, and next to a real Okta org its API
    # would run admin actions for anyone who can reach the port.
    if runtime.slack_sim is None or runtime.okta_sim is None:
        return []
    # No Slack: the console stands in for it and reaches the bot over the same signed HTTP.
    from console import create_console_app

    return [Mount("/", app=create_console_app(runtime.slack_sim, runtime.okta_sim))]


def _banner(settings: Settings, runtime: Any, server: BackgroundServer, *, console: bool) -> None:
    mode = "sandbox" if not (settings.slack_configured and settings.okta_configured) else "production"
    lines = [
        f"okta-chatops {mode}",
        f"  Slack:   {runtime.parts.slack}",
        f"  Okta:    {runtime.parts.okta}",
        f"  Redis:   {runtime.parts.redis}",
        f"  Policy:  {policy_path(settings)}",
    ]
    if settings.partial_sandbox:
        lines.append("  WARNING: partial sandbox (ALLOW_PARTIAL_SANDBOX=true), with no console: never in production")
    if console:
        lines.append(f"  Console: {server.url}/  (stands in for Slack: pick who you are, type /okta ...)")
    # last, so that whoever waits for this line has read the whole banner
    lines.append(f"okta-chatops {mode} listening on {server.url}")
    print("\n".join(lines), flush=True)
    log_banner(lines)
    if settings.partial_sandbox:
        simulated = "Slack" if settings.okta_configured else "Okta"
        log.warning(
            "PARTIAL SANDBOX (ALLOW_PARTIAL_SANDBOX=true): %s is simulated next to a real %s; no console. "
            "Never run this in production.", simulated, "Okta" if simulated == "Slack" else "Slack",
        )


async def _register_sandbox_hook(runtime: Any, policy: Any, url: str) -> None:
    from alerts.subscriptions import hook_event_types
    from bot.hooks_cli import DEFAULT_NAME, eligible_event_types, register_hook

    rules = policy.alerts.rules if policy.alerts else ()
    await register_hook(runtime.okta, url, DEFAULT_NAME, hook_event_types(rules, eligible_event_types()), runtime.hook_secret)
