"""Send one API call: headers, rate-limit pacing, bounded retries, and errors as exceptions.

What is retried, and why it is safe:
- 429 for any method: Okta did not execute the request; wait for the window's reset, then resend.
- Connection never established (connect error/timeout, no free pooled connection) for any method:
  nothing reached Okta.
- 5xx and other transport failures (read timeout, dropped connection) only for idempotent methods
  (GET, PUT, DELETE): Okta may have executed the first attempt, and repeating a POST could, say,
  send a second push or a second reset email.

Okta also refuses (429) requests beyond 75 in flight per org, shared with every other integration, so
at most `max_in_flight` of this client's requests are on the wire at once; the others queue here.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from ._ratelimit import RateLimiter, bucket_for
from ._version import __version__
from .errors import REQUEST_ID_HEADER, OktaTransportError, error_from_response

logger = logging.getLogger("oktaclient")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_MAX_BACKOFF_SECONDS = 10.0

USER_AGENT = f"okta-chatops/{__version__}"


class Transport:
    def __init__(
        self,
        http: httpx.AsyncClient,
        org_url: str,
        auth: httpx.Auth,
        *,
        timeout: float,
        max_retries: int,
        backoff: float,
        limiter: RateLimiter,
        max_in_flight: int,
    ) -> None:
        self._http = http
        self._org_url = org_url
        self._auth = auth
        self._timeout = httpx.Timeout(timeout)
        self._max_retries = max_retries
        self._backoff = backoff
        self.limiter = limiter
        self._in_flight = asyncio.Semaphore(max_in_flight)

    def url(self, path_or_link: str) -> str:
        """An org URL for an API path, or for a link Okta returned (next page, push poll).

        Only the path and query of a link are kept: the host is always the configured org, so a
        link can never send our credentials anywhere else.
        """
        parts = urlsplit(path_or_link)
        return f"{self._org_url}{parts.path}" + (f"?{parts.query}" if parts.query else "")

    async def request(
        self, method: str, path_or_link: str, *, params: dict[str, Any] | None = None, json: Any = None
    ) -> httpx.Response:
        url = self.url(path_or_link)
        path = urlsplit(url).path
        bucket = bucket_for(method, path)
        idempotent = method in IDEMPOTENT_METHODS
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        attempt = 0
        while True:
            last = attempt >= self._max_retries
            await self.limiter.acquire(bucket)
            started = time.monotonic()
            try:
                async with self._in_flight:
                    response = await self._http.request(
                        method, url, params=params, json=json, headers=headers, auth=self._auth, timeout=self._timeout
                    )
            except httpx.TransportError as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if last or not (idempotent or isinstance(exc, _NOT_SENT)):
                    raise OktaTransportError(method, path, reason) from exc
                refused_bucket = None
            else:
                limited = self._record_rate_limits(response)
                status = response.status_code
                logger.debug(
                    "okta %s %s -> %d in %.0f ms [request %s]",
                    method, path, status, (time.monotonic() - started) * 1000, response.headers.get(REQUEST_ID_HEADER),
                )
                if not response.is_error:
                    return response
                rate_limited = status == httpx.codes.TOO_MANY_REQUESTS
                if last or not (rate_limited or (idempotent and status >= 500)):
                    raise error_from_response(response)
                reason = f"status {status}"
                # A 429 with headers names its reset. The bucket may be the token endpoint's: its 429
                # is what an OAuth caller gets when the access token could not be fetched.
                refused_bucket = (
                    bucket_for(response.request.method, response.request.url.path) if rate_limited and limited else None
                )
            logger.warning("okta %s %s: %s; retry %d of %d", method, path, reason, attempt + 1, self._max_retries)
            if refused_bucket is not None:
                await self.limiter.acquire(refused_bucket)  # spent by the 429: this waits for the reset
            else:
                await asyncio.sleep(self._backoff_delay(attempt))
            attempt += 1

    def _record_rate_limits(self, response: httpx.Response) -> bool:
        """Record every response of the exchange (a token request's too); True if the last had headers."""
        recorded = False
        for r in (*response.history, response):
            recorded = self.limiter.record(bucket_for(r.request.method, r.request.url.path), r)
        return recorded

    def _backoff_delay(self, attempt: int) -> float:
        # Exponential, with jitter so that clients failing together do not retry together.
        return min(_MAX_BACKOFF_SECONDS, self._backoff * 2.0**attempt) * random.uniform(0.5, 1.0)
