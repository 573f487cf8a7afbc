"""Lanes: stream entries queued by key (an alert's channel, a question's user), each key's handled
in the order added by a task of its own while the reader goes on; for both consumers of the alert
stream (alerts/worker.py by channel, confirm/consumer.py by user).

A lane takes up to `round_size` entries at a time (a round: one call of `handle`); at most
`concurrency` rounds run at once across lanes (None: no bound); an empty lane ends, and the key's
next entry starts a new one. An entry is in flight from `add` until its round is handled: the
reader keeps at most `limit` in flight with `wait_for_room`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Lanes(Generic[T]):
    def __init__(
        self,
        tasks: asyncio.TaskGroup,
        handle: Callable[[str, list[T]], Awaitable[None]],
        *,
        entry_id: Callable[[T], str],
        limit: int,
        round_size: int = 1,
        concurrency: int | None = None,
        name: str = "lane",
    ) -> None:
        """`name`: its lanes' tasks are named `<name> <key>`."""
        self._tasks = tasks
        self._handle = handle
        self._entry_id = entry_id
        self._limit = limit
        self._round_size = round_size
        self._name = name
        self._slots = asyncio.Semaphore(concurrency) if concurrency is not None else None
        self._queues: dict[str, deque[T]] = {}
        self._in_flight: set[str] = set()
        self._changed = asyncio.Event()  # set whenever entries leave the lanes

    def in_flight(self) -> list[str]:
        return list(self._in_flight)

    def queued(self, entry_id: str) -> bool:
        return entry_id in self._in_flight

    def room(self) -> int:
        return self._limit - len(self._in_flight)

    async def wait_for_room(self) -> int:
        """How many entries may be added, once that is above 0."""
        await self._until(lambda: self.room() > 0)
        return self.room()

    async def drained(self) -> None:
        await self._until(lambda: not self._in_flight)

    async def _until(self, condition: Callable[[], bool]) -> None:
        while not condition():
            self._changed.clear()
            await self._changed.wait()

    def add(self, key: str, entry: T) -> None:
        entry_id = self._entry_id(entry)
        if entry_id in self._in_flight:
            return  # taken over from ourselves (min_idle_ms=0, or idle through an outage): already queued
        self._in_flight.add(entry_id)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
            self._tasks.create_task(self._lane(key, queue), name=f"{self._name} {key}")
        queue.append(entry)

    def take_back(self) -> list[str]:
        """Empties every queue; returns the ids of the entries no lane has started."""
        ids = [self._entry_id(entry) for queue in self._queues.values() for entry in queue]
        for queue in self._queues.values():
            queue.clear()
        self._leave(ids)
        return ids

    def _leave(self, ids: list[str]) -> None:
        self._in_flight.difference_update(ids)
        self._changed.set()

    async def _lane(self, key: str, queue: deque[T]) -> None:
        try:
            while queue:
                entries = [queue.popleft() for _ in range(min(self._round_size, len(queue)))]
                try:
                    async with self._slots or contextlib.nullcontext():
                        await self._handle(key, entries)
                finally:
                    self._leave([self._entry_id(entry) for entry in entries])
        finally:  # an empty lane ends; the key's next entry starts a new one
            del self._queues[key]
