"""The bot's HTTP surface: one Starlette app with Slack's endpoint, Okta's hook endpoint and health.

Every request first meets `RequestLimits` (URL and body size); Slack's POSTs then meet the signature
check of `_SlackEvents` before Bolt parses a byte of them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable

from pydantic import SecretStr
from redis.asyncio import Redis
from slack_bolt.adapter.asgi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alerts.receiver import HookConfig, hook_routes
from bot.http_limits import RequestLimits, read_body, refuse, replay
from bot.logs import bind_request_id
from bot.metrics import ACK_SECONDS, count_hook_request, metrics_route
from bot.redis_client import ping_once
from oktaclient import OktaClient

log = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"
READY_TIMEOUT_S = 2.0  # a load balancer's probe should not hang on a slow dependency
ERROR_NAME_LIMIT = 64
# Slack documents no maximum; a block_actions payload carries the whole message it came from (up to
# 50 blocks of 3,000 characters, URL-encoded JSON), which stays well under this.
SLACK_BODY_LIMIT = 1 << 20
HOOK_BODY_LIMIT = 1 << 20


def create_web_app(
    *,
    redis: Redis,
    bolt: AsyncApp,
    hook_secret: str,
    signing_secret: str,
    previous_hook_secret: str = "",
    okta: OktaClient | None = None,
    extra_routes: list[BaseRoute] | None = None,
) -> ASGIApp:
    slack = _SlackEvents(bolt, signing_secret)

    async def healthz(_: Request) -> JSONResponse:
        # liveness: answering at all shows the process and its event loop are running
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> JSONResponse:
        # readiness: what every request needs answers now (Redis asked once, not through the client's
        # retries; each probe within READY_TIMEOUT_S)
        probes = {"redis": ping_once(redis), **({"okta": okta.ping()} if okta is not None else {})}
        checks = dict(zip(probes, await asyncio.gather(*map(_check, probes.values())), strict=True))
        down = [name for name, outcome in checks.items() if outcome != "ok"]
        body = {"ready": not down, "checks": checks, **({"down": down} if down else {})}
        return JSONResponse(body, status_code=503 if down else 200)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route(SLACK_EVENTS_PATH, slack, methods=["POST"]),  # for the 405 to other methods
        *hook_routes(_hook_config(hook_secret, previous_hook_secret), redis, count_hook_request),
        metrics_route(),
        *(extra_routes or []),
    ]
    limits = {SLACK_EVENTS_PATH: SLACK_BODY_LIMIT, "/okta/hooks": HOOK_BODY_LIMIT}
    return RequestLimits(_SlackFirst(slack, Starlette(routes=routes)), limits)


def _hook_config(secret: str, previous: str) -> HookConfig:
    return HookConfig(secret=SecretStr(secret), previous_secret=SecretStr(previous), max_body_bytes=HOOK_BODY_LIMIT)


class _SlackFirst:
    """Slack's POSTs go to Bolt before Starlette's middleware and router see them, everything else
    to Starlette: under a burst of commands, every microsecond of an ack is paid 200 times over."""

    def __init__(self, slack: ASGIApp, rest: ASGIApp) -> None:
        self._slack = slack
        self._rest = rest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == SLACK_EVENTS_PATH and scope["method"] == "POST":
            await self._slack(scope, receive, send)
        else:
            await self._rest(scope, receive, send)


class _SlackEvents:
    """Slack's requests: signature and timestamp verified on the raw body (slack_sdk's verifier),
    then straight into Bolt's ASGI adapter, with no Starlette Request built per ack
    (bench/bench_ack.py).

    Bolt would parse the body before its own verification and log the body of a request that fails
    it, so the check is made here and Bolt's own is off (bot/slack_app.py). A refused request gets a
    401 and one WARNING line without its body; a signed request that Bolt cannot read gets a 400.
    """

    def __init__(self, bolt: AsyncApp, signing_secret: str) -> None:
        self._bolt = AsyncSlackRequestHandler(bolt, path=SLACK_EVENTS_PATH)
        # empty: every request is refused (fail closed); `check` and the settings say why
        self._verifier = SignatureVerifier(signing_secret) if signing_secret.strip() else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive, SLACK_BODY_LIMIT)
        assert body is not None  # RequestLimits, in front of this, refused anything longer
        problem = self._unverified(scope, body)
        if problem is not None:
            await refuse(send, 401, f"invalid request ({problem})", scope["path"])
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        # the id follows the command into its handler task (context variables are inherited) and Okta calls
        with bind_request_id(), ACK_SECONDS.time():
            try:
                await self._bolt(scope, replay(body, receive), tracked)  # type: ignore[arg-type]  # Bolt types a narrower scope
            except Exception as exc:  # noqa: BLE001 - a signed body Bolt cannot read (Slack never sends one)
                log.warning("signed Slack request not readable: %s", type(exc).__name__)
                if not started:
                    await refuse(send, 400, "unreadable request", scope["path"])

    def _unverified(self, scope: Scope, body: bytes) -> str | None:
        """Why the request is not Slack's, or None when its signature and timestamp hold."""
        if self._verifier is None:
            return "no signing secret configured"
        headers = dict(scope["headers"])
        timestamp = headers.get(b"x-slack-request-timestamp", b"").decode("latin-1")
        signature = headers.get(b"x-slack-signature", b"").decode("latin-1")
        if not signature or not (timestamp.isdigit() and len(timestamp) <= 12):
            return "no signature"
        if abs(time.time() - int(timestamp)) > 300:  # Slack's 5 minutes
            return "stale timestamp"
        if not self._verifier.is_valid(body, timestamp, signature):
            return "bad signature"
        return None


async def _check(probe: Awaitable[object]) -> str:
    """"ok", or the kind of failure: an exception's class name (bounded), never its message, which may
    quote a host, a user or a reply."""
    try:
        await asyncio.wait_for(probe, timeout=READY_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; say which
        return f"error: {type(exc).__name__[:ERROR_NAME_LIMIT]}"
    return "ok"
