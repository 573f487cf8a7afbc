"""Awaiting a state of the workspace without sleeping: waiters are re-checked after every change.

Everything runs on one event loop (the server's, which is the test's), so a change is simply
followed by `notify()`; a waiter's check returns the awaited thing, or None for "not yet".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Waiters:
    def __init__(self) -> None:
        self._pending: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []

    async def until(self, check: Callable[[], T | None], timeout: float, describe: Callable[[], str]) -> T:
        """The first non-None `check()`, now or after a later change; TimeoutError(describe()) otherwise."""
        found = check()
        if found is not None:
            return found
        entry = (check, asyncio.get_running_loop().create_future())
        self._pending.append(entry)
        try:
            result: T = await asyncio.wait_for(entry[1], timeout)
            return result
        except TimeoutError:
            raise TimeoutError(f"nothing matched within {timeout}s; {describe()}") from None
        finally:
            self._pending.remove(entry)

    def notify(self) -> None:
        for check, future in list(self._pending):
            if future.done():
                continue
            try:
                found = check()
            except Exception as exc:  # noqa: BLE001 - a broken predicate fails its waiter, not the server
                future.set_exception(exc)
                continue
            if found is not None:
                future.set_result(found)
