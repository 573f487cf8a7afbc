"""The bot's Redis client, built from the settings: REDIS_URL, Sentinel, or the embedded server.

Whichever it is, the client
- sends a command again when it met a connection error or a timeout, on a fresh connection, after
  a jittered backoff (`RETRIES` times, about 20 s in all: a restart of the embedded server, a
  Sentinel failover). With Sentinel a fresh connection asks the sentinels where the primary is now;
- runs every Lua script once per call, however often it is sent (bot/redis_once.py);
- with replica acknowledgements (REDIS_WAIT_REPLICAS, 1 by default with Sentinel) hands back a
  write only once replicas have it, so a failover does not drop it (bot/redis_acks.py);
- under a burst, makes callers wait for a free connection rather than fail (a blocking pool);
- lets a command be cancelled at any moment (bot/redis_cancel.py).
Credentials go to the servers only: `RedisClient.where` names the server without them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection, BlockingConnectionPool, SSLConnection, parse_url
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool, SentinelManagedConnection
from redis.backoff import EqualJitterBackoff, NoBackoff
from redis.exceptions import ConnectionError, TimeoutError

from bot.redis_acks import acked_connection_class
from bot.redis_cancel import cancellable_connection_class
from bot.redis_once import OnceRedis
from bot.settings import Settings

log = logging.getLogger(__name__)

# With this backoff, 14 to 28 s of pauses (about 20) between the first try and the last: through a Sentinel
# failover with one replica, writes wait for the old primary to rejoin as a replica (Sentinel turns
# it into one 8 to 10 s after the switch) to acknowledge them (tests/test_redis_sentinel.py: 12 to 17 s).
RETRIES = 10
BACKOFF = EqualJitterBackoff(cap=4.0, base=0.25)
SOCKET_TIMEOUT_S = 5.0  # above the alert workers' blocking reads (2 s)
CONNECT_TIMEOUT_S = 2.0
MAX_CONNECTIONS = 64
POOL_WAIT_S = 10.0


@dataclass
class RedisClient:
    redis: aioredis.Redis
    where: str  # e.g. "redis.internal:6379", "Sentinel master 'okc' via 3 sentinels"
    sentinel: Sentinel | None = None

    async def aclose(self) -> None:
        await self.redis.aclose()
        if self.sentinel is not None:
            await self.sentinel.aclose()


class _BlockingSentinelPool(SentinelConnectionPool, BlockingConnectionPool):  # type: ignore[misc]
    """Sentinel's pool (connections go to the current primary) that waits for a free connection."""


class _SentinelConnection(SentinelManagedConnection):
    """A connection to the primary that, dropped and then used again (a retried command), asks the
    sentinels where the primary is: redis-py's own reconnects to the server it was connected to,
    the demoted primary after a failover (redis/redis-py#3874), until every retry is spent."""

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        if not self.is_connected:
            await self.connect()
        await super().send_packed_command(command, check_health)


class _SentinelSSLConnection(_SentinelConnection, SSLConnection):
    pass


def connect_redis(settings: Settings, url: str | None = None) -> RedisClient:
    """The client for the configured Redis, or for `url` (the embedded server's) when none is."""
    if settings.redis_sentinel:
        return _sentinel_client(settings)
    target = settings.redis_url or url
    if target is None:
        raise ValueError("no Redis configured and no embedded server's URL given")
    options: dict[str, Any] = dict(parse_url(target))
    base: type[AbstractConnection] = options.pop("connection_class", aioredis.Connection)
    pool = BlockingConnectionPool(
        connection_class=_acked(base, settings.redis_replica_acks),
        **options,
        **_common(settings),
        **(_tls(settings) if settings.redis_uses_tls else {}),
        max_connections=MAX_CONNECTIONS,
        timeout=POOL_WAIT_S,
    )
    return RedisClient(OnceRedis.from_pool(pool), _where(target))


def _sentinel_client(settings: Settings) -> RedisClient:
    assert settings.redis_sentinel_master is not None  # the settings insist on it
    tls = _tls(settings) if settings.redis_tls else {}
    sentinel_password = settings.redis_sentinel_password
    sentinel = Sentinel(
        settings.redis_sentinels,
        sentinel_kwargs={
            "password": sentinel_password.get_secret_value() if sentinel_password else None,
            "socket_timeout": CONNECT_TIMEOUT_S,
            "socket_connect_timeout": CONNECT_TIMEOUT_S,
            "decode_responses": True,
            **({"ssl": True, **tls} if tls else {}),
        },
    )
    base = _SentinelSSLConnection if tls else _SentinelConnection
    client = sentinel.master_for(
        settings.redis_sentinel_master,
        redis_class=OnceRedis,
        connection_pool_class=_BlockingSentinelPool,
        connection_class=_acked(base, settings.redis_replica_acks),
        check_connection=True,  # a PING on connecting: a server that is not up is found before the command
        **_common(settings),
        **tls,
        max_connections=MAX_CONNECTIONS,
        timeout=POOL_WAIT_S,
    )
    where = f"Sentinel master {settings.redis_sentinel_master!r} via {len(settings.redis_sentinels)} sentinel(s)"
    return RedisClient(client, where, sentinel)


async def ping_once(redis: aioredis.Redis) -> None:
    """PING over a new connection of the client's kind, tried once: whether Redis answers now, not
    after the client's retries (readiness). Raises what the connection or the PING met."""
    pool = redis.connection_pool
    probe = pool.connection_class(**{**pool.connection_kwargs, "retry": Retry(NoBackoff(), 0)})
    try:
        await probe.connect()
        await probe.send_command("PING")
        await probe.read_response()
    finally:
        await probe.disconnect()


def _acked(base: type[AbstractConnection], replicas: int) -> type[AbstractConnection]:
    """`base` whose commands can be cancelled, and whose writes replicas acknowledge if asked."""
    cancellable = cancellable_connection_class(base)
    return acked_connection_class(cancellable, replicas) if replicas else cancellable


def _common(settings: Settings) -> dict[str, Any]:
    password = settings.redis_password
    return {
        "username": settings.redis_username,
        "password": password.get_secret_value() if password else None,
        "decode_responses": True,
        "socket_timeout": SOCKET_TIMEOUT_S,
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
        "retry": Retry(BACKOFF, RETRIES, supported_errors=(ConnectionError, TimeoutError)),
    }


def _tls(settings: Settings) -> dict[str, Any]:
    check = settings.redis_tls_cert_check
    if check == "none":
        log.warning("REDIS_TLS_CERT_CHECK=none: the Redis servers' certificates are not checked")
    return {
        "ssl_ca_certs": str(settings.redis_tls_ca_file) if settings.redis_tls_ca_file else None,
        "ssl_cert_reqs": "none" if check == "none" else "required",
        "ssl_check_hostname": check == "full",
    }


def _where(url: str) -> str:
    """Where a URL points, without its credentials."""
    parts = urlsplit(url)
    return parts.path if parts.scheme == "unix" else f"{parts.hostname}:{parts.port or 6379}"
