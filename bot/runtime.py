"""The composition root: builds the process's shared resources from settings.

Each outside party is either real (configured) or a local stand-in served over loopback HTTP,
so the bot itself has one code path: it always talks HTTP to "Okta" and "Slack", and Redis
is always a real server (REDIS_URL, Sentinel, or the embedded one, which is kept running).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import aiohttp
import httpx
import redis.asyncio as aioredis
from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import instrument_okta_http
from bot.redis_client import connect_redis
from bot.redis_server import EmbeddedRedis, RedisStartError
from bot.server import BackgroundServer
from bot.settings import Settings
from oktaclient import OktaClient

if TYPE_CHECKING:  # the stand-ins are imported only when they are used
    from oktasim import OktaOrg
    from slacksim import SlackWorkspace

log = logging.getLogger(__name__)

EXIT_REDIS_LOST = 3  # the process's exit code when the embedded Redis died and could not be restarted


@dataclass
class Parts:
    """What is real and what is simulated, for the start-up banner and /readyz."""

    slack: str = "simulated"
    okta: str = "simulated"
    redis: str = "embedded"
    notes: list[str] = field(default_factory=list)


class Runtime:
    """`async with Runtime(settings) as rt:` gives rt.redis, rt.okta, rt.slack and the stand-ins' handles."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.parts = Parts()
        self._stack = AsyncExitStack()
        self.redis: aioredis.Redis
        self.okta: OktaClient
        self.slack: AsyncWebClient
        self.signing_secret: str = ""
        self.hook_secret: str = ""
        self.okta_org_url: str = ""
        self.okta_sim: OktaOrg | None = None  # when Okta is simulated
        self.slack_sim: SlackWorkspace | None = None  # when Slack is simulated
        self.embedded_redis: EmbeddedRedis | None = None
        self._redis_lost: RedisStartError | None = None

    async def __aenter__(self) -> Self:
        try:
            await self._start_redis()
            await self._start_okta()
            await self._start_slack()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.aclose()
        if self._redis_lost is not None:
            raise SystemExit(EXIT_REDIS_LOST)  # whatever else failed for want of it

    async def _start_redis(self) -> None:
        url = None
        if self.settings.redis_embedded:
            embedded = self.embedded_redis = EmbeddedRedis(self.settings.data_dir / "redis")
            url = embedded.start()
            self._stack.callback(embedded.stop)
            supervisor = asyncio.create_task(self._supervise(embedded), name="embedded redis-server supervisor")
            self._stack.push_async_callback(_cancelled, supervisor)
        client = connect_redis(self.settings, url)
        self.redis = client.redis
        self._stack.push_async_callback(client.aclose)
        self.parts.redis = f"embedded (data in {self.embedded_redis.data_dir})" if self.embedded_redis else client.where

    async def _supervise(self, embedded: EmbeddedRedis) -> None:
        """Keeps the embedded server running; if it cannot, stops the process the way `docker stop`
        does (SIGTERM: requests in flight finish), and leaving the Runtime then exits non-zero."""
        try:
            await embedded.supervise()
        except RedisStartError as exc:
            log.critical("%s; stopping the bot", exc)
            self._redis_lost = exc
            os.kill(os.getpid(), signal.SIGTERM)

    async def _start_okta(self) -> None:
        s = self.settings
        self.hook_secret = s.okta_hook_secret.get_secret_value() if s.okta_hook_secret else ""
        if s.okta_configured:
            assert s.okta_org_url is not None
            self.okta_org_url = s.okta_org_url
            client = okta_client(s, http=await self._okta_http())
            self.parts.okta = f"real ({s.okta_org_url})"
        else:
            from oktasim import create_app, seed_demo_org

            org = seed_demo_org()
            token = secrets.token_urlsafe(24)
            org.add_api_token(token)
            server = await self._stack.enter_async_context(BackgroundServer(create_app(org), access_log=False))
            self.okta_sim = org
            self.okta_org_url = server.url
            self.hook_secret = self.hook_secret or secrets.token_urlsafe(24)
            client = OktaClient.from_api_token(server.url, token, http=await self._okta_http())
            self.parts.okta = f"simulated (demo org at {server.url})"
        self.okta = await self._stack.enter_async_context(client)

    async def _okta_http(self) -> httpx.AsyncClient:
        """The Okta client's HTTP connection pool, timed for /metrics."""
        http = instrument_okta_http(httpx.AsyncClient())
        self._stack.push_async_callback(http.aclose)
        return http

    async def _start_slack(self) -> None:
        s = self.settings
        if s.slack_configured:
            assert s.slack_bot_token is not None
            token, base_url = s.slack_bot_token.get_secret_value(), s.slack_api_url
            self.signing_secret = s.slack_signing_secret.get_secret_value() if s.slack_signing_secret else ""
            self.parts.slack = "real (Socket Mode)" if s.socket_mode else "real (HTTP)"
        else:
            from slacksim import create_app, demo_workspace

            ws = demo_workspace()
            server = await self._stack.enter_async_context(BackgroundServer(create_app(ws), access_log=False))
            ws.base_url = server.url  # so response_url links it hands out point at this server
            self.slack_sim = ws
            token, base_url = ws.bot_token, f"{server.url}/api/"
            self.signing_secret = ws.signing_secret
            self.parts.slack = f"simulated (Slack Web API stand-in at {server.url})"
        # One connection pool for every Web API call: without a session slack_sdk opens a new one (a new
        # TCP and TLS connection to slack.com) per call.
        session = aiohttp.ClientSession()
        self._stack.push_async_callback(session.close)
        # No 429 retry handler: the Slack port (slackport/) waits out Retry-After per channel itself.
        self.slack = AsyncWebClient(token=token, base_url=base_url, session=session)


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def okta_client(settings: Settings, **options: Any) -> OktaClient:
    """The client for the configured (real) Okta org: API token, or OAuth with private_key_jwt."""
    assert settings.okta_org_url is not None
    if settings.okta_api_token is not None:
        return OktaClient.from_api_token(settings.okta_org_url, settings.okta_api_token.get_secret_value(), **options)
    return OktaClient.from_private_key(
        settings.okta_org_url,
        settings.okta_client_id or "",
        settings.okta_private_key_pem() or "",
        scopes=list(settings.okta_scopes),
        **options,
    )
