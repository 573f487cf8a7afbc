"""Okta's cursor pagination: each page's `Link: <...>; rel="next"` header names the next page.

The server bounds the walk: it ends when a page has no next link. It also ends at an empty page,
because Okta's System Log answers polling queries (no `until`) with a next link on every page, the
empty last one included.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
from pydantic import BaseModel, TypeAdapter

from ._transport import Transport

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Page(Generic[M]):
    """One page of results, and where the next one starts."""

    items: list[M]
    next_url: str | None

    @property
    def after(self) -> str | None:
        """The next page's `after` cursor (what a System Log poller keeps between polls)."""
        if self.next_url is None:
            return None
        values = parse_qs(urlsplit(self.next_url).query).get("after")
        return values[0] if values else None


@functools.cache
def _list_of(model: type[M]) -> TypeAdapter[list[M]]:
    # built once per model: building one costs more than validating a page with it
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def page_from_response(response: httpx.Response, model: type[M]) -> Page[M]:
    items = _list_of(model).validate_python(response.json())
    next_link = response.links.get("next")
    return Page(items=items, next_url=next_link.get("url") if next_link else None)


async def paginate(
    transport: Transport, path: str, params: dict[str, Any] | None, model: type[M]
) -> AsyncIterator[M]:
    """Every item of every page, fetching each page only when the caller gets to it."""
    url: str | None = path
    while url is not None:
        page = page_from_response(await transport.request("GET", url, params=params), model)
        for item in page.items:
            yield item
        # The next link carries all the query parameters; sending ours again would duplicate them.
        url, params = (page.next_url if page.items else None), None
