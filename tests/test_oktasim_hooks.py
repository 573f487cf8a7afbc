"""Event hooks: the API, Okta's one-time verification, delivery to a real HTTP receiver, retry, redelivery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.server import BackgroundServer
from oktasim import OktaOrg

SECRET = "hook-shared-secret"

@dataclass
class Receiver:
    """A hook endpoint: answers the verification challenge and records every delivery."""

    echo_challenge: bool = True
    statuses: list[int] = field(default_factory=list)  # answers for the next POSTs (then 200)
    hang_next: int = 0  # how many next POSTs never answer (until `release` is set)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    challenges: list[dict[str, str]] = field(default_factory=list)
    posts: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)

    async def verify(self, request: Request) -> Response:
        self.challenges.append(dict(request.headers))
        challenge = request.headers.get("x-okta-verification-challenge", "")
        return JSONResponse({"verification": challenge if self.echo_challenge else "something else"})

    async def deliver(self, request: Request) -> Response:
        self.posts.append((dict(request.headers), await request.json()))
        if self.hang_next:
            self.hang_next -= 1
            await self.release.wait()
        return Response(status_code=self.statuses.pop(0) if self.statuses else 200)

    @property
    def event_types(self) -> list[list[str]]:
        return [[e["eventType"] for e in body["data"]["events"]] for _, body in self.posts]


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    endpoint = Receiver()
    app = Starlette(
        routes=[
            Route("/okta/hooks", endpoint.verify, methods=["GET"]),
            Route("/okta/hooks", endpoint.deliver, methods=["POST"]),
        ]
    )
    async with BackgroundServer(app) as server:
        try:
            yield endpoint, f"{server.url}/okta/hooks"
        finally:
            endpoint.release.set()  # let a deliberately hung request finish so the server can stop


def _hook_body(uri: str, *event_types: str, name: str = "chatops alerts") -> dict[str, Any]:
    return {
        "name": name,
        "events": {"type": "EVENT_TYPE", "items": list(event_types)},
        "channel": {
            "type": "HTTP",
            "version": "1.0.0",
            "config": {
                "uri": uri,
                "headers": [{"key": "X-Org", "value": "acme"}],
                "authScheme": {"type": "HEADER", "key": "Authorization", "value": SECRET},
            },
        },
    }


async def _verified_hook(api: httpx.AsyncClient, uri: str, *event_types: str) -> dict[str, Any]:
    created = (await api.post("/api/v1/eventHooks", json=_hook_body(uri, *event_types))).json()
    verified = await api.post(f"/api/v1/eventHooks/{created['id']}/lifecycle/verify")
    assert verified.status_code == 200, verified.text
    return verified.json()


async def test_hook_crud(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    created = await api.post(
        "/api/v1/eventHooks", json=_hook_body("https://hooks.example/okta", "user.lifecycle.suspend")
    )
    assert created.status_code == 200, created.text
    hook = created.json()
    assert hook["id"].startswith("who") and hook["status"] == "ACTIVE" and hook["verificationStatus"] == "UNVERIFIED"
    assert hook["channel"]["config"]["authScheme"] == {"type": "HEADER", "key": "Authorization"}, (
        "the secret is write-only"
    )
    assert SECRET not in (await api.get("/api/v1/eventHooks")).text
    assert (await api.get(f"/api/v1/eventHooks/{hook['id']}")).json()["name"] == "chatops alerts"

    replaced = await api.put(
        f"/api/v1/eventHooks/{hook['id']}",
        json=_hook_body("https://hooks.example/v2", "user.account.lock", name="renamed"),
    )
    assert replaced.json()["events"]["items"] == ["user.account.lock"] and replaced.json()["name"] == "renamed"

    active_delete = await api.delete(f"/api/v1/eventHooks/{hook['id']}")
    assert active_delete.status_code == 403, "only an INACTIVE hook can be deleted"
    deactivated = await api.post(f"/api/v1/eventHooks/{hook['id']}/lifecycle/deactivate")
    assert deactivated.json()["status"] == "INACTIVE" and "activate" in deactivated.json()["_links"]
    assert (await api.delete(f"/api/v1/eventHooks/{hook['id']}")).status_code == 204
    assert (await api.get(f"/api/v1/eventHooks/{hook['id']}")).json()["errorSummary"].endswith("(EventHook)")

    ineligible = await api.post(
        "/api/v1/eventHooks", json=_hook_body("https://hooks.example/okta", "security.threat.detected")
    )
    assert (
        ineligible.status_code == 400
        and "security.threat.detected" in ineligible.json()["errorCauses"][0]["errorSummary"]
    )
    not_http = await api.post("/api/v1/eventHooks", json=_hook_body("ftp://hooks.example", "user.account.lock"))
    assert not_http.status_code == 400
    created_types = [e["eventType"] for e in okta_org.log_events]
    assert created_types == ["event_hook.created", "event_hook.deactivated", "event_hook.deleted"]


async def test_verification_challenge(
    okta_org: OktaOrg, api: httpx.AsyncClient, receiver: tuple[Receiver, str]
) -> None:
    endpoint, uri = receiver
    hook = await _verified_hook(api, uri, "user.lifecycle.suspend")
    assert hook["verificationStatus"] == "VERIFIED"
    [headers] = endpoint.challenges
    assert headers["authorization"] == SECRET and headers["x-org"] == "acme"
    assert len(headers["x-okta-verification-challenge"]) > 20

    endpoint.echo_challenge = False
    other = (await api.post("/api/v1/eventHooks", json=_hook_body(uri, "user.account.lock"))).json()
    refused = await api.post(f"/api/v1/eventHooks/{other['id']}/lifecycle/verify")
    assert refused.status_code == 400 and refused.json()["errorCode"] == "E0000001"
    assert (await api.get(f"/api/v1/eventHooks/{other['id']}")).json()["verificationStatus"] == "UNVERIFIED"
    assert okta_org.log_events[-1]["eventType"] == "event_hook.verified"
    assert okta_org.log_events[-1]["outcome"]["result"] == "FAILURE"


async def test_delivery_of_subscribed_events(
    okta_org: OktaOrg, api: httpx.AsyncClient, receiver: tuple[Receiver, str]
) -> None:
    endpoint, uri = receiver
    hook = await _verified_hook(api, uri, "user.lifecycle.suspend")
    erin, lee = okta_org.get_user("erin.employee"), okta_org.get_user("lee.locked")
    await api.post(f"/api/v1/users/{lee.id}/lifecycle/unlock")  # not subscribed
    await api.post(f"/api/v1/users/{erin.id}/lifecycle/suspend")
    await okta_org.hooks_idle()
    [(headers, body)] = endpoint.posts
    assert headers["authorization"] == SECRET and headers["content-type"] == "application/json"
    assert body["eventType"] == "com.okta.event_hook" and body["eventTypeVersion"] == "1.0"
    assert body["cloudEventsVersion"] == "0.1" and body["contentType"] == "application/json"
    assert body["source"] == f"{api.base_url}/api/v1/eventHooks/{hook['id']}" and body["eventId"] and body["eventTime"]
    [event] = body["data"]["events"]
    assert event["eventType"] == "user.lifecycle.suspend" and event["target"][0]["id"] == erin.id
    assert event == okta_org.log_events[-1], "the delivered event is the System Log event"
    [delivery] = okta_org.hook_deliveries
    assert (delivery.hook_id, delivery.status_code, delivery.attempt, delivery.ok) == (hook["id"], 200, 1, True)

    await api.post(f"/api/v1/eventHooks/{hook['id']}/lifecycle/deactivate")
    await api.post(f"/api/v1/users/{erin.id}/lifecycle/unsuspend")
    await api.post(f"/api/v1/users/{erin.id}/lifecycle/suspend")
    await okta_org.hooks_idle()
    assert len(endpoint.posts) == 1, "an INACTIVE hook receives nothing"


async def test_events_written_together_arrive_together(
    okta_org: OktaOrg, api: httpx.AsyncClient, receiver: tuple[Receiver, str]
) -> None:
    endpoint, uri = receiver
    await _verified_hook(api, uri, "user.session.start", "user.account.lock")
    okta_org.lock_out("erin.employee@acme.example", failures=3)
    await okta_org.hooks_idle()
    assert endpoint.event_types == [["user.session.start"] * 3 + ["user.account.lock"]]


async def test_retry_once_on_5xx_not_on_4xx(
    okta_org: OktaOrg, api: httpx.AsyncClient, receiver: tuple[Receiver, str]
) -> None:
    endpoint, uri = receiver
    await _verified_hook(api, uri, "user.account.lock")
    endpoint.statuses = [500]
    okta_org.lock_out("erin.employee@acme.example")
    await okta_org.hooks_idle()
    assert [(d.attempt, d.status_code) for d in okta_org.hook_deliveries] == [(1, 500), (2, 200)]
    assert endpoint.posts[0][1] == endpoint.posts[1][1], "the retry resends the same delivery (same eventId)"

    endpoint.statuses = [400]
    okta_org.lock_out("alex.kim@acme.example")
    await okta_org.hooks_idle()
    assert [(d.attempt, d.status_code) for d in okta_org.hook_deliveries[2:]] == [(1, 400)]

    endpoint.statuses = [502, 503]
    okta_org.lock_out("alex.garcia@acme.example")
    await okta_org.hooks_idle()
    assert [(d.attempt, d.status_code) for d in okta_org.hook_deliveries[3:]] == [(1, 502), (2, 503)]
    failures = [e for e in okta_org.log_events if e["eventType"] == "event_hook.delivery"]
    assert len(failures) == 2 and failures[-1]["outcome"]["result"] == "FAILURE"


async def test_retry_after_timeout(okta_org: OktaOrg, api: httpx.AsyncClient, receiver: tuple[Receiver, str]) -> None:
    endpoint, uri = receiver
    await _verified_hook(api, uri, "user.account.lock")
    okta_org.hook_timeout = 0.3  # Okta waits 3 s; a test need not
    endpoint.hang_next = 1
    okta_org.lock_out("erin.employee@acme.example")
    await okta_org.hooks_idle()
    first, second = okta_org.hook_deliveries
    assert first.status_code is None and "no response within" in (first.error or "")
    assert (second.attempt, second.status_code) == (2, 200)


async def test_redeliver_last_sends_the_same_delivery(
    okta_org: OktaOrg, api: httpx.AsyncClient, receiver: tuple[Receiver, str]
) -> None:
    endpoint, uri = receiver
    with pytest.raises(RuntimeError):
        await okta_org.redeliver_last()
    await _verified_hook(api, uri, "user.account.lock")
    okta_org.lock_out("erin.employee@acme.example")
    await okta_org.hooks_idle()
    await okta_org.redeliver_last()
    assert len(endpoint.posts) == 2 and endpoint.posts[0][1] == endpoint.posts[1][1]
    assert [d.redelivery for d in okta_org.hook_deliveries] == [False, True]
