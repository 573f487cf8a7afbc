"""The System Log: LogEvents in Okta's shape, and /api/v1/logs queries with Okta's polling semantics.

Polling requests (ASCENDING, no `until`) walk events in the order they were written and always
return a `next` cursor, even on an empty page, so a poller can resume; bounded requests order by
`published` and end. Cursors look like Okta's (`<published ms>_<sequence>`) and are opaque to clients.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from oktasim import _errors
from oktasim._clock import Clock, iso
from oktasim._ids import IdFactory
from oktasim._search import Expression, matches

SYSTEM_ACTOR = {
    "id": "system",
    "type": "SystemPrincipal",
    "alternateId": "system@okta.com",
    "displayName": "Okta System",
}
MAX_SINCE_AGE = timedelta(days=180)
DEFAULT_WINDOW = timedelta(days=7)

# A small deterministic "GeoIP": every address maps to one of these places.
_PLACES = (
    ("San Francisco", "California", "United States", "94107", 37.7749, -122.4194),
    ("New York", "New York", "United States", "10013", 40.7209, -74.0048),
    ("Chicago", "Illinois", "United States", "60601", 41.8858, -87.6181),
    ("London", "England", "United Kingdom", "EC1A", 51.5154, -0.0922),
    ("Frankfurt am Main", "Hesse", "Germany", "60311", 50.1109, 8.6821),
    ("Sao Paulo", "Sao Paulo", "Brazil", "01000", -23.5505, -46.6333),
    ("Singapore", "Singapore", "Singapore", "018989", 1.2830, 103.8513),
    ("Lagos", "Lagos", "Nigeria", "100001", 6.5244, 3.3792),
)


def geographical_context(ip: str) -> dict[str, Any]:
    city, state, country, postal, lat, lon = _PLACES[zlib.crc32(ip.encode()) % len(_PLACES)]
    return {
        "city": city,
        "state": state,
        "country": country,
        "postalCode": postal,
        "geolocation": {"lat": lat, "lon": lon},
    }


@dataclass(frozen=True)
class Origin:
    """Who caused an event and from where: the actor, client and request of the LogEvents it writes."""

    actor: dict[str, Any] = field(default_factory=lambda: dict(SYSTEM_ACTOR))
    ip: str = "127.0.0.1"
    user_agent: str = "okta-sim"
    request_id: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class LogQuery:
    since: datetime | None = None
    until: datetime | None = None
    after: str | None = None
    expression: Expression | None = None
    keywords: Sequence[str] = ()
    limit: int = 100
    descending: bool = False


@dataclass(frozen=True)
class LogPage:
    events: list[dict[str, Any]]
    next_after: str | None


class SystemLog:
    def __init__(self, clock: Clock, ids: IdFactory) -> None:
        self._clock = clock
        self._ids = ids
        self.events: list[dict[str, Any]] = []
        self._published: list[datetime] = []  # parallel to events, to filter by time without re-parsing
        self.listeners: list[Callable[[dict[str, Any]], None]] = []

    def emit(
        self,
        event_type: str,
        origin: Origin,
        *,
        message: str,
        targets: Iterable[dict[str, Any]] = (),
        outcome: str = "SUCCESS",
        reason: str | None = None,
        severity: str = "INFO",
        debug: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Writes one event; `debug` adds to its debugContext.debugData."""
        now = self._clock.now()
        request_id = origin.request_id or self._ids.chars(27)
        debug_data: dict[str, Any] = {"requestId": request_id, **(debug or {})}
        if origin.url:
            debug_data.update(requestUri=origin.url.split("?", 1)[0], url=origin.url)
        geo = geographical_context(origin.ip)
        event = {
            "uuid": self._ids.uuid(),
            "published": iso(now),
            "eventType": event_type,
            "version": "0",
            "severity": severity,
            "displayMessage": message,
            "actor": dict(origin.actor),
            "client": {
                "userAgent": {"rawUserAgent": origin.user_agent, "os": "Unknown", "browser": "UNKNOWN"},
                "zone": "null",
                "device": "Unknown",
                "ipAddress": origin.ip,
                "geographicalContext": geo,
            },
            "authenticationContext": {"authenticationStep": 0, "externalSessionId": "trs" + request_id[:19]},
            "outcome": {"result": outcome, **({"reason": reason} if reason else {})},
            "securityContext": {},
            "debugContext": {"debugData": debug_data},
            "transaction": {"type": "WEB", "id": request_id, "detail": {}},
            "request": {"ipChain": [{"ip": origin.ip, "geographicalContext": geo, "version": "V4"}]},
            "target": [dict(t) for t in targets],
        }
        self.events.append(event)
        self._published.append(now)
        for listener in self.listeners:
            listener(event)
        return event

    # queries

    def query(self, query: LogQuery) -> LogPage:
        now = self._clock.now()
        until = query.until or now
        since = query.since or until - DEFAULT_WINDOW
        if since < now - MAX_SINCE_AGE:
            raise _errors.OktaError(
                400, "E0000053", "Invalid parameter: The since parameter is over 180 days prior to the current day."
            )
        polling = not query.descending and query.until is None
        after = self._cursor_index(query.after) if query.after else None
        order = self._polling_order(since, after) if polling else self._bounded_order(since, until, after, query)
        matches = (i for i in order if self._matches(self.events[i], query))
        picked: list[int] = []
        for index in matches:
            if len(picked) == query.limit:
                return LogPage([self.events[i] for i in picked], self._cursor(picked[-1]))
            picked.append(index)
        if polling:
            # The last page of a poll still carries `next`: it resumes after everything written so far.
            return LogPage([self.events[i] for i in picked], self._cursor(len(self.events) - 1))
        return LogPage([self.events[i] for i in picked], None)

    def _polling_order(self, since: datetime, after: int | None) -> Iterator[int]:
        if after is not None:
            return iter(range(after, len(self.events)))
        first = next((i for i, p in enumerate(self._published) if p >= since), len(self.events))
        return iter(range(first, len(self.events)))

    def _bounded_order(self, since: datetime, until: datetime, after: int | None, query: LogQuery) -> Iterator[int]:
        window = [i for i, p in enumerate(self._published) if since <= p < until]
        window.sort(key=lambda i: (self._published[i], i), reverse=query.descending)
        if after is not None:
            position = next((n for n, i in enumerate(window) if i == after - 1), None)
            if position is None:
                raise _errors.invalid_paging()
            window = window[position + 1 :]
        return iter(window)

    def _cursor(self, index: int) -> str:
        published = self._published[index] if index >= 0 else self._clock.now()
        return f"{int(published.timestamp() * 1000)}_{index + 1}"

    def _cursor_index(self, cursor: str) -> int:
        """The sequence number in a cursor: the index of the first event after it."""
        _, _, sequence = cursor.rpartition("_")
        if not sequence.isdigit() or int(sequence) > len(self.events):
            raise _errors.invalid_paging()
        return int(sequence)

    @staticmethod
    def _matches(event: dict[str, Any], query: LogQuery) -> bool:
        if query.expression is not None and not matches(query.expression, event, case_sensitive=False):
            return False
        if query.keywords:
            words = _keyword_candidates(event)
            return all(k.casefold() in words for k in query.keywords)
        return True


def _keyword_candidates(document: Any) -> set[str]:
    """Okta's `q` matches whole values and their words; hyphenated values also match each part."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and node:
            text = node.casefold()
            found.add(text)
            for word in text.split():
                found.add(word)
                found.update(word.split("-"))

    walk(document)
    return found
