"""The ASGI app: Okta's routes behind a gateway that gives every response Okta's headers, records
each call, enforces rate limits and plays injected faults.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oktasim import _errors, _routes_factors, _routes_groups, _routes_hooks, _routes_logs, _routes_oauth, _routes_users
from oktasim._errors import OktaError
from oktasim._http import error_response
from oktasim._org import OktaOrg, RecordedRequest
from oktasim._ratelimit import RateState


class _Gateway:
    """In front of every route: request id, recording, concurrency and rate limits, injected failures and delays,
    Okta's headers."""

    def __init__(self, app: ASGIApp, org: OktaOrg) -> None:
        self.app = app
        self.org = org

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        org = self.org
        method, path = scope["method"], scope["path"]
        org.record_request(RecordedRequest(method, path, scope["query_string"].decode("latin-1")))
        org.base_url = str(Request(scope).base_url)
        request_id = secrets.token_urlsafe(20)
        scope.setdefault("state", {})["request_id"] = request_id
        org.ops.settle(org.clock.now())  # asynchronous lifecycle transitions that are due
        crowded = org.concurrency.enter()
        if crowded is not None:  # beyond the concurrency limit: refused before any bucket counts it
            await self._answer(scope, receive, send, request_id, crowded, _errors.rate_limited())
            return
        try:
            rate = org.rate_limits.hit(method, path)
            failure = _errors.rate_limited() if not rate.allowed else _injected_failure(org, method, path)
            await self._answer(scope, receive, send, request_id, rate, failure)
        finally:
            org.concurrency.leave()

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, rate: RateState, failure: OktaError | None
    ) -> None:
        headers = [(b"x-okta-request-id", request_id.encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in rate.headers().items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *headers]}
            await send(message)

        if failure is not None:
            await error_response(failure)(scope, receive, send_with_headers)
            return
        method, path = scope["method"], scope["path"]
        delay = self.org.faults.take_delay(method, path)
        if delay is None:
            await self.app(scope, receive, send_with_headers)
            return
        # A slow answer: the request is carried out, its response held back for `delay` seconds
        # (or until the client gives up, so a test's teardown never waits on it).
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        await _sleep_unless_disconnected(receive, delay)
        for message in held:
            await send_with_headers(message)


def _injected_failure(org: OktaOrg, method: str, path: str) -> OktaError | None:
    status = org.faults.take_failure(method, path)
    return None if status is None else _errors.server_error(status)


async def _sleep_unless_disconnected(receive: Receive, seconds: float) -> None:
    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    waiters = {asyncio.ensure_future(asyncio.sleep(seconds)), asyncio.ensure_future(disconnected())}
    _, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for waiter in pending:
        waiter.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


async def _okta_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OktaError)
    return error_response(exc)


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error = _errors.method_not_allowed() if exc.status_code == 405 else _errors.path_not_found()
    return error_response(error)


async def _server_error(_request: Request, _exc: Exception) -> Response:
    return error_response(_errors.server_error(500))


def create_app(org: OktaOrg) -> Starlette:
    """The simulator as an ASGI app serving `org` (serve it with bot.server.BackgroundServer)."""

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[dict[str, Any]]:
        yield {}
        await org.hooks.aclose()

    app = Starlette(
        routes=[
            *_routes_users.ROUTES,
            *_routes_groups.ROUTES,
            *_routes_factors.ROUTES,
            *_routes_logs.ROUTES,
            *_routes_hooks.ROUTES,
            *_routes_oauth.ROUTES,
        ],
        middleware=[Middleware(_Gateway, org=org)],
        exception_handlers={OktaError: _okta_error, 404: _http_error, 405: _http_error, Exception: _server_error},
        lifespan=lifespan,
    )
    app.state.org = org
    return app
