"""The composition root: every part of one `serve` process, built from settings in one function.

    async with Runtime(settings) as runtime:            # Redis, Okta and Slack clients (or stand-ins)
        process = build(settings, policy, runtime, host=..., port=...)
        await process.run(stop)                         # services up, serve until `stop`, wind down

`Process` is the whole of what runs, on one screen: the clients, the bot (Bolt app, Slack port,
handlers), the HTTP server, and the background services in the order they start (they stop in
reverse). Stopping keeps to bot/shutdown.py's budget: gone within 8 s of SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from pathlib import Path

from starlette.routing import BaseRoute, Mount

from access import run_access
from alerts import AlertService
from approvals import run_sweeper
from bot.assembly import Bot, assemble
from bot.metrics import count_dead_letters, count_hook_events, count_was_this_you, observe_okta
from bot.runtime import Runtime
from bot.server import BackgroundServer, Stop
from bot.services import Entered, Hooked, Service, Task
from bot.settings import Settings
from bot.shutdown import WORKERS_GRACE_S, Deadlines, left
from bot.startup_log import log_banner, log_startup_problems
from bot.web import create_web_app
from confirm import WasThisYouService
from policy import Policy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Process:
    settings: Settings
    policy: Policy
    policy_file: Path
    runtime: Runtime
    bot: Bot
    web: BackgroundServer
    console: bool  # the sandbox's browser console is served at /
    services: tuple[Service, ...]

    async def run(self, stop: Stop) -> None:
        """Start the services, serve until `stop` is set, finish or hand back acked work, stop the services."""
        started: list[Service] = []
        try:
            for service in self.services:
                await service.start()
                started.append(service)
            await log_startup_problems(self.settings, self.policy, self.runtime.okta, self.runtime.slack)
            banner(self)
            await self.web.serve_until(stop)  # stops accepting; the requests in flight are answered
            deadlines = Deadlines.from_signal(stop.at)
            # every command in flight was acked with "working on it": finish it while the clients are
            # open, or tell the person; meanwhile the services hand back what they hold, for another replica
            drain = self.bot.after_ack.drain(left(deadlines.finish_by), start_within=left(deadlines.start_by))
            await asyncio.gather(drain, _stop_all(started))
            await self.bot.slack.drain(left(deadlines.announce_by))
        finally:
            await _stop_all(started)  # on the way out of a failed start or run


async def _stop_all(started: list[Service]) -> None:
    """Stop the started services, last started first; each is stopped once."""
    while started:
        service = started.pop()
        try:
            await service.stop()
        except Exception:  # the others still stop
            log.exception("%s did not stop cleanly", service.name)


def build(settings: Settings, policy: Policy, policy_file: Path, runtime: Runtime, *, host: str, port: int) -> Process:
    bot = assemble(
        redis=runtime.redis,
        okta=runtime.okta,
        slack=runtime.slack,
        policy=policy,
        signing_secret=runtime.signing_secret,
        org_url=runtime.okta_org_url,
        approval_lease_s=settings.approval_lease_seconds,
    )
    console = _console(runtime)
    app = create_web_app(
        redis=runtime.redis, bolt=bot.bolt, hook_secret=runtime.hook_secret, signing_secret=runtime.signing_secret,
        okta=runtime.okta, extra_routes=console, previous_hook_secret=settings.previous_hook_secret,
    )
    web = BackgroundServer(app, host=host, port=port, log_level="info")
    flow = bot.handlers.approvals
    services: list[Service] = [
        Hooked("Okta metrics", lambda: observe_okta(runtime.okta)),
        Hooked("hook event metrics", count_hook_events),
        Hooked("dead-letter metrics", count_dead_letters),
        Hooked("was-this-you metrics", count_was_this_you),
    ]
    if settings.socket_mode:
        assert settings.slack_app_token is not None
        services.append(_SocketMode(bot, settings.slack_app_token.get_secret_value()))
    services += [
        # expiries, and executions whose lease ran out because their replica died: on every replica
        Task("approval sweeper", lambda: run_sweeper(flow.store, flow.expired, flow.reconcile)),
        Task("time-bound access", lambda: run_access(bot.handlers.access.grants, bot.handlers.break_glass.glass)),
        Entered(
            "alert pipeline",
            AlertService(
                runtime.redis,
                bot.slack,
                policy,
                okta=runtime.okta,
                org_url=runtime.okta_org_url,
                poll_logs=settings.okta_poll_logs,
                # stable across restarts of this replica, distinct between replicas on one host
                consumer_name=f"{socket.gethostname()}:{web.port}",
                stop_grace_s=WORKERS_GRACE_S,  # then what is not posted is handed back to the stream
            ),
        ),
    ]
    if bot.handlers.was_this_you is not None:
        # its own consumer group on the alert stream, and the sweeper of deadlines and orphaned work
        services.append(Entered("was-this-you", WasThisYouService(
            runtime.redis, bot.handlers.was_this_you, consumer_name=f"{socket.gethostname()}:{web.port}")))
    if runtime.okta_sim is not None:
        # The simulated org delivers its events to this very server, through the real hook path.
        services.append(Task("sandbox hook registration", lambda: _register_sandbox_hook(runtime, policy, f"{web.url}/okta/hooks")))
    return Process(
        settings=settings, policy=policy, policy_file=policy_file, runtime=runtime, bot=bot, web=web, console=bool(console),
        services=tuple(services),
    )


class _SocketMode:
    """Slack's requests over a WebSocket the bot opens; HTTP still serves health and hooks."""

    name = "Slack Socket Mode"

    def __init__(self, bot: Bot, app_token: str) -> None:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        self._handler = AsyncSocketModeHandler(bot.bolt, app_token)

    async def start(self) -> None:
        await self._handler.connect_async()

    async def stop(self) -> None:
        await self._handler.close_async()


def _console(runtime: Runtime) -> list[BaseRoute]:
    # Only in the sandbox proper: the console has no login, and next to a real Okta org its API
    # would run admin actions for anyone who can reach the port.
    if runtime.slack_sim is None or runtime.okta_sim is None:
        return []
    # No Slack: the console stands in for it and reaches the bot over the same signed HTTP.
    from console import create_console_app

    return [Mount("/", app=create_console_app(runtime.slack_sim, runtime.okta_sim))]


def banner(process: Process) -> None:
    settings, runtime = process.settings, process.runtime
    mode = "sandbox" if not (settings.slack_configured and settings.okta_configured) else "production"
    lines = [
        f"okta-chatops {mode}",
        f"  Slack:   {runtime.parts.slack}",
        f"  Okta:    {runtime.parts.okta}",
        f"  Redis:   {runtime.parts.redis}",
        f"  Policy:  {process.policy_file}",
        f"  Running: {', '.join(service.name for service in process.services)}",
    ]
    if settings.partial_sandbox:
        lines.append("  WARNING: partial sandbox (ALLOW_PARTIAL_SANDBOX=true), with no console: never in production")
    if process.console:
        lines.append(f"  Console: {process.web.url}/  (stands in for Slack: pick who you are, type /okta ...)")
    # last, so that whoever waits for this line has read the whole banner
    lines.append(f"okta-chatops {mode} listening on {process.web.url}")
    print("\n".join(lines), flush=True)
    log_banner(lines)
    if settings.partial_sandbox:
        simulated = "Slack" if settings.okta_configured else "Okta"
        log.warning(
            "PARTIAL SANDBOX (ALLOW_PARTIAL_SANDBOX=true): %s is simulated next to a real %s; no console. "
            "Never run this in production.", simulated, "Okta" if simulated == "Slack" else "Slack",
        )


async def _register_sandbox_hook(runtime: Runtime, policy: Policy, url: str) -> None:
    from bot.hooks_cli import DEFAULT_NAME, policy_event_types, register_hook

    # what `hooks register` subscribes to by default: the alert rules' and the questions' event types
    await register_hook(runtime.okta, url, DEFAULT_NAME, policy_event_types(policy), runtime.hook_secret)
