"""The event hook endpoint over real HTTP into a real Redis: verification, auth, limits, validation, storage."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import cast

import httpx
import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from alerts.receiver import HookConfig, HookObserver, HookOutcome, create_hook_app
from alerts.stream import STREAM_KEY
from bot.server import BackgroundServer
from tests.alerts_support import SECRET, delivery, log_event
from tests.chatops_support import ChatOps
from tests.conftest import free_port

LIMIT = 64 * 1024


async def _serve(
    config: HookConfig, redis: aioredis.Redis, observe: HookObserver | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        BackgroundServer(create_hook_app(config, redis, observe)) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        yield client


@pytest.fixture
async def hook(redis: aioredis.Redis) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _serve(HookConfig(secret=SecretStr(SECRET), max_body_bytes=LIMIT), redis):
        yield client


AUTH = {"Authorization": SECRET}


async def test_verification_echoes_the_challenge(hook: httpx.AsyncClient) -> None:
    response = await hook.get("/okta/hooks", headers={**AUTH, "X-Okta-Verification-Challenge": "c-123"})
    assert response.status_code == 200
    assert response.json() == {"verification": "c-123"}


@pytest.mark.parametrize("headers", [{"Authorization": "wrong"}, {"Authorization": SECRET + "x"}, {}])
async def test_verification_needs_the_secret(hook: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await hook.get("/okta/hooks", headers={**headers, "X-Okta-Verification-Challenge": "c-123"})
    assert response.status_code == 401
    assert "c-123" not in response.text


async def test_verification_without_challenge_is_a_bad_request(hook: httpx.AsyncClient) -> None:
    assert (await hook.get("/okta/hooks", headers=AUTH)).status_code == 400


async def test_delivery_is_stored_in_order_and_verbatim(hook: httpx.AsyncClient, redis: aioredis.Redis) -> None:
    events = [log_event(), log_event("user.account.lock"), log_event("group.user_membership.add")]
    response = await hook.post("/okta/hooks", json=delivery(*events), headers=AUTH)
    assert response.status_code == 200
    entries = cast(list[tuple[str, dict[str, str]]], await redis.xrange(STREAM_KEY))
    assert [fields["uuid"] for _, fields in entries] == [e["uuid"] for e in events]
    assert [json.loads(fields["event"]) for _, fields in entries] == events  # unknown fields kept too


async def test_empty_delivery_is_accepted(hook: httpx.AsyncClient, redis: aioredis.Redis) -> None:
    assert (await hook.post("/okta/hooks", json=delivery(), headers=AUTH)).status_code == 200
    assert await redis.xlen(STREAM_KEY) == 0


@pytest.mark.parametrize("headers", [{"Authorization": "Bearer " + SECRET}, {"X-Other": SECRET}, {}])
async def test_delivery_needs_the_secret(
    hook: httpx.AsyncClient, redis: aioredis.Redis, headers: dict[str, str]
) -> None:
    response = await hook.post("/okta/hooks", json=delivery(log_event()), headers=headers)
    assert response.status_code == 401
    assert await redis.exists(STREAM_KEY) == 0


async def test_oversized_body_is_refused(hook: httpx.AsyncClient, redis: aioredis.Redis) -> None:
    big = delivery(*(log_event(message="x" * 2000) for _ in range(40)))
    response = await hook.post("/okta/hooks", json=big, headers=AUTH)
    assert response.status_code == 413
    assert await redis.exists(STREAM_KEY) == 0


async def test_oversized_body_without_content_length_is_refused_while_reading(
    hook: httpx.AsyncClient, redis: aioredis.Redis
) -> None:
    async def chunks() -> AsyncIterator[bytes]:  # chunked transfer: no Content-Length to trust or distrust
        yield b'{"eventType": "com.okta.event_hook", "data": {"events": ['
        for _ in range(LIMIT // 1000 + 1):
            yield b" " * 1000

    response = await hook.post("/okta/hooks", content=chunks(), headers=AUTH)
    assert response.status_code == 413
    assert await redis.exists(STREAM_KEY) == 0


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe",
        b"[]",
        json.dumps({"eventType": "com.okta.event_hook"}).encode(),
        json.dumps({"data": {"events": [{"eventType": "user.session.start"}]}}).encode(),  # events lack uuid etc.
        json.dumps(delivery({**log_event(), "published": "yesterday"})).encode(),
    ],
)
async def test_not_a_delivery_is_a_bad_request(hook: httpx.AsyncClient, redis: aioredis.Redis, body: bytes) -> None:
    response = await hook.post("/okta/hooks", content=body, headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert await redis.exists(STREAM_KEY) == 0


async def test_configured_header_name(redis: aioredis.Redis) -> None:
    config = HookConfig(secret=SecretStr(SECRET), auth_header="X-Okta-Secret")
    async for client in _serve(config, redis):
        assert (await client.post("/okta/hooks", json=delivery(log_event()), headers=AUTH)).status_code == 401
        ok = await client.post("/okta/hooks", json=delivery(log_event()), headers={"X-Okta-Secret": SECRET})
        assert ok.status_code == 200


async def test_empty_secret_refuses_everyone(redis: aioredis.Redis) -> None:
    async for client in _serve(HookConfig(secret=SecretStr("")), redis):
        response = await client.post("/okta/hooks", json=delivery(log_event()), headers={"Authorization": ""})
        assert response.status_code == 401


async def test_redis_down_answers_503_so_okta_retries() -> None:
    unreachable = aioredis.Redis(port=free_port(), decode_responses=True)
    config = HookConfig(secret=SecretStr(SECRET), store_timeout=0.3)  # the client would retry for longer
    async for client in _serve(config, unreachable):
        response = await client.post("/okta/hooks", json=delivery(log_event()), headers=AUTH)
        assert response.status_code == 503
    await unreachable.aclose()


PREVIOUS = "the-previous-hook-secret-0123"


async def test_the_previous_secret_is_accepted_while_the_secret_rotates(redis: aioredis.Redis) -> None:
    seen: list[tuple[str, HookOutcome]] = []
    config = HookConfig(secret=SecretStr(SECRET), previous_secret=SecretStr(PREVIOUS))
    async for client in _serve(config, redis, lambda request, outcome: seen.append((request, outcome))):
        old = {"Authorization": PREVIOUS}
        challenge = await client.get("/okta/hooks", headers={**old, "X-Okta-Verification-Challenge": "c-1"})
        assert challenge.json() == {"verification": "c-1"}
        assert (await client.post("/okta/hooks", json=delivery(log_event()), headers=old)).status_code == 200
        assert (await client.post("/okta/hooks", json=delivery(log_event()), headers=AUTH)).status_code == 200
        anonymous = await client.post("/okta/hooks", json=delivery(log_event()), headers={"Authorization": ""})
        assert anonymous.status_code == 401
    assert await redis.xlen(STREAM_KEY) == 2
    assert seen == [
        ("verification", HookOutcome.ACCEPTED_PREVIOUS),
        ("delivery", HookOutcome.ACCEPTED_PREVIOUS),
        ("delivery", HookOutcome.ACCEPTED),
        ("delivery", HookOutcome.WRONG_SECRET),
    ]


@pytest.mark.parametrize(
    ("secret", "headers", "outcome"),
    [
        ("", {"Authorization": "anything"}, "no_secret"),
        (SECRET, {}, "no_credential"),
        (SECRET, {"Authorization": "guessed-" + "x" * 5000}, "wrong_secret"),
    ],
)
async def test_a_refused_delivery_is_logged_without_its_body(
    redis: aioredis.Redis, caplog: pytest.LogCaptureFixture, secret: str, headers: dict[str, str], outcome: str
) -> None:
    body = delivery(log_event(message="a body that must not be logged"))
    async for client in _serve(HookConfig(secret=SecretStr(secret)), redis):
        assert (await client.post("/okta/hooks", json=body, headers=headers)).status_code == 401
    [record] = [r for r in caplog.records if r.name == "alerts.receiver"]
    assert record.levelname == "WARNING"
    assert record.getMessage().startswith(f"event hook delivery refused with HTTP 401 ({outcome}): ")
    fields = {k: v for k, v in vars(record).items() if k in ("hook_request", "outcome", "peer")}
    assert fields == {"hook_request": "delivery", "outcome": outcome, "peer": "127.0.0.1"}
    text = record.getMessage() + repr(vars(record))
    assert "must not be logged" not in text and "guessed-" not in text and len(record.getMessage()) < 300


async def test_refusals_are_counted_in_metrics_over_the_bot_s_web_app(chatops: ChatOps, redis: aioredis.Redis) -> None:
    """The bot's own app: refused and accepted requests to /okta/hooks reach /metrics, by outcome."""
    from bot.web import create_web_app

    def counts(text: str) -> dict[str, float]:
        prefix = 'okc_hook_requests_total{outcome="'
        found = {}
        for line in text.splitlines():
            if line.startswith(prefix) and 'request="delivery"' in line:
                found[line[len(prefix) :].split('"')[0]] = float(line.rsplit(" ", 1)[1])
        return found

    app = create_web_app(
        redis=redis, bolt=chatops.bot.bolt, hook_secret=SECRET, previous_hook_secret=PREVIOUS,
        signing_secret=chatops.ws.signing_secret,
    )
    async with BackgroundServer(app) as server, httpx.AsyncClient(base_url=server.url) as http:
        before = counts((await http.get("/metrics")).text)
        for headers in ({"Authorization": "wrong"}, {"Authorization": "wrong"}, {}, {"Authorization": PREVIOUS}, AUTH):
            await http.post("/okta/hooks", json=delivery(log_event()), headers=headers)
        after = counts((await http.get("/metrics")).text)
    moved = {outcome: after[outcome] - before[outcome] for outcome in after if after[outcome] != before[outcome]}
    assert moved == {"wrong_secret": 2, "no_credential": 1, "accepted_previous_secret": 1, "accepted": 1}
    assert set(after) == {o.value for o in HookOutcome}  # every outcome served from the start, and no other
