"""Where time-bound access reads the time: the wall clock in production, a hand-moved one in tests
(expiry and reminders are then driven without sleeping)."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Epoch seconds."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()
