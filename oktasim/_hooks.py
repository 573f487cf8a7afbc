"""Event hooks: registrations, Okta's one-time verification call, and delivery of System Log events.

As at Okta: only ACTIVE and VERIFIED hooks receive events; events written close together (here: in
the same turn of the event loop) travel in one POST; a delivery that times out (3 s) or gets a 5xx
is retried once, a 4xx is not. Deliveries run as background tasks on the running loop and share one
httpx.AsyncClient; `idle()` waits until none is pending.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from oktasim import _errors
from oktasim._clock import Clock, iso
from oktasim._ids import IdFactory
from oktasim._logs import Origin, SystemLog
from oktasim._records import href

OKTA_HOOK_TIMEOUT = 3.0
MAX_EVENTS_PER_DELIVERY = 50


@dataclass
class EventHook:
    id: str
    name: str
    event_types: list[str]
    uri: str
    headers: list[dict[str, str]]
    auth_key: str | None
    auth_value: str | None  # write-only: sent to the endpoint, never returned by the API
    created: datetime
    created_by: str
    last_updated: datetime
    status: str = "ACTIVE"
    verification_status: str = "UNVERIFIED"

    @property
    def receives_events(self) -> bool:
        return self.status == "ACTIVE" and self.verification_status == "VERIFIED"

    def request_headers(self) -> dict[str, str]:
        headers = {h["key"]: h["value"] for h in self.headers}
        if self.auth_key and self.auth_value is not None:
            headers[self.auth_key] = self.auth_value
        return headers

    def to_json(self, base: str) -> dict[str, Any]:
        url = f"{base}/api/v1/eventHooks/{self.id}"
        config: dict[str, Any] = {"uri": self.uri, "headers": self.headers, "method": "POST"}
        if self.auth_key:
            config["authScheme"] = {"type": "HEADER", "key": self.auth_key}
        toggle = "deactivate" if self.status == "ACTIVE" else "activate"
        return {
            "id": self.id,
            "status": self.status,
            "verificationStatus": self.verification_status,
            "name": self.name,
            "description": None,
            "created": iso(self.created),
            "createdBy": self.created_by,
            "lastUpdated": iso(self.last_updated),
            "events": {"type": "EVENT_TYPE", "items": list(self.event_types), "filter": None},
            "channel": {"type": "HTTP", "version": "1.0.0", "config": config},
            "_links": {
                "self": href(url),
                "verify": href(f"{url}/lifecycle/verify", "POST"),
                toggle: href(f"{url}/lifecycle/{toggle}", "POST"),
            },
        }

    def log_target(self) -> dict[str, Any]:
        return {"id": self.id, "type": "EventHook", "alternateId": self.uri, "displayName": self.name}


@dataclass(frozen=True)
class _Outcome:
    status: int | None  # None: timed out or could not connect
    error: str | None  # None on 2xx
    response: httpx.Response | None = None

    @property
    def retryable(self) -> bool:
        """Okta retries once after a timeout, a failed connection or a 5xx; never after a 2xx or 4xx."""
        return self.error is not None and (self.status is None or self.status >= 500)


def _echoed_challenge(response: httpx.Response) -> object:
    try:
        answer = response.json()
    except ValueError:
        return None
    return answer.get("verification") if isinstance(answer, dict) else None


@dataclass(frozen=True)
class HookDelivery:
    """One POST attempt to a hook endpoint."""

    hook_id: str
    attempt: int  # 1, or 2 for Okta's single retry
    status_code: int | None  # None: timed out or could not connect
    error: str | None
    event_ids: tuple[str, ...]  # the uuids of the LogEvents it carried
    body: dict[str, Any] = field(repr=False)
    redelivery: bool = False

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class HookDispatcher:
    def __init__(self, clock: Clock, ids: IdFactory, log: SystemLog) -> None:
        self._clock = clock
        self._ids = ids
        self._log = log
        self.hooks: dict[str, EventHook] = {}
        self.deliveries: list[HookDelivery] = []
        self.timeout = OKTA_HOOK_TIMEOUT
        self.base_url = "http://127.0.0.1"  # the org URL, for each delivery's `source`; the app keeps it current
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._flush_scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._last: tuple[EventHook, dict[str, Any]] | None = None
        log.listeners.append(self._on_event)

    def hook_or_404(self, hook_id: str) -> EventHook:
        hook = self.hooks.get(hook_id)
        if hook is None:
            raise _errors.not_found(hook_id, "EventHook")
        return hook

    # delivery

    def _on_event(self, event: dict[str, Any]) -> None:
        for hook in self.hooks.values():
            if hook.receives_events and event["eventType"] in hook.event_types:
                self._pending.setdefault(hook.id, []).append(event)
        if not self._pending or self._flush_scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # written outside any loop (set-up code): idle() sends it
        self._flush_scheduled = True
        loop.call_soon(self._flush)  # after the current step, so one request's events travel together

    def _flush(self) -> None:
        self._flush_scheduled = False
        pending, self._pending = self._pending, {}
        for hook_id, events in pending.items():
            hook = self.hooks.get(hook_id)
            if hook is None:  # deleted meanwhile
                continue
            for start in range(0, len(events), MAX_EVENTS_PER_DELIVERY):
                batch = events[start : start + MAX_EVENTS_PER_DELIVERY]
                self._spawn(self._deliver(hook, self._delivery_body(hook, batch), redelivery=False))

    def _delivery_body(self, hook: EventHook, events: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "eventType": "com.okta.event_hook",
            "eventTypeVersion": "1.0",
            "cloudEventsVersion": "0.1",
            "source": f"{self.base_url}/api/v1/eventHooks/{hook.id}",
            "eventId": self._ids.uuid(),
            "eventTime": iso(self._clock.now()),
            "contentType": "application/json",
            "data": {"events": events},
        }

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, hook: EventHook, body: dict[str, Any], *, redelivery: bool) -> None:
        self._last = (hook, body)
        event_ids = tuple(e["uuid"] for e in body["data"]["events"])
        for attempt in (1, 2):
            outcome = await self._send("POST", hook, body)
            self.deliveries.append(
                HookDelivery(hook.id, attempt, outcome.status, outcome.error, event_ids, body, redelivery)
            )
            if not outcome.retryable:
                break
        if outcome.error is not None:
            self._log.emit(
                "event_hook.delivery",
                Origin(),
                message="Event hook delivery failed",
                targets=[hook.log_target()],
                outcome="FAILURE",
                reason=outcome.error[:255],
                severity="WARN",
            )

    async def _send(
        self, method: str, hook: EventHook, body: dict[str, Any] | None, extra: dict[str, str] | None = None
    ) -> _Outcome:
        """One call to the hook's endpoint."""
        headers = {**hook.request_headers(), **(extra or {})}
        try:
            response = await self._http().request(method, hook.uri, json=body, headers=headers, timeout=self.timeout)
        except httpx.TimeoutException:
            return _Outcome(None, f"no response within {self.timeout:g} seconds")
        except httpx.HTTPError as exc:
            return _Outcome(None, f"request failed: {type(exc).__name__}")
        if 200 <= response.status_code < 300:
            return _Outcome(response.status_code, None, response)
        return _Outcome(response.status_code, f"endpoint answered HTTP {response.status_code}")

    def _http(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            # trust_env=False: deliveries go straight to the endpoint, never through a configured proxy
            self._client = httpx.AsyncClient(headers={"Accept": "application/json"}, trust_env=False)
            self._client_loop = loop
        return self._client

    # verification

    async def verify(self, hook: EventHook, origin: Origin) -> None:
        """Okta's one-time GET: the endpoint must echo the challenge header as {"verification": ...}."""
        challenge = secrets.token_urlsafe(32)
        for _attempt in (1, 2):
            outcome = await self._send("GET", hook, None, {"X-Okta-Verification-Challenge": challenge})
            if not outcome.retryable:
                break
        reason = outcome.error or "the response did not echo the verification challenge"
        if outcome.response is not None and _echoed_challenge(outcome.response) == challenge:
            hook.verification_status = "VERIFIED"
            hook.last_updated = self._clock.now()
            self._log.emit("event_hook.verified", origin, message="Event hook verified", targets=[hook.log_target()])
            return
        self._log.emit(
            "event_hook.verified",
            origin,
            message="Event hook verification failed",
            targets=[hook.log_target()],
            outcome="FAILURE",
            reason=reason[:255],
            severity="WARN",
        )
        raise _errors.validation("eventHook", f"Verification failed: {reason}.")

    # test support

    async def idle(self) -> None:
        while self._pending or self._tasks:
            if self._pending:
                self._flush()
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def redeliver_last(self) -> None:
        if self._last is None:
            raise RuntimeError("no event hook delivery has been made yet")
        hook, body = self._last
        await self._deliver(hook, body, redelivery=True)

    async def aclose(self) -> None:
        """At server shutdown: drop deliveries still in flight (tests await idle() first) and close the client."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None
