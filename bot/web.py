"""The bot's HTTP surface: one Starlette app with Slack's endpoint, Okta's hook endpoint and health."""

from __future__ import annotations

from pydantic import SecretStr
from redis.asyncio import Redis
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from alerts.receiver import HookConfig, hook_routes

SLACK_EVENTS_PATH = "/slack/events"


def create_web_app(
    *, redis: Redis, bolt: AsyncApp, hook_secret: str, extra_routes: list[BaseRoute] | None = None
) -> Starlette:
    slack = AsyncSlackRequestHandler(bolt)

    async def slack_events(request: Request):  # type: ignore[no-untyped-def]
        return await slack.handle(request)

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            await redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready; say which
            checks["redis"] = f"error: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route(SLACK_EVENTS_PATH, slack_events, methods=["POST"]),
        *hook_routes(HookConfig(secret=SecretStr(hook_secret)), redis),
        *(extra_routes or []),
    ]
    return Starlette(routes=routes)
