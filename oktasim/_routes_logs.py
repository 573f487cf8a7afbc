"""/api/v1/logs: the System Log, with since/until/after, filter, q, limit and sortOrder."""

from __future__ import annotations

from datetime import datetime

from starlette.responses import Response

from oktasim import _errors
from oktasim._clock import parse_iso
from oktasim._http import Call, add_links, json_response, operation
from oktasim._logs import LogQuery
from oktasim._search import SearchSyntaxError, compile_expression

MAX_KEYWORDS, MAX_KEYWORD_LENGTH = 10, 40


def _moment(call: Call, name: str) -> datetime | None:
    value = call.query(name)
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError as exc:
        problem = "The date format in your query is not recognized. Please enter dates using ISO8601 string format."
        raise _errors.validation(f"'{name}': {problem}", f"{name}: {problem}") from exc


async def list_logs(call: Call) -> Response:
    expression = None
    if text := call.query("filter"):
        try:
            # `published` is driven by since/until/after, never by the filter (as at Okta).
            expression = compile_expression(text, lambda c: c.attribute != "published")
        except SearchSyntaxError as exc:
            raise _errors.invalid_log_filter(text, str(exc)) from exc
    keywords = (call.query("q") or "").split()
    if len(keywords) > MAX_KEYWORDS or any(len(k) > MAX_KEYWORD_LENGTH for k in keywords):
        raise _errors.validation("q", f"q: at most {MAX_KEYWORDS} keywords of at most {MAX_KEYWORD_LENGTH} characters")
    order = (call.query("sortOrder") or "ASCENDING").upper()
    if order not in ("ASCENDING", "DESCENDING"):
        raise _errors.validation("sortOrder", "sortOrder: must be ASCENDING or DESCENDING")
    page = call.org.log.query(
        LogQuery(
            since=_moment(call, "since"),
            until=_moment(call, "until"),
            after=call.query("after"),
            expression=expression,
            keywords=keywords,
            limit=call.limit(100, 1000),
            descending=order == "DESCENDING",
        )
    )
    response = json_response(page.events)
    add_links(response, call.request, page.next_after)
    return response


ROUTES = [operation("GET", "/api/v1/logs", "okta.logs.read", list_logs)]
