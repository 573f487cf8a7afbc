"""Plumbing shared by the route modules: authentication and scope per operation, query parameters,
JSON responses and Link-header pagination.
"""

from __future__ import annotations

import bisect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from oktasim import _errors
from oktasim._auth import Principal
from oktasim._bodies import parse_body
from oktasim._errors import OktaError
from oktasim._logs import Origin
from oktasim._org import OktaOrg


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


Item = TypeVar("Item", bound=_Identified)
Model = TypeVar("Model", bound=BaseModel)


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@dataclass(frozen=True)
class Call:
    """One authenticated API call being answered."""

    request: Request
    org: OktaOrg
    principal: Principal

    @property
    def base(self) -> str:
        return base_url(self.request)

    def origin(self) -> Origin:
        """The actor and client of the System Log events this call causes."""
        url = self.request.url
        return Origin(
            actor=self.principal.actor,
            ip=self.request.client.host if self.request.client else "127.0.0.1",
            user_agent=self.request.headers.get("user-agent", ""),
            request_id=self.request.state.request_id,
            url=url.path + (f"?{url.query}" if url.query else ""),
        )

    def path(self, name: str) -> str:
        return str(self.request.path_params[name])

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name)

    def flag(self, name: str, default: bool) -> bool:
        value = self.query(name)
        if value is None:
            return default
        if value.lower() not in ("true", "false"):
            raise _errors.validation(name, f"{name}: must be true or false")
        return value.lower() == "true"

    def limit(self, default: int, maximum: int) -> int:
        value = self.query("limit")
        if value is None:
            return default
        if not value.isdigit() or int(value) < 1:
            raise _errors.validation("limit", "limit: must be a positive integer")
        return min(int(value), maximum)

    async def body(self, model: type[Model], subject: str) -> Model:
        return parse_body(model, await self.request.body(), subject)


Handler = Callable[[Call], Awaitable[Response]]


def operation(method: str, path: str, scope: str, handler: Handler) -> Route:
    """A route that authenticates the caller (SSWS or Bearer) and requires `scope` before `handler` runs."""

    async def endpoint(request: Request) -> Response:
        org: OktaOrg = request.app.state.org
        base, resource = base_url(request), request.url.path
        principal = org.credentials.authenticate(request.headers.get("authorization"), base, resource)
        org.credentials.require(principal, scope, base, resource)
        return await handler(Call(request, org, principal))

    return Route(path, endpoint, methods=[method])


def json_response(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def no_content() -> Response:
    return Response(status_code=204)


def error_response(error: OktaError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


def add_links(response: Response, request: Request, next_after: str | None) -> None:
    """Okta's pagination headers: one `Link` header per relation, `next` only when there is more."""
    response.raw_headers.append((b"link", f'<{request.url}>; rel="self"'.encode()))
    if next_after is not None:
        next_url = request.url.include_query_params(after=next_after)
        response.raw_headers.append((b"link", f'<{next_url}>; rel="next"'.encode()))


def paged(
    call: Call,
    items: Sequence[Item],
    render: Callable[[Item], dict[str, Any]],
    *,
    default_limit: int,
    max_limit: int,
    sorted_by_id: bool = True,
    paginate: bool = True,
) -> Response:
    """A page of `items` (each with an `id`) after the `after` cursor, which is the last id of the previous
    page. In id order the cursor survives that object's deletion; in another order it must still be there."""
    limit = call.limit(default_limit, max_limit)
    after = call.query("after")
    ids = [item.id for item in items]
    start = 0
    if after and sorted_by_id:
        start = bisect.bisect_right(ids, after)
    elif after:
        if after not in ids:
            raise _errors.invalid_paging()
        start = ids.index(after) + 1
    page = items[start : start + limit]
    more = paginate and start + limit < len(items)
    response = json_response([render(item) for item in page])
    add_links(response, call.request, ids[start + limit - 1] if more else None)
    return response
