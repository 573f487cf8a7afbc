"""Property-based tests of every HTTP entry point: whatever arrives, the answer is never a 5xx.

The whole bot (as `run_chatops` assembles it, with the Okta simulator, the Slack stand-in, real
Redis and the sandbox console) runs in a thread with its own event loop, so hypothesis can drive it
from plain synchronous tests over real HTTP: unsigned and signed requests, oversized, truncated,
wrong content types, random JSON and form bodies, random action ids and values.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any, Self
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from bot.server import BackgroundServer
from tests.chatops_support import ERIN, HANA, HOOK_SECRET, ChatOps, run_chatops
from tests.conftest import SIM_API_TOKEN, examples

FUZZ = settings(
    max_examples=examples(120), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

CONTENT_TYPES = st.sampled_from(
    ["application/x-www-form-urlencoded", "application/json", "text/plain", "multipart/form-data", "", "application/xml"]
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=5),
    max_leaves=30,
)
ACTION_IDS = st.sampled_from(
    ["okta:unlock", "okta:cancel", "okta:lookup", "okta:suspend", "okta:add-to-group", "okta:", "okta:nope",
     "approval:approve", "approval:deny", "approval:cancel", "self:unlock", "self:reset-password", "self:nope",
     "okta:reset-mfa:3", "okta:history:1", "okta:activity", "okta:verify", "self:release", "access:release",
     "access:extend", "access:request-form", "self:request", "access:review", "wty:yes", "wty:no", "wty:suspend",
     "wty:resolve", "wty:nope"]
) | st.text(max_size=40)


class Stack:
    """The bot and its stand-ins served from a thread of their own."""

    def __init__(self, redis_url: str) -> None:
        self._redis_url = redis_url
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._ready: Future[tuple[ChatOps, str]] = Future()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._main(),), daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        self.chatops, self.console_url = self._ready.result(timeout=60)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=60)

    async def _main(self) -> None:
        from console import create_console_app
        from oktaclient import OktaClient
        from oktasim import create_app as okta_app
        from oktasim import seed_demo_org
        from slacksim import create_app as slack_app
        from slacksim import demo_workspace

        self._stop = asyncio.Event()
        org, ws = seed_demo_org(), demo_workspace()
        org.add_api_token(SIM_API_TOKEN)
        redis = Redis.from_url(self._redis_url, decode_responses=True)
        await redis.flushdb()
        try:
            async with (
                BackgroundServer(okta_app(org)) as okta_server,
                BackgroundServer(slack_app(ws)) as slack_server,
                OktaClient.from_api_token(okta_server.url, SIM_API_TOKEN) as okta,
            ):
                ws.base_url = slack_server.url
                async for chatops in run_chatops(ws=ws, slack_url=slack_server.url, org=org, okta=okta, redis=redis):
                    console = create_console_app(ws, org, bot_events_url=chatops.url, stream_seconds=0.2)
                    async with BackgroundServer(console) as console_server:
                        self._ready.set_result((chatops, console_server.url))
                        await self._stop.wait()
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(exc)
            raise
        finally:
            await redis.aclose()


@pytest.fixture(scope="module")
def stack(redis_url: str) -> Iterator[Stack]:
    # a database of its own: the other tests flush database 0 around them
    with Stack(redis_url.rsplit("/", 1)[0] + "/9") as running:
        yield running


@pytest.fixture(scope="module")
def http(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.chatops.server.url, timeout=10) as client:
        yield client


def _no_5xx(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert "Traceback" not in response.text


def _signed(stack: Stack, body: bytes | str, content_type: str) -> dict[str, str]:
    raw = body.decode("latin-1") if isinstance(body, bytes) else body
    return {"Content-Type": content_type, **stack.chatops.ws.signer.headers(raw)}


@FUZZ
@given(body=st.binary(max_size=4096), content_type=CONTENT_TYPES, headers=st.dictionaries(
    st.sampled_from(["X-Slack-Signature", "X-Slack-Request-Timestamp", "X-Slack-Retry-Num"]),
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=80),
))
def test_unsigned_slack_requests_are_refused(http: httpx.Client, body: bytes, content_type: str, headers: dict[str, str]) -> None:
    response = http.post("/slack/events", content=body, headers={"Content-Type": content_type, **headers})
    assert response.status_code in (400, 401), response.status_code


@FUZZ
@given(form=st.dictionaries(st.sampled_from(["payload", "command", "text", "user_id", "trigger_id", "type"]) | st.text(max_size=10),
                            st.text(max_size=200) | JSON_VALUES.map(json.dumps), max_size=6))
def test_signed_random_forms_never_fail(stack: Stack, http: httpx.Client, form: dict[str, str]) -> None:
    body = urlencode(form)
    _no_5xx(http.post("/slack/events", content=body, headers=_signed(stack, body, "application/x-www-form-urlencoded")))


@FUZZ
@given(payload=JSON_VALUES, content_type=CONTENT_TYPES)
def test_signed_random_json_never_fails(stack: Stack, http: httpx.Client, payload: Any, content_type: str) -> None:
    body = json.dumps(payload)
    _no_5xx(http.post("/slack/events", content=body, headers=_signed(stack, body, content_type)))


@FUZZ
@given(action_id=ACTION_IDS, value=st.text(max_size=300) | st.none(), user=st.sampled_from([HANA, ERIN, "U0NOBODY001", "UX"]),
       block_id=st.text(max_size=40) | st.none())
def test_signed_clicks_with_random_ids_and_values_never_fail(
    stack: Stack, http: httpx.Client, action_id: str, value: str | None, user: str, block_id: str | None
) -> None:
    action: dict[str, Any] = {"action_id": action_id, "type": "button", "action_ts": "1.0"}
    if value is not None:
        action["value"] = value
    if block_id is not None:
        action["block_id"] = block_id
    payload = {
        "type": "block_actions", "user": {"id": user}, "actions": [action], "trigger_id": "1.2.x",
        "team": {"id": stack.chatops.ws.team_id}, "api_app_id": stack.chatops.ws.app_id,
        "container": {"type": "view", "view_id": "V1"},
    }
    body = urlencode({"payload": json.dumps(payload)})
    _no_5xx(http.post("/slack/events", content=body, headers=_signed(stack, body, "application/x-www-form-urlencoded")))


@FUZZ
@given(callback=st.sampled_from(["approval:request", "approval:deny", "access:request", "nope"]), metadata=st.text(max_size=300),
       kind=st.sampled_from(["view_submission", "view_closed"]), filled=st.booleans())
def test_signed_form_submissions_with_random_metadata_never_fail(
    stack: Stack, http: httpx.Client, callback: str, metadata: str, kind: str, filled: bool
) -> None:
    # filled: the request form's fields read, so its metadata is read too
    values = {"group": {"group_input": {"selected_option": {"value": "Finance"}}},
              "duration": {"duration_input": {"selected_option": {"value": "1h"}}},
              "reason": {"reason_input": {"value": "fuzz"}}} if filled else {}
    view = {"id": "V0FUZZ", "callback_id": callback, "private_metadata": metadata, "state": {"values": values}}
    payload = {"type": kind, "user": {"id": HANA}, "view": view, "trigger_id": "1.2.y", "team": {"id": stack.chatops.ws.team_id}}
    body = urlencode({"payload": json.dumps(payload)})
    _no_5xx(http.post("/slack/events", content=body, headers=_signed(stack, body, "application/x-www-form-urlencoded")))


@FUZZ
@given(body=st.binary(max_size=2048) | JSON_VALUES.map(lambda v: json.dumps(v).encode()), authorized=st.booleans(),
       method=st.sampled_from(["GET", "POST", "PUT"]), challenge=st.text(alphabet="abcdef0123456789", max_size=40))
def test_okta_hook_endpoint_never_fails(
    http: httpx.Client, body: bytes, authorized: bool, method: str, challenge: str
) -> None:
    headers = {"Authorization": HOOK_SECRET if authorized else "wrong", "Content-Type": "application/json"}
    if challenge:
        headers["X-Okta-Verification-Challenge"] = challenge
    response = http.request(method, "/okta/hooks", content=body if method != "GET" else None, headers=headers)
    _no_5xx(response)
    if not authorized:
        assert response.status_code in (401, 405)


@FUZZ
@given(path=st.sampled_from(["/healthz", "/readyz", "/metrics", "/", "/slack/events", "/nope"]) | st.text(max_size=60).map(lambda p: "/" + p),
       method=st.sampled_from(["GET", "POST", "DELETE", "OPTIONS", "HEAD"]), body=st.binary(max_size=512))
def test_every_route_answers_without_a_5xx(http: httpx.Client, path: str, method: str, body: bytes) -> None:
    try:
        request = http.build_request(method, path, content=body if method in ("POST", "DELETE") else None)
    except (httpx.InvalidURL, UnicodeEncodeError):
        return  # not a URL a client can send
    _no_5xx(http.send(request))


@FUZZ
@given(endpoint=st.sampled_from(["command", "action", "view/submit", "view/close", "home", "simulate/lockout", "simulate/burst", "simulate/push",
                                            "simulate/suspicious"]),
       payload=JSON_VALUES, raw=st.binary(max_size=256), use_raw=st.booleans())
def test_console_api_never_fails(stack: Stack, endpoint: str, payload: Any, raw: bytes, use_raw: bool) -> None:
    body = raw if use_raw else json.dumps(payload).encode()
    with httpx.Client(base_url=stack.console_url, timeout=10) as console:
        _no_5xx(console.post(f"/console/api/{endpoint}", content=body))
        _no_5xx(console.get("/console/api/state", params={"user": str(payload)[:40]}))


def test_the_bot_is_healthy_after_the_fuzzing(http: httpx.Client) -> None:
    assert http.get("/healthz").status_code == 200
    assert http.get("/readyz").json()["ready"] is True
