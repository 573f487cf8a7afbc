"""The bot's Redis client (bot/redis_client.py) against a real Redis, through a loopback proxy for the faults:
a script whose reply is lost takes effect once, and TLS with a CA file and an ACL user is checked as set."""

from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, ConnectionError
from slack_bolt.response import BoltResponse

from alerts.stream import STREAM_KEY, RawEvent, StreamWriter
from approvals import ApprovalStore, TransitionResult
from bot.redis_client import RedisClient, connect_redis, ping_once
from bot.redis_server import EmbeddedRedis
from bot.replay_guard import ReplayGuard
from bot.settings import load_settings
from tests.alerts_support import log_event
from tests.conftest import free_port
from tests.redis_proxy_support import RedisProxy, TestCA

APPROVE = b'"op": "approve"'  # in the JSON argument of the approve script, and of no other call


def _port(redis_url: str) -> int:
    return int(redis_url.rsplit(":", 1)[1].split("/")[0])


@pytest.fixture
async def lossy(redis: aioredis.Redis, redis_url: str) -> AsyncIterator[RedisProxy]:
    """A proxy in front of the session's (flushed) Redis, to lose replies through."""
    async with RedisProxy(_port(redis_url)) as proxy:
        yield proxy


async def _warmed_up(store: ApprovalStore) -> None:
    """One request approved, so the scripts are loaded: the reply lost is then an execution's, not a NOSCRIPT."""
    request = await store.create(requester="U0", verb="unlock", target="someone@acme.example")
    assert (await store.approve(request.id, "U9")).execute


async def _audit_outcomes(redis: aioredis.Redis, approval_id: str) -> collections.Counter[str]:
    entries = await redis.xrange("okc:audit")
    return collections.Counter(f["outcome"] for _, f in entries if f.get("approval_id") == approval_id)


async def _approved_with_its_reply_lost(redis: aioredis.Redis, lossy: RedisProxy) -> tuple[str, TransitionResult]:
    """A request, and the result of an approval whose first reply the proxy lost (so it was sent again)."""
    store = ApprovalStore(redis)
    await _warmed_up(store)
    request = await store.create(requester="U1", verb="suspend", target="erin@acme.example")
    lossy.lose_reply_to(APPROVE)
    result = await store.approve(request.id, "U2")
    assert lossy.replies_lost == 1  # the server ran the approval; its answer never came back
    return request.id, result


async def test_an_approval_whose_reply_was_lost_is_resent_and_still_executes_once(
    lossy: RedisProxy, redis: aioredis.Redis
) -> None:
    client = connect_redis(load_settings(redis_url=f"redis://127.0.0.1:{lossy.port}/0"))
    try:
        approval_id, result = await _approved_with_its_reply_lost(client.redis, lossy)
    finally:
        await client.aclose()
    # the resent call got the first call's answer: this caller, and no other, runs the action
    assert result.execute and result.refusal is None and result.executor is not None
    assert (await _audit_outcomes(redis, approval_id)) == {"requested": 1, "approved": 1, "executing": 1}


async def test_without_once_per_call_the_resent_approval_would_be_refused(lossy: RedisProxy) -> None:
    # What the wrapping prevents: redis-py's own client resends the script, which runs a second time.
    plain = aioredis.Redis(port=lossy.port, decode_responses=True, retry=Retry(NoBackoff(), 3))
    try:
        _, result = await _approved_with_its_reply_lost(plain, lossy)
    finally:
        await plain.aclose()
    assert not result.execute and result.refusal == "not_pending"  # nobody would ever run it


async def test_an_alert_append_whose_reply_was_lost_is_stored_once(lossy: RedisProxy, redis: aioredis.Redis) -> None:
    client = connect_redis(load_settings(redis_url=f"redis://127.0.0.1:{lossy.port}/0"))
    first, second = log_event(), log_event()
    writer = StreamWriter(client.redis)
    try:
        await writer.append([RawEvent(first["uuid"], json.dumps(first))])  # the script is loaded by now
        lossy.lose_reply_to(second["uuid"].encode())
        await writer.append([RawEvent(second["uuid"], json.dumps(second))])
    finally:
        await client.aclose()
    assert lossy.replies_lost == 1
    assert [fields["uuid"] for _, fields in await redis.xrange(STREAM_KEY)] == [first["uuid"], second["uuid"]]


async def test_a_slack_delivery_whose_sighting_reply_was_lost_still_runs_once(lossy: RedisProxy) -> None:
    # The replay guard records each delivery; if that record's reply is lost, the client's resend
    # must not take the delivery for its own duplicate (nothing would run), nor let a replay through.
    client = connect_redis(load_settings(redis_url=f"redis://127.0.0.1:{lossy.port}/0"))
    ran: list[str] = []

    async def run() -> None:
        ran.append("ran")

    guard = ReplayGuard(client.redis)
    click = {"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": "a", "action_ts": "1.5"}]}
    try:
        await guard({"command": "/okta", "trigger_id": "warm-up"}, BoltResponse(status=200), run)  # script loaded
        lossy.lose_reply_to(hashlib.sha256(b"click:U1:a:1.5").hexdigest().encode())
        await guard(click, BoltResponse(status=200), run)
        assert lossy.replies_lost == 1
        await guard(click, BoltResponse(status=200), run)  # a real replay of the same click
    finally:
        await client.aclose()
    assert ran == ["ran", "ran"], "the warm-up and the click ran once each; the replay did not"


# -- TLS and ACL -------------------------------------------------------------------------------------

USER, PASSWORD = "okc-bot", "s3cret-acl-password"


@pytest.fixture
async def acl_redis(tmp_path: Path) -> AsyncIterator[int]:
    """A Redis of its own whose only usable user is USER (the default user is off); yields its port."""
    with EmbeddedRedis(tmp_path / "redis", port=free_port(), persist=False) as server:
        async with aioredis.Redis.from_url(server.url) as admin:
            await admin.acl_setuser(USER, enabled=True, passwords=[f"+{PASSWORD}"], keys=["okc:*"], commands=["+@all"])
            await admin.acl_setuser("default", enabled=False)
        yield _port(server.url)


@asynccontextmanager
async def _tls_proxy(tmp_path: Path, upstream: int, *names: str) -> AsyncIterator[tuple[TestCA, RedisProxy]]:
    """A TLS front for the Redis at `upstream`, with a certificate for `names` from a CA of its own."""
    ca = TestCA(tmp_path / "tls", names)
    async with RedisProxy(upstream, tls=ca.server_context()) as proxy:
        yield ca, proxy


@asynccontextmanager
async def _connected(**settings: object) -> AsyncIterator[RedisClient]:
    client = connect_redis(load_settings(**settings))
    try:
        yield client
    finally:
        await client.aclose()


async def _works(client: RedisClient) -> None:
    store = ApprovalStore(client.redis)
    request = await store.create(requester="U1", verb="suspend", target="erin@acme.example")
    assert (await store.get(request.id)) == request


async def test_tls_with_a_ca_file_and_an_acl_user(tmp_path: Path, acl_redis: int) -> None:
    async with _tls_proxy(tmp_path, acl_redis, "127.0.0.1") as (ca, proxy):
        url = f"rediss://{USER}:{PASSWORD}@127.0.0.1:{proxy.port}/0"
        async with _connected(redis_url=url, redis_tls_ca_file=ca.ca_file) as client:
            await _works(client)
            assert client.where == f"127.0.0.1:{proxy.port}"  # where it is, never who it is


@pytest.mark.parametrize(("check", "works"), [("full", False), ("chain", True), ("none", True)])
async def test_cert_check_of_a_server_known_by_another_name(
    tmp_path: Path, acl_redis: int, check: str, works: bool, caplog: pytest.LogCaptureFixture
) -> None:
    # a certificate for redis.internal, reached at 127.0.0.1: as a primary that Sentinel names by address
    async with _tls_proxy(tmp_path, acl_redis, "redis.internal") as (ca, proxy):
        url = f"rediss://{USER}:{PASSWORD}@127.0.0.1:{proxy.port}/0"
        async with _connected(redis_url=url, redis_tls_ca_file=ca.ca_file, redis_tls_cert_check=check) as client:
            if works:
                await _works(client)
            else:
                with pytest.raises(ConnectionError, match="certificate verify failed"):
                    await ping_once(client.redis)
    warned = [r for r in caplog.records if r.levelno == logging.WARNING and "CERT_CHECK=none" in r.getMessage()]
    assert bool(warned) == (check == "none")


async def test_a_server_certificate_from_another_ca_is_refused(tmp_path: Path, acl_redis: int) -> None:
    other = TestCA(tmp_path / "other")
    async with _tls_proxy(tmp_path, acl_redis, "127.0.0.1") as (_, proxy):
        url = f"rediss://{USER}:{PASSWORD}@127.0.0.1:{proxy.port}/0"
        async with _connected(redis_url=url, redis_tls_ca_file=other.ca_file) as client:
            with pytest.raises(ConnectionError, match="certificate verify failed"):
                await ping_once(client.redis)


async def test_a_wrong_acl_password_is_refused_and_never_shown(tmp_path: Path, acl_redis: int) -> None:
    async with _tls_proxy(tmp_path, acl_redis, "127.0.0.1") as (ca, proxy):
        url = f"rediss://{USER}:not-the-password@127.0.0.1:{proxy.port}/0"
        async with _connected(redis_url=url, redis_tls_ca_file=ca.ca_file) as client:
            with pytest.raises(AuthenticationError) as refused:
                await ping_once(client.redis)
    assert "not-the-password" not in str(refused.value)


async def test_a_blocked_stream_read_always_ends_when_cancelled(redis_url: str) -> None:
    """The stream consumers (alerts, "was this you?") stop by being cancelled while they wait in
    XREADGROUP BLOCK. Python 3.11's wait_for, around redis-py's sends, lost a cancellation landing as
    a send completed (at the first attempt here), and the consumer, and the bot's shutdown, hung."""
    async with _connected(redis_url=redis_url) as client:
        await client.redis.xgroup_create("okc:test:stream", "readers", id="$", mkstream=True)

        async def read_forever() -> None:
            while True:
                await client.redis.xreadgroup("readers", "r1", {"okc:test:stream": ">"}, count=10, block=10)

        for attempt in range(60):
            reading = asyncio.create_task(read_forever())
            await asyncio.sleep(attempt % 30 / 1000)  # cancelled at each moment of a 10 ms wait, and between two
            reading.cancel()
            done, _ = await asyncio.wait({reading}, timeout=5)
            assert done, f"attempt {attempt}: the cancelled read went on"
