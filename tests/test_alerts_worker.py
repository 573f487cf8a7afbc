"""Workers over real Redis and the fake Slack over HTTP: events reach Slack once, whatever happens.

Events enter as Okta sends them: hand-built deliveries POSTed to the hook endpoint.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from alerts.ledger import Ledger
from alerts.pacing import ChannelPacer
from alerts.sink import SlackSink, message_metadata
from alerts.stream import STREAM_KEY
from alerts.worker import DEFAULT_GROUP
from oktaclient.models import LogEvent
from policy import load_policy
from tests.test_alerts_support import ALERTS, POLICY_FILE, AlertsEnv, CrashingSink, alerts_env, log_event, uuids


@pytest.fixture
async def env(redis: aioredis.Redis) -> AsyncIterator[AlertsEnv]:
    async with alerts_env(redis) as alerts:
        yield alerts


async def _pending(env: AlertsEnv) -> int:
    return int((await env.redis.xpending(STREAM_KEY, DEFAULT_GROUP))["pending"])


async def test_each_event_is_posted_once_with_its_metadata(env: AlertsEnv) -> None:
    events = [log_event(), log_event("user.account.lock", outcome="SUCCESS", reason=None)]
    await env.deliver(*events)
    w = env.worker()
    assert await w.process_once(block_ms=0) == 2
    messages = env.ws.messages("security-alerts")
    assert uuids(messages) == [e["uuid"] for e in events]
    assert all(m.metadata and m.metadata["event_type"] == "okta_event" for m in messages)
    assert "Failed sign-in" in messages[0].text and "Account locked out" in messages[1].text
    assert await _pending(env) == 0
    assert await w.process_once(block_ms=0) == 0


async def test_duplicate_deliveries_are_posted_once(env: AlertsEnv) -> None:
    events = [log_event() for _ in range(5)]
    await env.deliver(*events)
    await env.deliver(*events)  # Okta's retry of a delivery it thinks failed
    w = env.worker(batch_size=3)  # duplicates land in the same and in later batches
    await env.drain(w)
    await env.deliver(events[2])  # a late redelivery of one event
    await env.drain(w)
    assert uuids(env.ws.messages(ALERTS)) == [e["uuid"] for e in events]
    assert await env.redis.xlen(STREAM_KEY) == 11


async def test_workers_share_the_stream_without_double_posting(env: AlertsEnv) -> None:
    events = [log_event() for _ in range(30)]
    await env.deliver(*events)
    await env.deliver(*events)
    await env.drain(*(env.worker(f"w{i}", batch_size=7) for i in range(3)))
    assert sorted(uuids(env.ws.messages(ALERTS))) == sorted(e["uuid"] for e in events)


async def test_worker_killed_before_posting_loses_nothing(env: AlertsEnv) -> None:
    events = [log_event() for _ in range(4)]
    await env.deliver(*events)
    await env.crash(CrashingSink(env.sink(), point="before"))
    assert env.ws.messages(ALERTS) == [] and await _pending(env) == 4

    survivor = env.worker("survivor", min_idle_ms=0)  # presumes "dying" dead at once
    assert await survivor.process_once(block_ms=0) == 4  # taken over with XAUTOCLAIM
    assert uuids(env.ws.messages(ALERTS)) == [e["uuid"] for e in events]
    assert await _pending(env) == 0
    assert len(env.calls("conversations.history")) == 1, "only the event the dead worker claimed needs a look"


async def test_worker_killed_after_posting_before_recording_does_not_post_again(env: AlertsEnv) -> None:
    events = [log_event() for _ in range(3)]
    await env.deliver(*events)
    await env.crash(CrashingSink(env.sink(), point="after"))
    assert uuids(env.ws.messages(ALERTS)) == [events[0]["uuid"]]  # in Slack, but not in the ledger
    assert await env.redis.hget(Ledger.key(events[0]["uuid"]), "state") == "posting"

    await env.drain(env.worker("survivor", min_idle_ms=0))
    messages = env.ws.messages(ALERTS)
    assert uuids(messages) == [e["uuid"] for e in events]  # the first one found by its metadata, not re-posted
    assert await env.redis.hmget(Ledger.key(events[0]["uuid"]), ["state", "ts"]) == ["posted", messages[0].ts]
    [lookup] = env.calls("conversations.history")
    assert lookup.args["include_all_metadata"] in (True, "true", "1")


async def test_a_live_workers_claim_is_respected(env: AlertsEnv) -> None:
    event = log_event()
    await env.deliver(event)
    slow = CrashingSink(env.sink(), point="before")
    busy = asyncio.create_task(env.worker("slow", slow).process_once(block_ms=0))
    await asyncio.wait_for(slow.stopped.wait(), timeout=5)

    await env.deliver(event)  # a redelivery while "slow" is still posting the first copy
    assert await env.worker("other").process_once(block_ms=0) == 1  # default min_idle: "slow" counts as alive
    assert env.ws.messages(ALERTS) == [] and await _pending(env) == 2, "neither posted nor acknowledged"

    busy.cancel()
    await asyncio.gather(busy, return_exceptions=True)
    await env.drain(env.worker("later", min_idle_ms=0))
    assert uuids(env.ws.messages(ALERTS)) == [event["uuid"]]


async def test_rate_limited_post_is_retried_after_retry_after(env: AlertsEnv) -> None:
    event = log_event()
    await env.deliver(event)
    env.ws.fail_next("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    await env.worker().process_once(block_ms=0)
    assert time.monotonic() - started >= 1.0
    assert [c.status for c in env.calls("chat.postMessage")] == [429, 200]
    assert uuids(env.ws.messages(ALERTS)) == [event["uuid"]] and await _pending(env) == 0


async def test_refused_post_stays_pending_and_is_retried_without_lookup(env: AlertsEnv) -> None:
    event = log_event()
    await env.deliver(event)
    env.ws.fail_next("chat.postMessage", error="internal_error")  # HTTP 200, ok: false: certainly not posted
    await env.worker("w1").process_once(block_ms=0)
    assert env.ws.messages(ALERTS) == [] and await _pending(env) == 1
    assert not await env.redis.exists(Ledger.key(event["uuid"])), "the claim is dropped"

    await env.drain(env.worker("w2", min_idle_ms=0))
    assert uuids(env.ws.messages(ALERTS)) == [event["uuid"]]
    assert env.calls("conversations.history") == []


async def test_slack_5xx_is_an_unknown_outcome_settled_by_lookup(env: AlertsEnv) -> None:
    event = log_event()
    await env.deliver(event)
    env.ws.fail_next("chat.postMessage", status=503)
    await env.worker("w1").process_once(block_ms=0)
    assert await env.redis.hget(Ledger.key(event["uuid"]), "state") == "posting", "Slack may have posted it"

    await env.drain(env.worker("w2", min_idle_ms=0))
    assert uuids(env.ws.messages(ALERTS)) == [event["uuid"]]
    assert len(env.calls("conversations.history")) == 1


async def test_router_sends_to_channels_and_drops(env: AlertsEnv) -> None:
    routes = {"user.account.lock": "#helpdesk", "user.session.start": "C0SECALERT1", "user.lifecycle.create": None}
    lock, fail, created = (log_event(t) for t in routes)
    await env.deliver(lock, fail, created)
    await env.drain(env.worker(router=lambda e: routes[e.eventType]))
    assert uuids(env.ws.messages("helpdesk")) == [lock["uuid"]]
    assert uuids(env.ws.messages("security-alerts")) == [fail["uuid"]]
    assert not await env.redis.exists(Ledger.key(created["uuid"])), "a dropped event is only acknowledged"


async def test_policy_routes_events(env: AlertsEnv) -> None:
    policy = load_policy(POLICY_FILE)
    admin = {"id": "00uoscar", "type": "User", "alternateId": "oscar.admin@acme.example", "displayName": "Oscar"}
    erin = {"id": "00u1erin", "type": "User", "alternateId": "erin.employee@acme.example", "displayName": "Erin"}
    lock = log_event("user.account.lock", outcome="SUCCESS", reason=None)
    failed = log_event("user.session.start")
    grant = log_event("user.account.privilege.grant", outcome="SUCCESS", reason=None, actor=admin, targets=[erin])
    noise = {**log_event("user.lifecycle.create"), "severity": "INFO"}
    await env.deliver(lock, failed, grant, noise)
    await env.drain(env.worker(router=policy.route_event))
    assert uuids(env.ws.messages("helpdesk")) == [lock["uuid"]]
    assert uuids(env.ws.messages("security-alerts")) == [failed["uuid"]]
    assert uuids(env.ws.messages("okta-audit")) == [grant["uuid"]]
    assert len(env.calls("chat.postMessage")) == 3, "INFO events are dropped"


async def test_router_failure_leaves_the_event_pending(env: AlertsEnv) -> None:
    await env.deliver(log_event())

    def broken(_: LogEvent) -> str | None:
        raise RuntimeError("bad rule")

    await env.worker(router=broken).process_once(block_ms=0)
    assert await _pending(env) == 1 and env.ws.messages(ALERTS) == []


async def test_unreadable_and_trimmed_entries_are_acknowledged(env: AlertsEnv) -> None:
    await env.worker("first").ensure_group()
    await env.redis.xadd(STREAM_KEY, {"uuid": "x", "event": "{not json"})
    trimmed = await env.redis.xadd(STREAM_KEY, {"uuid": "y", "event": "{}"})
    # "first" reads both and dies; one of them is trimmed away while pending
    await env.redis.xreadgroup(DEFAULT_GROUP, "first", {STREAM_KEY: ">"})
    await env.redis.xdel(STREAM_KEY, trimmed)
    await env.drain(env.worker("second", min_idle_ms=0))
    assert env.ws.messages(ALERTS) == []


async def test_a_channel_name_learnt_from_posting_serves_the_lookup(env: AlertsEnv) -> None:
    sink = env.sink()
    posted = await sink.post("#security-alerts", "hello", [], message_metadata("k"))
    assert posted.channel_id == ALERTS
    assert await sink.find_posted("#security-alerts", "k", oldest=0) == posted


async def test_posts_are_paced_per_channel(env: AlertsEnv) -> None:
    sink = SlackSink(env.client, pacer=ChannelPacer(0.1))
    started = time.monotonic()
    await asyncio.gather(
        *(sink.post(ALERTS, f"alert {i}", [], message_metadata(str(i))) for i in range(3)),
        sink.post("C0HELPDESK1", "elsewhere", [], message_metadata("h")),
    )
    assert time.monotonic() - started >= 0.2
    at = {c.args["text"]: c.at for c in env.calls("chat.postMessage")}
    assert at["alert 1"] - at["alert 0"] >= 0.09 and at["alert 2"] - at["alert 1"] >= 0.09
    assert at["elsewhere"] - at["alert 0"] < 0.09, "another channel does not wait"
