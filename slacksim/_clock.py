"""Time as the Slack stand-in sees it: real monotonic time plus an offset that tests move forward.

Rate-limit buckets, trigger_ids and response_urls all read it, so a test ages them by advancing
the clock instead of sleeping.
"""

from __future__ import annotations

import time


class Clock:
    def __init__(self) -> None:
        self._offset = 0.0
        self._frozen_at: float | None = None

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        return (time.monotonic() if self._frozen_at is None else self._frozen_at) + self._offset

    def freeze(self) -> None:
        """From now on time moves only by `advance`: for a test that counts calls against a rate,
        however slowly the machine makes them."""
        self._frozen_at = time.monotonic()

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds
