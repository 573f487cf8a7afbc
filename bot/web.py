"""The bot's HTTP surface: one Starlette app with Slack's endpoint, Okta's hook endpoint and health."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from pydantic import SecretStr
from redis.asyncio import Redis
from slack_bolt.adapter.asgi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from alerts.receiver import HookConfig, hook_routes
from bot.logs import bind_request_id
from bot.metrics import ACK_SECONDS, metrics_route
from oktaclient import OktaClient

SLACK_EVENTS_PATH = "/slack/events"
READY_TIMEOUT_S = 2.0  # a load balancer's probe should not hang on a slow dependency


def create_web_app(
    *,
    redis: Redis,
    bolt: AsyncApp,
    hook_secret: str,
    okta: OktaClient | None = None,
    extra_routes: list[BaseRoute] | None = None,
) -> ASGIApp:
    slack = _SlackEvents(bolt)

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> JSONResponse:
        checks = {"redis": await _check(redis.ping())}
        if okta is not None:
            checks["okta"] = await _check(okta.ping())
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route(SLACK_EVENTS_PATH, slack, methods=["POST"]),  # for the 405 to other methods
        *hook_routes(HookConfig(secret=SecretStr(hook_secret)), redis),
        metrics_route(),
        *(extra_routes or []),
    ]
    return _SlackFirst(slack, Starlette(routes=routes))


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
    """Slack's requests, straight into Bolt's ASGI adapter: no Starlette Request to build per ack
    (bench/bench_ack.py)."""

    def __init__(self, bolt: AsyncApp) -> None:
        self._bolt = AsyncSlackRequestHandler(bolt, path=SLACK_EVENTS_PATH)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # the id follows the command into its handler task (context variables are inherited) and Okta calls
        with bind_request_id(), ACK_SECONDS.time():
            await self._bolt(scope, receive, send)  # type: ignore[arg-type]  # Bolt types a narrower scope dict


async def _check(probe: Awaitable[object]) -> str:
    try:
        await asyncio.wait_for(probe, timeout=READY_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; say which
        return f"error: {type(exc).__name__}"
    return "ok"
