"""The Okta event hook endpoint: verify the one-time challenge, take deliveries into the alert stream.

Okta gives an endpoint 3 seconds and retries a delivery once, so a POST does the least that makes
the events durable, stores them in one round trip, and answers; posting to Slack happens later in
the workers. A 200 means "stored in Redis", never "posted". Anything that is not an authentic,
well-formed delivery is refused with a 4xx, which Okta does not retry, so each refusal is logged
(a WARNING without the body) and told to the `observe` callback, which the bot counts in /metrics.

Two secrets may be accepted: OKTA_HOOK_SECRET and, while it rotates, OKTA_HOOK_SECRET_PREVIOUS, so
the hook keeps delivering with the old secret until `okta-chatops hooks register` gives Okta the new one.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable
from enum import StrEnum
from typing import Literal

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


class HookOutcome(StrEnum):
    """What became of a request to the endpoint: a closed set, for log fields and metric labels."""

    ACCEPTED = "accepted"
    ACCEPTED_PREVIOUS = "accepted_previous_secret"  # the rotation is not finished: Okta still sends the old one
    NO_SECRET = "no_secret"  # the bot has no OKTA_HOOK_SECRET, so it refuses everything
    NO_CREDENTIAL = "no_credential"  # the request carried no secret
    WRONG_SECRET = "wrong_secret"
    TOO_LARGE = "too_large"
    MALFORMED = "malformed"  # not a delivery, or a verification without its challenge
    NOT_STORED = "not_stored"  # Redis did not take it in time: a 503, which Okta retries once


# What the operator does about each refusal; in the log line, since Okta tells nobody.
_REMEDY = {
    HookOutcome.NO_SECRET: "set OKTA_HOOK_SECRET on the bot (the value the hook was registered with)",
    HookOutcome.NO_CREDENTIAL: "the caller sent no secret: not Okta, or a hook registered without one",
    HookOutcome.WRONG_SECRET: (
        "the secret matches neither OKTA_HOOK_SECRET nor OKTA_HOOK_SECRET_PREVIOUS: run "
        "`okta-chatops hooks register` with this bot's OKTA_HOOK_SECRET"
    ),
    HookOutcome.TOO_LARGE: "not a delivery Okta sends (too large)",
    HookOutcome.MALFORMED: "not an Okta event hook request",
}

HookRequest = Literal["verification", "delivery"]
HookObserver = Callable[[HookRequest, HookOutcome], None]


class HookConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    secret: SecretStr  # the value Okta sends in `auth_header`; empty refuses every request
    previous_secret: SecretStr = SecretStr("")  # also accepted while the secret rotates; empty: none
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
    def __init__(self, config: HookConfig, redis: aioredis.Redis, observe: HookObserver | None = None) -> None:
        self._config = config
        self._writer = StreamWriter(redis, stream=config.stream, maxlen=config.maxlen)
        self._secret = config.secret.get_secret_value().encode()
        self._previous = config.previous_secret.get_secret_value().encode()
        self._observe = observe

    def _authenticate(self, request: Request) -> HookOutcome:
        presented = request.headers.get(self._config.auth_header)
        if not self._secret:
            return HookOutcome.NO_SECRET
        if presented is None:
            return HookOutcome.NO_CREDENTIAL
        value = presented.encode()
        # compare_digest takes time independent of where the values differ; both always run.
        current = hmac.compare_digest(value, self._secret)
        previous = hmac.compare_digest(value, self._previous) and bool(self._previous)
        if current:
            return HookOutcome.ACCEPTED
        return HookOutcome.ACCEPTED_PREVIOUS if previous else HookOutcome.WRONG_SECRET

    def _answer(self, request: Request, kind: HookRequest, outcome: HookOutcome, response: Response) -> Response:
        if self._observe is not None:
            self._observe(kind, outcome)
        remedy = _REMEDY.get(outcome)
        if remedy is not None:
            # No body, no header values: only fields from closed sets and the peer's address.
            peer = request.client.host if request.client else None
            log.warning(
                "event hook %s refused with HTTP %d (%s): %s", kind, response.status_code, outcome.value, remedy,
                extra={"hook_request": kind, "outcome": outcome.value, "peer": peer},
            )
        return response

    async def verify(self, request: Request) -> Response:
        outcome = self._authenticate(request)
        if outcome not in (HookOutcome.ACCEPTED, HookOutcome.ACCEPTED_PREVIOUS):
            return self._answer(request, "verification", outcome, _error(401, "unauthorized"))
        challenge = request.headers.get(CHALLENGE_HEADER)
        if challenge is None:
            response = _error(400, "missing X-Okta-Verification-Challenge header")
            return self._answer(request, "verification", HookOutcome.MALFORMED, response)
        return self._answer(request, "verification", outcome, JSONResponse({"verification": challenge}))

    async def deliver(self, request: Request) -> Response:
        outcome = self._authenticate(request)
        if outcome not in (HookOutcome.ACCEPTED, HookOutcome.ACCEPTED_PREVIOUS):
            return self._answer(request, "delivery", outcome, _error(401, "unauthorized"))
        try:
            body = await _read_body(request, self._config.max_body_bytes)
        except _TooLarge:
            response = _error(413, f"body larger than {self._config.max_body_bytes} bytes")
            return self._answer(request, "delivery", HookOutcome.TOO_LARGE, response)
        events = _parse_delivery(body)
        if events is None:
            response = _error(400, "not an Okta event hook delivery")
            return self._answer(request, "delivery", HookOutcome.MALFORMED, response)
        try:
            async with asyncio.timeout(self._config.store_timeout):
                await self._writer.append(events)
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("event hook delivery not stored (%s); Okta will retry", type(exc).__name__)
            response = _error(503, "could not store the events")
            return self._answer(request, "delivery", HookOutcome.NOT_STORED, response)
        count(Stage.RECEIVED, len(events))
        return self._answer(request, "delivery", outcome, Response(status_code=200))


def hook_routes(config: HookConfig, redis: aioredis.Redis, observe: HookObserver | None = None) -> list[Route]:
    """GET (verification) and POST (deliveries) at `config.path`, to add to the bot's Starlette routes;
    `observe(request, outcome)` hears of every request's outcome."""
    receiver = HookReceiver(config, redis, observe)
    return [
        Route(config.path, receiver.verify, methods=["GET"]),
        Route(config.path, receiver.deliver, methods=["POST"]),
    ]


def create_hook_app(config: HookConfig, redis: aioredis.Redis, observe: HookObserver | None = None) -> Starlette:
    """The hook routes alone, as an ASGI app (tests, the benchmark)."""
    return Starlette(routes=hook_routes(config, redis, observe))
