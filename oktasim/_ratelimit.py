"""Okta-style rate limits: a request counter per bucket and fixed window, reported in X-Rate-Limit-* headers.

A bucket is the HTTP method plus the path family, as Okta buckets its endpoints: `GET /api/v1/users`
(list/search), `POST /api/v1/users/{id}` (that user and everything under it: lifecycle, factors,
sessions), `GET /api/v1/logs`, `POST /oauth2/v1/token`, ...
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from oktasim._clock import Clock

# Generous by default so benchmarks and the sandbox are not throttled; tests lower it with set_rate_limit.
DEFAULT_LIMIT = 10_000
DEFAULT_WINDOW_SECONDS = 60.0


def bucket_for(method: str, path: str) -> str:
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 3 and parts[0] == "api":
        family = "/" + "/".join(parts[:3]) + ("/{id}" if len(parts) > 3 else "")
    else:
        family = "/" + "/".join(parts)
    return f"{method.upper()} {family}"


@dataclass(frozen=True)
class RateState:
    limit: int
    remaining: int
    reset: int  # epoch seconds when the window resets
    allowed: bool

    def headers(self) -> dict[str, str]:
        return {
            "X-Rate-Limit-Limit": str(self.limit),
            "X-Rate-Limit-Remaining": str(self.remaining),
            "X-Rate-Limit-Reset": str(self.reset),
        }


@dataclass
class _Window:
    started: float
    count: int


class RateLimiter:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._default = (DEFAULT_LIMIT, DEFAULT_WINDOW_SECONDS)
        self._overrides: dict[str, tuple[int, float]] = {}
        self._windows: dict[str, _Window] = {}

    def configure(self, limit: int, window_seconds: float, bucket: str | None = None) -> None:
        if bucket is None:
            self._default = (limit, window_seconds)
            self._windows.clear()
        else:
            self._overrides[bucket] = (limit, window_seconds)
            self._windows.pop(bucket, None)

    def hit(self, bucket: str) -> RateState:
        """Counts one request against `bucket` (refused requests count too, as at Okta)."""
        limit, window_seconds = self._overrides.get(bucket, self._default)
        now = self._clock.time()
        window = self._windows.get(bucket)
        if window is None or now >= window.started + window_seconds:
            window = self._windows[bucket] = _Window(started=now, count=0)
        window.count += 1
        return RateState(
            limit=limit,
            remaining=max(limit - window.count, 0),
            reset=math.ceil(window.started + window_seconds),
            allowed=window.count <= limit,
        )
