"""Writes that count as done only once a replica has them (WAIT), for Redis with replicas.

Replication is asynchronous: a primary answers a write before any replica has it, so a failover can
drop writes the bot was told had succeeded. Worse, after Sentinel promotes a replica the old primary
keeps taking writes until it is turned into a replica, and then discards them: an approval requested
in that window is simply gone (without acknowledgements, a SENTINEL FAILOVER under a stream of
approvals lost 67 of 103). So, with `replicas` >= 1, every command that may write is sent together with
`WAIT replicas timeout`, and its reply is handed back only once that many replicas acknowledged it.
Otherwise the connection is dropped and `ReplicaAckMissing`, a ConnectionError, goes to the client's
Retry, which sends the command again on a fresh connection, to whichever primary Sentinel names by
then. Sending it again is safe: every script takes effect once per call (bot/redis_once.py), and the
plain writes repeat harmlessly (XACK, HSET, a cache's SET) or are made good later (the entries of a
repeated XREADGROUP stay pending and are taken over); one exception, the replay guard's SET NX, would
take its own resend for a replay and drop that Slack delivery (bot/replay_guard.py).
With as many acknowledgements as there are replicas, whichever replica Sentinel promotes has every
write the bot was told is done (docs/deploy.md, "How many replicas").
A primary that refuses writes for lack of replicas (`min-replicas-to-write`: NOREPLICAS) is handled
the same way. Pipelines are not acknowledged one by one: the next acknowledged write covers them, as
WAIT waits for the replication stream up to that write, whoever made the earlier ones.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError, ResponseError

WAIT_TIMEOUT_MS = 1_000

# Commands that never write (the ones this code base sends, and those redis-py sends on connecting);
# anything else is acknowledged, so that a new command is safe by default.
READ_ONLY = frozenset(
    """
    AUTH CLIENT COMMAND CONFIG DBSIZE ECHO EXISTS GET HELLO HGET HGETALL HLEN HMGET INFO LLEN LRANGE MGET
    PING PTTL READONLY ROLE SCAN SCARD SCRIPT SELECT SENTINEL SISMEMBER SMEMBERS STRLEN TIME TTL TYPE WAIT
    XINFO XLEN XPENDING XRANGE XREVRANGE ZCARD ZCOUNT ZRANGE ZRANGEBYSCORE ZREVRANGE ZREVRANGEBYSCORE ZSCORE
    """.split()
)


class ReplicaAckMissing(ConnectionError):
    """A write no replica acknowledged in time: it may be lost in a failover, so it is sent again."""


def _noreplicas(error: ResponseError) -> bool:
    # a command's own error starts with it; a script's error quotes it after its own preamble
    return "NOREPLICAS" in str(error)


def _writes(command: object) -> bool:
    name = command.decode() if isinstance(command, bytes) else str(command)
    return name.split(" ", 1)[0].upper() not in READ_ONLY


class ReplicaAcked(AbstractConnection):
    """Mixed into a redis-py connection class by `acked_connection_class`."""

    replicas = 1  # set on each class `acked_connection_class` makes
    _wait_pending = False

    async def send_command(self, *args: Any, **kwargs: Any) -> None:
        if not _writes(args[0]):
            await super().send_command(*args, **kwargs)
            return
        # One write for both: the command and its WAIT travel and are answered together.
        packed = self.pack_commands([args, ("WAIT", self.replicas, WAIT_TIMEOUT_MS)])
        await self.send_packed_command(packed, check_health=kwargs.get("check_health", True))
        self._wait_pending = True

    async def read_response(self, *args: Any, **kwargs: Any) -> Any:
        waited, self._wait_pending = self._wait_pending, False
        failed: ResponseError | None = None  # the command's error reply
        try:
            reply = await super().read_response(*args, **kwargs)
        except ResponseError as exc:
            if not waited and not _noreplicas(exc):
                raise
            failed = exc  # and, if sent, the WAIT's reply is still to read: it is not the next command's
        demoted: ResponseError | None = None
        acked = self.replicas
        if waited:
            try:
                acked = await super().read_response()
            except ResponseError as exc:  # only a replica refuses WAIT: the server was demoted meanwhile
                demoted, acked = exc, 0
        if failed is not None and not _noreplicas(failed) and demoted is None:
            raise failed  # the command's own error (NOSCRIPT, a script's): not a matter of replication
        if failed is not None or acked < self.replicas:
            await self.disconnect()
            raise ReplicaAckMissing(f"a write not acknowledged by {self.replicas} replica(s)") from (failed or demoted)
        return reply

    async def disconnect(self, *args: Any, **kwargs: Any) -> None:
        self._wait_pending = False  # a reply never read belongs to the closed connection
        await super().disconnect(*args, **kwargs)


def acked_connection_class(base: type[AbstractConnection], replicas: int) -> type[AbstractConnection]:
    """`base` (a plain, TLS, Unix-socket or Sentinel-managed connection) with its writes acknowledged."""
    return type(f"ReplicaAcked{base.__name__}", (ReplicaAcked, base), {"replicas": replicas})
