"""The background jobs of a serve process, each a small typed service: `start()` returns once it
is running, `stop()` once it has stopped. The composition root (bot/process.py) lists them, starts
them in order and stops them in reverse."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Service(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Task:
    """A coroutine run as a task: a loop until stopped (the approval sweeper), or a one-off that may
    still be running at stop (the sandbox's hook registration). A failure is logged, not raised."""

    def __init__(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        self.name = name
        self._run = run
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._guarded(), name=self.name)

    async def _guarded(self) -> None:
        try:
            await self._run()
        except Exception:
            log.exception("%s failed", self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class Entered:
    """An async context manager (e.g. the alert pipeline) held open between start and stop."""

    def __init__(self, name: str, manager: AbstractAsyncContextManager[Any]) -> None:
        self.name = name
        self._manager = manager

    async def start(self) -> None:
        await self._manager.__aenter__()

    async def stop(self) -> None:
        await self._manager.__aexit__(None, None, None)


class Hooked:
    """Something switched on at start by a call that returns its undo (e.g. metrics observing a client)."""

    def __init__(self, name: str, switch_on: Callable[[], Callable[[], None]]) -> None:
        self.name = name
        self._switch_on = switch_on
        self._undo: Callable[[], None] | None = None

    async def start(self) -> None:
        self._undo = self._switch_on()

    async def stop(self) -> None:
        if self._undo is not None:
            self._undo()
