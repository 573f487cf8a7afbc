"""Time as the simulated org sees it: real UTC time plus an offset that tests can move forward.

Tests advance the clock instead of sleeping (token expiry, rate-limit windows, push timeouts).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


class Clock:
    def __init__(self) -> None:
        self._offset = 0.0

    def time(self) -> float:
        """Epoch seconds."""
        return time.time() + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def advance(self, seconds: float) -> None:
        self._offset += seconds


def iso(moment: datetime) -> str:
    """Okta's timestamp format: UTC, milliseconds, a trailing Z."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def iso_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else iso(moment)


def parse_iso(text: str) -> datetime:
    """An ISO 8601 timestamp (Z or offset; naive means UTC). Raises ValueError."""
    value = text.strip()
    if len(value) < 10:  # fromisoformat accepts compact forms like "2024" on some versions; Okta does not
        raise ValueError(f"not an ISO 8601 timestamp: {text!r}")
    moment = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
