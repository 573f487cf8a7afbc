"""Per-channel pacing: Slack allows about one message per second per channel, with short bursts,
and a 429 says how long to wait (Retry-After).

A token bucket per channel, kept as one time (GCRA): `burst` sends may go at once, then one each
`interval`. Each send reserves its slot and sleeps until it, so concurrent senders queue in order
without polling. A 429 pushes the channel's next slot past its Retry-After: the channel's later
sends wait too, instead of each learning it from a 429 of its own; other channels go on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class ChannelPacer:
    """At most `burst` sends at once and one per `interval` seconds after that, per channel, within
    this process; `interval=0` paces only by Retry-After."""

    def __init__(self, interval: float = 1.0, clock: Callable[[], float] = time.monotonic, *, burst: int = 3) -> None:
        if interval < 0 or burst < 1:
            raise ValueError("interval must be >= 0 and burst >= 1")
        self.interval = interval
        self._tolerance = (burst - 1) * interval  # how far ahead of time a send may go
        self._clock = clock
        self._due: dict[str, float] = {}  # per channel: when the bucket is full again

    async def wait(self, channel: str) -> None:
        now = self._clock()
        due = max(now, self._due.get(channel, now))
        slot = max(now, due - self._tolerance)
        self._due[channel] = due + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)

    def same_as(self, alias: str, channel_id: str) -> None:
        """`alias` (a name, or a member's id for their DM) turned out to be `channel_id`: sends to
        either take their turns in one bucket, after those already reserved under the alias."""
        if alias != channel_id and alias in self._due:
            self._due[channel_id] = max(self._due.get(channel_id, 0.0), self._due.pop(alias))

    def hold(self, channel: str, seconds: float) -> None:
        """Slack answered 429 for `channel`: nothing goes to it for `seconds`."""
        until = self._clock() + seconds
        self._due[channel] = max(self._due.get(channel, 0.0), until + self._tolerance)
