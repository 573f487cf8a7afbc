"""Run an ASGI app with uvicorn inside the running event loop.

Used by the CLI (bot, simulator, sandbox) and by tests: the listening socket is bound before
uvicorn starts, so the URL is known at once and connections queue until uvicorn accepts them;
nobody has to poll for readiness.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Self

import uvicorn

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
GRACEFUL_S = 3  # for requests in flight when stopping; Slack's are acked in milliseconds
_DRAIN_POLL_S = 0.005
_DATE_EVERY_S = 1.0


class _Server(uvicorn.Server):
    """uvicorn's server without its own signal handling. uvicorn re-raises a caught SIGTERM once it
    has stopped, which kills the process before it cleans up (the embedded Redis outlived it), and
    with several servers in one process (the bot beside its stand-ins) each would catch it. The
    process handles the signals instead (`stop_signals`)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.exit_now = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def main_loop(self) -> None:
        """uvicorn's loop wakes every 0.1 s to see whether to stop; this one stops when told, and
        wakes each second for what uvicorn's ticks do then (the Date header)."""
        while not await self.on_tick(0):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_DATE_EVERY_S):
                    await self.exit_now.wait()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's shutdown without its fixed 0.1 s pauses, which a stop (or each test's servers)
        spent waiting: idle keep-alive connections close at once; requests in flight get GRACEFUL_S."""
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        try:
            async with asyncio.timeout(self.config.timeout_graceful_shutdown):
                while self.server_state.connections or self.server_state.tasks:
                    await asyncio.sleep(_DRAIN_POLL_S)
        except TimeoutError:
            for task in self.server_state.tasks:
                task.cancel(msg="graceful shutdown timed out")
        for server in self.servers:
            await server.wait_closed()
        await self.lifespan.shutdown()


class BackgroundServer:
    """`async with BackgroundServer(app) as srv:` serves `app` at `srv.url` until the block exits."""

    def __init__(
        self, app: Any, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning", *, access_log: bool = True
    ) -> None:
        # log_config=None: logging belongs to the process (bot/logs.py), not to each server
        self._config = uvicorn.Config(
            app, host=host, port=port, log_level=log_level, access_log=access_log, log_config=None, lifespan="on",
            timeout_graceful_shutdown=GRACEFUL_S,
        )
        self._server = _Server(self._config)
        # proto=IPPROTO_TCP (not 0) lets asyncio set TCP_NODELAY on accepted connections; without it
        # every keep-alive response waits ~40 ms on Nagle + delayed ACK.
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(2048)
        self._task: asyncio.Task[None] | None = None
        bound_host, bound_port = self._sock.getsockname()[:2]
        self.url = f"http://{bound_host if ':' not in bound_host else f'[{bound_host}]'}:{bound_port}"
        self.port: int = bound_port

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        self._server.exit_now.set()
        await self._task
        self._task = None
        self._sock.close()

    async def serve_until(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set, then finish the requests in flight and return."""
        async with self:
            assert self._task is not None
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({self._task, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()


class Stop(asyncio.Event):
    """An event that remembers when it was first set (`at`, on the loop's clock): a stopping
    process counts its deadlines from the signal (bot/shutdown.py)."""

    def __init__(self) -> None:
        super().__init__()
        self.at: float | None = None

    def set(self) -> None:
        if self.at is None:
            self.at = asyncio.get_running_loop().time()
        super().set()


def stop_signals() -> Stop:
    """An event that the first SIGINT or SIGTERM sets: from the moment this is called, such a signal
    asks the process to stop gracefully instead of killing it."""
    stop = Stop()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    return stop
