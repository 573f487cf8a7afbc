"""Per-channel pacing: Slack asks for at most about one message per second per channel.

Each call reserves the channel's next free slot and sleeps until it, so concurrent senders queue in
order without polling; the 429 retry handler remains the backstop for limits shared with others.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class ChannelPacer:
    """At most one send per `interval` seconds per channel, within this process; `interval=0` turns it off."""

    def __init__(self, interval: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        if interval < 0:
            raise ValueError("interval must be >= 0")
        self.interval = interval
        self._clock = clock
        self._next_free: dict[str, float] = {}

    async def wait(self, channel: str) -> None:
        if self.interval == 0:
            return
        now = self._clock()
        slot = max(now, self._next_free.get(channel, now))
        self._next_free[channel] = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)
