"""The bot's HTTP surface: one Starlette app with Slack's endpoint, Okta's hook endpoint and health."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from pydantic import SecretStr
from redis.asyncio import Redis
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

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
) -> Starlette:
    slack = AsyncSlackRequestHandler(bolt)

    async def slack_events(request: Request):  # type: ignore[no-untyped-def]
        # the id follows the command into its handler task (context variables are inherited) and Okta calls
        with bind_request_id(), ACK_SECONDS.time():
            return await slack.handle(request)

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
        Route(SLACK_EVENTS_PATH, slack_events, methods=["POST"]),
        *hook_routes(HookConfig(secret=SecretStr(hook_secret)), redis),
        metrics_route(),
        *(extra_routes or []),
    ]
    return Starlette(routes=routes)


async def _check(probe: Awaitable[object]) -> str:
    try:
        await asyncio.wait_for(probe, timeout=READY_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; say which
        return f"error: {type(exc).__name__}"
    return "ok"
