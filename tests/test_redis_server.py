"""The embedded redis-server: a real server, and its data survives a restart."""

from __future__ import annotations

from pathlib import Path

import redis

from bot.redis_server import EmbeddedRedis


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
