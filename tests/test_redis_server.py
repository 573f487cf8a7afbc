"""The embedded redis-server: a real server, its data survives a restart, and a killed one is restarted."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
import redis

from approvals import ApprovalStore
from bot.redis_client import connect_redis
from bot.redis_server import EmbeddedRedis, RedisStartError
from bot.settings import load_settings


def test_unix_socket_server_keeps_state_across_restarts(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path) as server:
        assert server.url.startswith("unix://")
        client = redis.Redis.from_url(server.url)
        client.xadd("okc:test", {"k": "v"})
        assert client.info("server")["redis_version"] >= "6.2"
        client.close()
    with EmbeddedRedis(tmp_path) as server:
        client = redis.Redis.from_url(server.url, decode_responses=True)
        assert [fields for _, fields in client.xrange("okc:test")] == [{"k": "v"}]
        client.close()


def test_tcp_server_from_the_session_fixture(redis_url: str) -> None:
    assert redis_url.startswith("redis://127.0.0.1:")
    client = redis.Redis.from_url(redis_url)
    assert client.ping() is True
    client.close()


def test_a_relative_data_dir_works_from_any_working_directory(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # the default DATA_DIR is ./data, and redis-server chdirs into --dir before binding its socket
    monkeypatch.chdir(tmp_path)
    with EmbeddedRedis("data/redis") as server:
        client = redis.Redis.from_url(server.url)
        assert client.ping() is True
        client.close()
    assert (tmp_path / "data" / "redis").is_dir()


# -- supervision: a killed server comes back on its data, or the failure is reported ------------------


async def _supervised(server: EmbeddedRedis, **options: float) -> asyncio.Task[None]:
    server.start()
    return asyncio.create_task(server.supervise(**options))


async def _stopped(server: EmbeddedRedis, supervisor: asyncio.Task[None]) -> None:
    server.stop()
    await asyncio.wait_for(supervisor, 10)  # stop() ends supervision: it returns, nothing restarted


async def test_a_killed_server_is_restarted_on_its_data(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path)
    supervisor = await _supervised(server)
    client = connect_redis(load_settings(), server.url)  # the bot's client: it retries while the server is away
    try:
        store = ApprovalStore(client.redis)
        request = await store.create(requester="U1", verb="suspend", target="erin@acme.example")
        killed = server.pid
        assert killed is not None
        os.kill(killed, signal.SIGKILL)
        # acknowledged before the kill, so on disk (fsync always): there after the restart
        assert await asyncio.wait_for(store.get(request.id), 20) == request
        assert server.restarts == 1 and server.pid not in (None, killed)
    finally:
        await client.aclose()
        await _stopped(server, supervisor)


async def test_a_server_that_cannot_start_again_is_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    server = EmbeddedRedis(tmp_path)
    supervisor = await _supervised(server, delay_s=0)
    killed = server.pid
    assert killed is not None
    # its append-only file replaced by one it cannot load (the running server keeps writing the old one)
    (tmp_path / "broken.aof").write_text("not an append-only file\n")
    os.replace(tmp_path / "broken.aof", tmp_path / "appendonly.aof")
    os.kill(killed, signal.SIGKILL)
    with pytest.raises(RedisStartError, match="exited before it was ready"):
        await asyncio.wait_for(supervisor, 20)
    assert any("killed by SIGKILL" in r.getMessage() for r in caplog.records)
    server.stop()


async def test_a_server_that_keeps_dying_is_given_up(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path)
    supervisor = await _supervised(server, max_restarts=1, delay_s=0)
    client = connect_redis(load_settings(), server.url)
    try:
        first = server.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        assert await asyncio.wait_for(client.redis.ping(), 20)  # restarted once...
        second = server.pid
        assert second not in (None, first)
        os.kill(second, signal.SIGKILL)
        with pytest.raises(RedisStartError, match="died 2 times"):  # ...but not twice within the window
            await asyncio.wait_for(supervisor, 20)
    finally:
        await client.aclose()
        server.stop()
