"""Okta rate limits: remember the X-Rate-Limit-* headers per bucket and pace requests by them.

Okta counts requests per endpoint group ("bucket"), per minute, and reports the bucket of each
response in three headers: Limit, Remaining and Reset (UTC epoch seconds). The headers do not name
the bucket, so `bucket_for` maps a request to Okta's documented groups. Other integrations share the
org's buckets, so the client stops a little before zero rather than spending the last requests.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from dataclasses import dataclass

import httpx

# Okta's reset is whole seconds; the jitter spreads the callers that all waited for the same reset.
_JITTER_SECONDS = 0.2
# The server's clock is used only when it disagrees with ours by more than Date's 1 s resolution.
_SKEW_TOLERANCE_SECONDS = 2.0


@dataclass(frozen=True)
class RateLimit:
    """The latest X-Rate-Limit-* headers seen for one bucket."""

    limit: int
    remaining: int
    reset: float  # UTC epoch seconds at which the window resets, as Okta sent it


def bucket_for(method: str, path: str) -> str:
    """Okta's rate-limit group for a request (see developer.okta.com, "Management rate limits")."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["oauth2"]:
        return path
    if parts[:3] == ["api", "v1", "users"]:
        if len(parts) == 3 and method in ("GET", "POST"):
            return "GET|POST /api/v1/users"
        if len(parts) == 4:
            return "GET /api/v1/users/{idOrLogin}" if method == "GET" else "POST|PUT|DELETE /api/v1/users/{id}"
    if parts[:3] == ["api", "v1", "groups"]:
        return "/api/v1/groups/{id}" if len(parts) == 4 else "/api/v1/groups"
    if parts[:3] == ["api", "v1", "logs"]:
        return "/api/v1/logs"
    return "/api/v1"


def _parse(response: httpx.Response) -> RateLimit | None:
    headers = response.headers
    try:
        return RateLimit(
            limit=int(headers["X-Rate-Limit-Limit"]),
            remaining=int(headers["X-Rate-Limit-Remaining"]),
            reset=float(headers["X-Rate-Limit-Reset"]),
        )
    except (KeyError, ValueError):
        return None


def _server_now(response: httpx.Response) -> float:
    """Now, on the clock Okta's Reset is measured against."""
    now = time.time()
    date = response.headers.get("Date")
    if date:
        try:
            server = email.utils.parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            return now
        if abs(server - now) > _SKEW_TOLERANCE_SECONDS:
            return server
    return now


@dataclass
class _Budget:
    """What this client may still send in a bucket's current window (a local, pessimistic count)."""

    remaining: int
    reset: float  # the window, as Okta names it
    reset_at: float  # the same moment on time.monotonic()
    reserve: int  # stop here: other integrations share the org's buckets


class RateLimiter:
    """Per-bucket pacing shared by all requests of one client."""

    def __init__(self, *, reserve_fraction: float, max_wait: float) -> None:
        self._reserve_fraction = reserve_fraction
        self._max_wait = max_wait
        self._seen: dict[str, RateLimit] = {}
        self._budgets: dict[str, _Budget] = {}

    @property
    def seen(self) -> dict[str, RateLimit]:
        return dict(self._seen)

    async def acquire(self, bucket: str) -> None:
        """Wait, if the bucket is (nearly) spent, until its window resets; then count one request."""
        budget = self._budgets.get(bucket)
        if budget is None:
            return
        wait = budget.reset_at - time.monotonic()
        if wait <= 0:
            del self._budgets[bucket]  # a new window: the next response tells us its numbers
            return
        if budget.remaining <= budget.reserve:
            await asyncio.sleep(min(wait, self._max_wait) + random.uniform(0, _JITTER_SECONDS))
            self._budgets.pop(bucket, None)
            return
        # Count the request before it is answered, so that concurrent callers see it too.
        budget.remaining -= 1

    def record(self, bucket: str, response: httpx.Response) -> bool:
        """Remember the response's rate-limit headers; False when it had none."""
        seen = _parse(response)
        if seen is None:
            return False
        self._seen[bucket] = seen
        # A 429 means spent, whatever Remaining says (Okta's concurrency limit answers 429 too).
        remaining = 0 if response.status_code == httpx.codes.TOO_MANY_REQUESTS else seen.remaining
        budget = self._budgets.get(bucket)
        if budget is not None and budget.reset == seen.reset:
            # Same window: answers arrive out of order, so the lowest count is the freshest.
            budget.remaining = min(budget.remaining, remaining)
        else:
            reset_at = time.monotonic() + max(0.0, seen.reset - _server_now(response))
            reserve = max(1, int(seen.limit * self._reserve_fraction))
            self._budgets[bucket] = _Budget(remaining, seen.reset, reset_at, reserve)
        return True
