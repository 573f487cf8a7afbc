"""The Okta event hook endpoint: verify the one-time challenge, take deliveries into the alert stream.

Okta gives an endpoint 3 seconds and retries a delivery once, so a POST does the least that makes
the events durable, stores them in one round trip, and answers; posting to Slack happens later in
the workers. A 200 means "stored in Redis", never "posted". Anything that is not an authentic,
well-formed delivery is refused with a 4xx, which Okta does not retry.
"""

from __future__ import annotations

import asyncio
import hmac
import logging

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_core import from_json, to_json
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from alerts.stages import Stage, count
from alerts.stream import DEFAULT_MAXLEN, STREAM_KEY, RawEvent, StreamWriter
from oktaclient.models import EventHookDelivery

log = logging.getLogger(__name__)

CHALLENGE_HEADER = "x-okta-verification-challenge"


class HookConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    secret: SecretStr  # the value Okta sends in `auth_header`; empty refuses every request
    auth_header: str = "Authorization"
    path: str = "/okta/hooks"
    max_body_bytes: int = Field(default=1 << 20, gt=0)
    # Well inside Okta's 3 s: a slow Redis gets a 503 (which Okta retries) rather than a timeout.
    store_timeout: float = Field(default=2.0, gt=0)
    stream: str = STREAM_KEY
    maxlen: int = Field(default=DEFAULT_MAXLEN, gt=0)


class _TooLarge(Exception):
    pass


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it passes `limit` bytes: Content-Length is checked but not trusted."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_delivery(body: bytes) -> list[RawEvent] | None:
    """The delivery's events, each kept as Okta sent it (unknown fields included); None if not a delivery."""
    # pydantic_core's JSON parser and serializer: the same data as the json module's, in less time
    try:
        raw = from_json(body)
        EventHookDelivery.model_validate(raw)
    except (ValueError, ValidationError):  # malformed JSON (or UTF-8) is a ValueError
        return None
    return [RawEvent(e["uuid"], to_json(e).decode()) for e in raw["data"]["events"]]


class HookReceiver:
    def __init__(self, config: HookConfig, redis: aioredis.Redis) -> None:
        self._config = config
        self._writer = StreamWriter(redis, stream=config.stream, maxlen=config.maxlen)
        self._secret = config.secret.get_secret_value().encode()

    def _authorized(self, request: Request) -> bool:
        presented = request.headers.get(self._config.auth_header, "").encode()
        # compare_digest takes time independent of where the values differ; always run it.
        return hmac.compare_digest(presented, self._secret) and bool(self._secret)

    async def verify(self, request: Request) -> Response:
        if not self._authorized(request):
            return _error(401, "unauthorized")
        challenge = request.headers.get(CHALLENGE_HEADER)
        if challenge is None:
            return _error(400, "missing X-Okta-Verification-Challenge header")
        return JSONResponse({"verification": challenge})

    async def deliver(self, request: Request) -> Response:
        if not self._authorized(request):
            return _error(401, "unauthorized")
        try:
            body = await _read_body(request, self._config.max_body_bytes)
        except _TooLarge:
            return _error(413, f"body larger than {self._config.max_body_bytes} bytes")
        events = _parse_delivery(body)
        if events is None:
            return _error(400, "not an Okta event hook delivery")
        try:
            async with asyncio.timeout(self._config.store_timeout):
                await self._writer.append(events)
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("event hook delivery not stored (%s); Okta will retry", type(exc).__name__)
            return _error(503, "could not store the events")
        count(Stage.RECEIVED, len(events))
        return Response(status_code=200)


def hook_routes(config: HookConfig, redis: aioredis.Redis) -> list[Route]:
    """GET (verification) and POST (deliveries) at `config.path`, to add to the bot's Starlette routes."""
    receiver = HookReceiver(config, redis)
    return [
        Route(config.path, receiver.verify, methods=["GET"]),
        Route(config.path, receiver.deliver, methods=["POST"]),
    ]


def create_hook_app(config: HookConfig, redis: aioredis.Redis) -> Starlette:
    """The hook routes alone, as an ASGI app (tests, the benchmark)."""
    return Starlette(routes=hook_routes(config, redis))
