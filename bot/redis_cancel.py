"""Redis connections whose commands can always be cancelled.

redis-py bounds each send by the socket timeout with `asyncio.wait_for`, which on Python 3.11 loses a
cancellation that lands just as the send completes (CPython gh-86296, fixed in 3.12): the command
goes on, and a loop around it (a stream consumer, a sweeper) never stops, hanging the bot's shutdown.
The lost cancellation is still counted on the task, so it is raised here after the send; the
command's reply is then never read, so the connection is dropped rather than reused.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio.connection import AbstractConnection


class CancellableSends(AbstractConnection):
    """Mixed in before a redis-py connection class by `cancellable_connection_class`."""

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        task = asyncio.current_task()
        cancels = task.cancelling() if task is not None else 0
        await super().send_packed_command(command, check_health)
        if task is not None and task.cancelling() > cancels:
            await self.disconnect(nowait=True)
            raise asyncio.CancelledError


def cancellable_connection_class(base: type[AbstractConnection]) -> type[AbstractConnection]:
    return type(f"Cancellable{base.__name__}", (CancellableSends, base), {})
