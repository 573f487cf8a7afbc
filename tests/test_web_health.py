"""Health and readiness over HTTP: /healthz says the process is up (liveness), /readyz that Redis and Okta
answer now (readiness), naming what does not."""

from __future__ import annotations

import httpx
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from bot.redis_client import connect_redis
from bot.server import BackgroundServer
from bot.settings import load_settings
from bot.web import create_web_app
from oktaclient import OktaClient
from oktasim import OktaOrg
from tests.chatops_support import HOOK_SECRET, ChatOps
from tests.conftest import free_port


async def _get(chatops: ChatOps, okta: OktaClient, redis: aioredis.Redis, path: str) -> httpx.Response:
    app = create_web_app(
        redis=redis, bolt=chatops.bot.bolt, hook_secret=HOOK_SECRET, signing_secret=chatops.ws.signing_secret, okta=okta
    )
    async with BackgroundServer(app) as server, httpx.AsyncClient(base_url=server.url) as http:
        return await http.get(path)


async def test_ready_when_redis_and_okta_answer(chatops: ChatOps, okta: OktaClient, redis: aioredis.Redis) -> None:
    response = await _get(chatops, okta, redis, "/readyz")
    assert response.status_code == 200
    assert response.json() == {"ready": True, "checks": {"redis": "ok", "okta": "ok"}}


async def test_not_ready_when_okta_rejects_the_credentials(
    chatops: ChatOps, okta_org: OktaOrg, okta_sim: BackgroundServer, redis: aioredis.Redis
) -> None:
    async with OktaClient.from_api_token(okta_sim.url, "00revoked-token") as bad:
        response = await _get(chatops, bad, redis, "/readyz")
    assert response.status_code == 503
    assert response.json() == {"ready": False, "checks": {"redis": "ok", "okta": "error: OktaAuthError"}, "down": ["okta"]}


async def test_not_ready_when_redis_is_down_but_still_healthy(chatops: ChatOps, okta: OktaClient) -> None:
    unreachable = aioredis.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))
    assert (await _get(chatops, okta, unreachable, "/healthz")).json() == {"status": "ok"}
    response = await _get(chatops, okta, unreachable, "/readyz")
    assert response.status_code == 503
    assert response.json() == {"ready": False, "checks": {"redis": "error: ConnectionError", "okta": "ok"}, "down": ["redis"]}
    await unreachable.aclose()


async def test_readiness_is_asked_once_not_through_the_clients_retries(chatops: ChatOps, okta: OktaClient) -> None:
    # the bot's client would retry for seconds, past READY_TIMEOUT_S (a TimeoutError); the probe does not wait
    client = connect_redis(load_settings(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    try:
        response = await _get(chatops, okta, client.redis, "/readyz")
    finally:
        await client.aclose()
    assert response.status_code == 503 and response.json()["checks"]["redis"] == "error: ConnectionError"
