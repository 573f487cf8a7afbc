"""Per-channel pacing: Slack allows about one message per second per channel (short bursts aside),
and a 429 says how long to wait (Retry-After).

Each send reserves the channel's next free slot and sleeps until it, so concurrent senders queue in
order without polling. A 429 pushes the channel's next slot past its Retry-After: the channel's
later sends wait too, instead of each learning it from a 429 of its own; other channels go on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class ChannelPacer:
    """At most one send per `interval` seconds per channel, within this process; `interval=0` paces
    only by Retry-After."""

    def __init__(self, interval: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        if interval < 0:
            raise ValueError("interval must be >= 0")
        self.interval = interval
        self._clock = clock
        self._next_free: dict[str, float] = {}

    async def wait(self, channel: str) -> None:
        now = self._clock()
        slot = max(now, self._next_free.get(channel, now))
        self._next_free[channel] = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)

    def hold(self, channel: str, seconds: float) -> None:
        """Slack answered 429 for `channel`: nothing goes to it for `seconds`."""
        self._next_free[channel] = max(self._next_free.get(channel, 0.0), self._clock() + seconds)
