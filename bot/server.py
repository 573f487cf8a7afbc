"""Run an ASGI app with uvicorn inside the running event loop.

Used by the CLI (bot, simulator, sandbox) and by tests: the listening socket is bound before
uvicorn starts, so the URL is known at once and connections queue until uvicorn accepts them;
nobody has to poll for readiness.
"""

from __future__ import annotations

import asyncio
import socket
from types import TracebackType
from typing import Any

import uvicorn


class BackgroundServer:
    """`async with BackgroundServer(app) as srv:` serves `app` at `srv.url` until the block exits."""

    def __init__(
        self, app: Any, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning", *, access_log: bool = True
    ) -> None:
        # log_config=None: logging belongs to the process (bot/logs.py), not to each server
        self._config = uvicorn.Config(
            app, host=host, port=port, log_level=log_level, access_log=access_log, log_config=None, lifespan="on"
        )
        self._server = uvicorn.Server(self._config)
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

    async def __aenter__(self) -> BackgroundServer:
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
        await self._task
        self._task = None
        self._sock.close()

    async def serve_forever(self) -> None:
        """Serve until cancelled or until uvicorn is told to exit (SIGINT/SIGTERM)."""
        await self._server.serve(sockets=[self._sock])
