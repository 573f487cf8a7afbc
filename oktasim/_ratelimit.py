"""Okta's rate limits: per-minute buckets per endpoint family, the org-wide cumulative limit, and the
limit on concurrent requests, reported in X-Rate-Limit-* headers as Okta reports them.

The defaults are Okta's documented limits for a Workforce Identity org (per minute):

| bucket (Okta's name)                 | the requests it counts                                  | limit | source |
|--------------------------------------|---------------------------------------------------------|-------|--------|
| `GET|POST /api/v1/users`             | list or create users: only GET or POST to /api/v1/users |   600 | [mgmt] |
| `GET /api/v1/users/{idOrLogin}`      | get a user: only GET to /api/v1/users/{idOrLogin}       | 2,000 | [mgmt] |
| `POST|PUT|DELETE /api/v1/users/{id}` | update or delete a user: only those methods, that path  |   600 | [mgmt] |
| `/api/v1/groups`                     | /api/v1/groups and below, except /api/v1/groups/{id}    |   500 | [mgmt] |
| `/api/v1/groups/{id}`                | get, update or delete a group: that path only           | 1,000 | [mgmt] |
| `/api/v1/logs`                       | the System Log                                          |   120 | [mgmt] |
| `/api/v1/apps`                       | /api/v1/apps and below (/api/v1/apps/{id}/* too)        |   100 | [mgmt] |
| `/api/v1/apps/{id}`                  | get, update or delete an app: that path only            |   500 | [mgmt] |
| `/api/v1`                            | most other /api/v1 endpoints, one shared bucket         | 1,200 | [mgmt] |
| `cumulative`                         | every management request, besides its own bucket        | 7,000 | [mgmt] |
| `/oauth2/v1`                         | the org authorization server (the token endpoint)       | 2,000 | [user] |
| concurrency (not a bucket)           | requests in flight at once, per org                     |    75 | [conc] |

[mgmt] developer.okta.com/docs/reference/rl-global-mgmt/ (Management rate limits)
[user] developer.okta.com/docs/reference/rl-global-enduser/ (Authentication/End-user rate limits: "OAuth2
       requests for the Org Authorization Server: /oauth2/v1 except /oauth2/v1/clients"; not in the management
       cumulative limit)
[conc] developer.okta.com/docs/reference/rl2-concurrency/ and /docs/reference/rl-best-practices/ (concurrency
       limits, and how the X-Rate-Limit-* headers report them)

Okta names only the exact /api/v1/users/{id} for the user write bucket, so a user's sub-resources
(/lifecycle/*, /groups, /factors, /sessions) count against the shared `/api/v1` bucket, as the client's
bucket map (oktaclient/_ratelimit.py) expects.

Every request counts, refused ones too; a management request counts against its bucket and the
cumulative one, and its headers report its own bucket unless the cumulative limit is what refused it.
A request beyond the concurrency limit is refused before it is counted anywhere; its 429 reports the
concurrency figures instead (Limit: the concurrency limit, Remaining: 0, Reset: an estimate, one second on).
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

from oktasim._clock import Clock

WINDOW_SECONDS = 60.0
CUMULATIVE = "cumulative"
OAUTH = "/oauth2/v1"
LIMITS: dict[str, int] = {
    "GET|POST /api/v1/users": 600,
    "GET /api/v1/users/{idOrLogin}": 2_000,
    "POST|PUT|DELETE /api/v1/users/{id}": 600,
    "/api/v1/groups": 500,
    "/api/v1/groups/{id}": 1_000,
    "/api/v1/logs": 120,
    "/api/v1/apps": 100,
    "/api/v1/apps/{id}": 500,
    "/api/v1": 1_200,
    CUMULATIVE: 7_000,
    OAUTH: 2_000,
}
CONCURRENCY_LIMIT = 75


def bucket_for(method: str, path: str) -> str:
    """The bucket a request counts against (besides the cumulative one, for management requests)."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["oauth2"]:
        return OAUTH
    family, rest = parts[:3], parts[3:]
    if family == ["api", "v1", "users"]:
        if not rest and method in ("GET", "POST"):
            return "GET|POST /api/v1/users"
        if len(rest) == 1:
            return "GET /api/v1/users/{idOrLogin}" if method == "GET" else "POST|PUT|DELETE /api/v1/users/{id}"
    if family in (["api", "v1", "groups"], ["api", "v1", "apps"]):
        base = "/" + "/".join(family)
        return f"{base}/{{id}}" if len(rest) == 1 else base
    if family == ["api", "v1", "logs"]:
        return "/api/v1/logs"
    return "/api/v1"


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
        self._limits = {bucket: (limit, WINDOW_SECONDS) for bucket, limit in LIMITS.items()}
        self._windows: dict[str, _Window] = {}

    def configure(self, limit: int, window_seconds: float, bucket: str | None = None) -> None:
        """One bucket by its name in LIMITS; without one, every bucket (the cumulative one too)."""
        if bucket is not None and bucket not in self._limits:
            raise ValueError(f"unknown rate-limit bucket {bucket!r}; Okta's buckets: {', '.join(LIMITS)}")
        for name in [bucket] if bucket else list(self._limits):
            self._limits[name] = (limit, window_seconds)
            self._windows.pop(name, None)

    def hit(self, method: str, path: str) -> RateState:
        """Counts one request; the state of the bucket its headers report."""
        bucket = bucket_for(method, path)
        own = self._count(bucket)
        if bucket == OAUTH:
            return own
        cumulative = self._count(CUMULATIVE)
        return cumulative if own.allowed and not cumulative.allowed else own

    def _count(self, bucket: str) -> RateState:
        limit, window_seconds = self._limits[bucket]
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


class Concurrency:
    """Requests in flight in the org, against Okta's concurrency limit."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.limit = CONCURRENCY_LIMIT
        self.in_flight = 0
        self.peak = 0  # the most requests in flight at once so far (tests check clients stay under the limit)
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    def enter(self) -> RateState | None:
        """Admits a request (None), or the refusal's X-Rate-Limit-* state when the org is at its limit."""
        if self.in_flight >= self.limit:
            return RateState(self.limit, 0, math.ceil(self._clock.time()) + 1, allowed=False)
        self._moved(+1)
        self.peak = max(self.peak, self.in_flight)
        return None

    def leave(self) -> None:
        self._moved(-1)

    async def reaches(self, count: int) -> None:
        """Returns once exactly `count` requests are in flight."""
        if self.in_flight != count:
            future = asyncio.get_running_loop().create_future()
            self._waiters.append((count, future))
            await future

    def _moved(self, step: int) -> None:
        self.in_flight += step
        for waiter in [w for w in self._waiters if w[0] == self.in_flight]:
            self._waiters.remove(waiter)
            if not waiter[1].done():
                waiter[1].set_result(None)
