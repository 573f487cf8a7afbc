"""Shared pieces of the alerts tests (no tests here): Okta payloads built by hand, and a sink that can
"crash" a worker at a chosen point of a post."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis
from pydantic import SecretStr
from slack_sdk.web.async_client import AsyncWebClient

from alerts.receiver import HookConfig, create_hook_app
from alerts.sink import Sink
from alerts.stream import STREAM_KEY
from alerts.worker import DEFAULT_GROUP, AlertWorker
from bot.server import BackgroundServer
from slackport import Posted, Reply, SlackPort
from slacksim import Message, RecordedCall, SlackWorkspace, create_app, demo_workspace

SECRET = "hook-secret-0123456789"
ORG_URL = "https://acme.okta.com"
POLICY_FILE = Path(__file__).resolve().parents[1] / "policy" / "example.yaml"
ALERTS = "C0SECALERT1"  # #security-alerts in the demo workspace
_ids = itertools.count(1)


def log_event(
    event_type: str = "user.session.start",
    *,
    uuid: str | None = None,
    outcome: str = "FAILURE",
    reason: str | None = "INVALID_CREDENTIALS",
    actor: dict[str, Any] | None = None,
    targets: Sequence[dict[str, Any]] = (),
    ip: str = "203.0.113.7",
    message: str = "User login to Okta",
    debug: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A System Log event in the spec's LogEvent shape, as Okta puts it in `data.events[]`."""
    n = next(_ids)
    return {
        "uuid": uuid or f"a1b2c3d4-0000-4000-8000-{n:012d}",
        "published": "2025-03-03T09:15:00.123Z",
        "eventType": event_type,
        "version": "0",
        "severity": "WARN",
        "displayMessage": message,
        "actor": actor
        or {
            "id": "00u1erin",
            "type": "User",
            "alternateId": "erin.employee@acme.example",
            "displayName": "Erin Employee",
        },
        "client": {
            "userAgent": {"rawUserAgent": "Mozilla/5.0", "os": "Mac OS X", "browser": "CHROME"},
            "zone": "null",
            "device": "Computer",
            "ipAddress": ip,
            "geographicalContext": {"city": "Lagos", "state": "Lagos", "country": "Nigeria", "postalCode": "100001"},
        },
        "outcome": {"result": outcome, **({"reason": reason} if reason else {})},
        "target": list(targets),
        "debugContext": {"debugData": {"requestId": f"req{n}", **(debug or {})}},
        "transaction": {"type": "WEB", "id": f"req{n}", "detail": {}},
        "securityContext": {},
        "request": {"ipChain": [{"ip": ip}]},  # not in our model: must travel through untouched
    }


def delivery(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "eventType": "com.okta.event_hook",
        "eventTypeVersion": "1.0",
        "cloudEventsVersion": "0.1",
        "source": "https://acme.okta.com/api/v1/eventHooks/who8c9n2Zx1bS2fGh0g4",
        "eventId": "b6c1b6a2-7a0f-4d6b-9d43-0b5c4d1e2f3a",
        "eventTime": "2025-03-03T09:15:01.000Z",
        "contentType": "application/json",
        "data": {"events": list(events)},
    }


class CrashingSink:
    """Delegates to a real sink, but its `at`-th post stops forever at `point` ("before" Slack is called,
    or "after" Slack has posted): the worker's task can then be cancelled there, like a dying process."""

    def __init__(self, inner: Sink, point: str, at: int = 1) -> None:
        self._inner = inner
        self._point = point
        self._posts_left = at
        self.stopped = asyncio.Event()

    async def _stop(self) -> None:
        self.stopped.set()
        await asyncio.Event().wait()  # until cancelled

    async def post(self, channel: str, reply: Reply, *, metadata: dict[str, Any] | None = None) -> Posted:
        self._posts_left -= 1
        if self._posts_left == 0 and self._point == "before":
            await self._stop()
        posted = await self._inner.post(channel, reply, metadata=metadata)
        if self._posts_left == 0:
            await self._stop()
        return posted

    async def update(self, channel: str, ts: str, reply: Reply) -> None:
        await self._inner.update(channel, ts, reply)

    async def find_posted(self, channel: str, metadata: dict[str, Any], oldest: float) -> Posted | None:
        return await self._inner.find_posted(channel, metadata, oldest)


@asynccontextmanager
async def slack_stand_in() -> AsyncIterator[tuple[SlackWorkspace, AsyncWebClient]]:
    """The fake Slack Web API over HTTP, and a plain client for it (the Slack port handles 429s)."""
    ws = demo_workspace()
    # The alert tests compress time: channels are paced at 0 or a tenth of production's one post a
    # second, which Slack's per-channel limit would refuse. The limit itself is tested in
    # tests/test_slacksim_ratelimits.py.
    ws.rate_limits.enabled = False
    async with BackgroundServer(create_app(ws)) as server:
        yield ws, AsyncWebClient(token=ws.bot_token, base_url=f"{server.url}/api/")


@dataclass
class AlertsEnv:
    """Redis, the fake Slack, and our hook endpoint, all real and on loopback; helpers to drive them."""

    redis: aioredis.Redis
    ws: SlackWorkspace
    client: AsyncWebClient
    http: httpx.AsyncClient  # posts to our hook endpoint with the secret, as Okta does
    hook_url: str  # the endpoint, as Okta is told it

    def sink(self) -> SlackPort:
        return SlackPort(self.client, pacing_s=0)  # pacing has its own test; elsewhere it only slows

    def worker(self, name: str = "w1", sink: Sink | None = None, router: Any = None, **options: Any) -> AlertWorker:
        route = router or (lambda _event: ALERTS)
        return AlertWorker(self.redis, sink or self.sink(), route, name, **{"org_url": ORG_URL, **options})

    async def deliver(self, *events: dict[str, Any]) -> None:
        response = await self.http.post("/okta/hooks", json=delivery(*events))
        assert response.status_code == 200, response.text

    async def drain(self, *workers: AlertWorker, rounds: int = 50) -> None:
        """Runs the workers (concurrently) until every entry of the stream is read and acknowledged."""
        for _ in range(rounds):
            await asyncio.gather(*(w.process_once(block_ms=0) for w in workers))
            last = (await self.redis.xinfo_stream(STREAM_KEY))["last-generated-id"]
            [group] = [g for g in await self.redis.xinfo_groups(STREAM_KEY) if g["name"] == DEFAULT_GROUP]
            if group["pending"] == 0 and group["last-delivered-id"] == last:
                return
        raise AssertionError(f"stream not drained after {rounds} rounds")

    async def crash(self, sink: CrashingSink, **options: Any) -> None:
        """A worker ("dying") runs until it stands at the sink's crash point, and is killed there."""
        task = asyncio.create_task(self.worker("dying", sink, **options).process_once(block_ms=0))
        await asyncio.wait_for(sink.stopped.wait(), timeout=5)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert task.cancelled()

    def calls(self, method: str) -> list[RecordedCall]:
        return [c for c in self.ws.calls if c.method == method]


@asynccontextmanager
async def alerts_env(redis: aioredis.Redis) -> AsyncIterator[AlertsEnv]:
    app = create_hook_app(HookConfig(secret=SecretStr(SECRET)), redis)
    async with (
        slack_stand_in() as (ws, client),
        BackgroundServer(app) as hook,
        httpx.AsyncClient(base_url=hook.url, headers={"Authorization": SECRET}) as http,
    ):
        yield AlertsEnv(redis, ws, client, http, f"{hook.url}/okta/hooks")


def uuids(messages: Sequence[Message]) -> list[str]:
    return [m.metadata["event_payload"]["uuid"] for m in messages if m.metadata]
