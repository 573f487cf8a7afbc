"""Workers over real Redis and the fake Slack over HTTP: events reach Slack once, whatever happens.

Events enter as Okta sends them: hand-built deliveries POSTed to the hook endpoint.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import redis.asyncio as aioredis

from alerts.digest import DigestSettings
from alerts.ledger import Ledger
from alerts.sink import Sink, message_metadata
from alerts.stages import Stage, observe
from alerts.stream import STREAM_KEY
from alerts.worker import DEFAULT_GROUP, AlertWorker
from oktaclient.models import LogEvent
from policy import load_policy
from slackport import Posted, Reply, SlackPort
from tests.alerts_support import ALERTS, POLICY_FILE, AlertsEnv, CrashingSink, alerts_env, log_event, uuids

HELPDESK = "C0HELPDESK1"
LOCK_OUT = "user.account.lock"
ROUTES = {"user.session.start": ALERTS, LOCK_OUT: "#helpdesk"}


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
    posted = await sink.post("#security-alerts", Reply(text="hello"), metadata=message_metadata("k"))
    assert posted.channel == ALERTS
    assert await sink.find_posted("#security-alerts", message_metadata("k"), oldest=0) == posted


async def test_posts_are_paced_per_channel(env: AlertsEnv) -> None:
    sink = SlackPort(env.client, pacing_s=0.1, burst=1)
    started = time.monotonic()
    await asyncio.gather(
        *(sink.post(ALERTS, Reply(text=f"alert {i}"), metadata=message_metadata(str(i))) for i in range(3)),
        sink.post("C0HELPDESK1", Reply(text="elsewhere"), metadata=message_metadata("h")),
    )
    assert time.monotonic() - started >= 0.2
    at = {c.args["text"]: c.at for c in env.calls("chat.postMessage")}
    # Slack records arrival, not departure: allow the jitter of two requests in flight
    assert at["alert 1"] - at["alert 0"] >= 0.06 and at["alert 2"] - at["alert 1"] >= 0.06
    assert at["elsewhere"] - at["alert 0"] < 0.09, "another channel does not wait"


def _by_type(event: LogEvent) -> str:
    return ROUTES[event.eventType]


def _lock_out() -> dict[str, Any]:
    return log_event(LOCK_OUT, outcome="SUCCESS", reason=None)


@asynccontextmanager
async def _running(*workers: AlertWorker) -> AsyncIterator[None]:
    """The workers' run() loops for the block; leaving it stops them the graceful way."""
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        yield
    finally:
        for w in workers:
            w.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)


def _post_channels(env: AlertsEnv) -> list[str]:
    """The channel of each chat.postMessage, in the order the fake Slack received them."""
    return [env.ws.channel_id(c.args["channel"]) for c in env.calls("chat.postMessage")]


class GatedSink:
    """A real sink whose posts to `channel` each wait for a pass from the test, like a pacer that moves
    only when told; `arrivals` receives each such post's text as it starts waiting."""

    def __init__(self, inner: Sink, channel: str) -> None:
        self._inner = inner
        self._channel = channel
        self._passes = asyncio.Semaphore(0)
        self.arrivals: asyncio.Queue[str] = asyncio.Queue()

    def let_through(self) -> None:
        self._passes.release()

    async def post(self, channel: str, reply: Reply, *, metadata: dict[str, Any] | None = None) -> Posted:
        if channel == self._channel:
            self.arrivals.put_nowait(reply.text)
            await self._passes.acquire()
        return await self._inner.post(channel, reply, metadata=metadata)

    async def update(self, channel: str, ts: str, reply: Reply) -> None:
        await self._inner.update(channel, ts, reply)

    async def find_posted(self, channel: str, metadata: dict[str, Any], oldest: float) -> Posted | None:
        return await self._inner.find_posted(channel, metadata, oldest)

    async def next_waiting(self) -> str:
        return await asyncio.wait_for(self.arrivals.get(), timeout=5)


async def test_an_idle_channel_is_not_held_up_by_a_burst_in_another(env: AlertsEnv) -> None:
    # Head-of-line: a lock-out read just after a burst of failed sign-ins goes out while the burst's
    # first posts are still being paced (the worker once finished each read's entries before reading on).
    threshold = 10
    burst, lock = [log_event() for _ in range(3 * threshold)], _lock_out()
    await env.deliver(*burst)
    await env.deliver(lock)
    paced = SlackPort(env.client, pacing_s=0.1)
    worker = env.worker(
        sink=paced, router=_by_type, digest=DigestSettings(threshold=threshold, window_s=60), batch_size=threshold
    )
    async with _running(worker):
        await env.ws.wait_for_message(lambda m: uuids([m]) == [lock["uuid"]], timeout=10)
        await env.ws.wait_for_message(lambda m: f"{2 * threshold} more failed sign-ins" in m.text, timeout=10)

    posts = _post_channels(env)
    assert posts.index(HELPDESK) < threshold // 2, f"the lock-out waited for the burst: {posts}"
    singles = [m for m in env.ws.messages(ALERTS) if "more failed" not in m.text]
    assert uuids(singles) == [e["uuid"] for e in burst[:threshold]], "the burst keeps its order"
    assert len(env.ws.messages(ALERTS)) == threshold + 1 and uuids(env.ws.messages(HELPDESK)) == [lock["uuid"]]
    assert await _pending(env) == 0


async def test_reading_stops_while_max_in_flight_entries_are_in_hand(env: AlertsEnv) -> None:
    burst, lock = [log_event() for _ in range(4)], _lock_out()
    await env.deliver(*burst, lock)
    gated = GatedSink(env.sink(), ALERTS)
    worker = env.worker(sink=gated, router=_by_type, batch_size=2, max_in_flight=4)
    async with _running(worker):
        for _ in burst:  # each post of the burst waits for the test: the lanes stay full meanwhile
            await gated.next_waiting()
            assert await _pending(env) <= 4
            gated.let_through()
        await env.ws.wait_for_message(lambda m: uuids([m]) == [lock["uuid"]])

    posts = _post_channels(env)
    # The lock-out (5th entry) is read only once the first round ([1, 2]) is done and makes room.
    assert posts[:2] == [ALERTS, ALERTS] and posts.count(ALERTS) == 4
    assert uuids(env.ws.messages(ALERTS)) == [e["uuid"] for e in burst]
    assert await _pending(env) == 0


async def test_stop_finishes_the_round_at_hand_and_hands_back_the_rest(env: AlertsEnv) -> None:
    events = [log_event() for _ in range(6)]
    await env.deliver(*events)
    gated = GatedSink(env.sink(), ALERTS)
    worker = env.worker("first", gated, batch_size=2)
    task = asyncio.create_task(worker.run())
    await gated.next_waiting()  # the first round's first post is under way
    worker.stop()
    gated.let_through()
    await gated.next_waiting()
    gated.let_through()
    await asyncio.wait_for(task, timeout=5)
    assert uuids(env.ws.messages(ALERTS)) == [e["uuid"] for e in events[:2]]

    # What "first" read and did not start is idle at once: a worker that presumes others dead only
    # after the default minute takes it over now, and posts everything once, in order.
    await env.drain(env.worker("next"))
    assert uuids(env.ws.messages(ALERTS)) == [e["uuid"] for e in events]


async def test_a_cancelled_run_leaves_its_entries_to_a_survivor(env: AlertsEnv) -> None:
    events = [log_event() for _ in range(5)]
    await env.deliver(*events)
    gated = GatedSink(env.sink(), ALERTS)
    # A short read: a cancel that redis-py drops (see alerts/worker.py) lets the read run its course.
    task = asyncio.create_task(env.worker("dying", gated, block_ms=100).run())
    await gated.next_waiting()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()
    assert [t for t in asyncio.all_tasks() if t.get_name().startswith("alert lane")] == [], "no lane outlives run()"
    assert await _pending(env) == 5 and env.ws.messages(ALERTS) == []

    await env.drain(env.worker("survivor", min_idle_ms=0))
    assert uuids(env.ws.messages(ALERTS)) == [e["uuid"] for e in events]


async def test_entries_waiting_in_a_lane_are_not_taken_over(env: AlertsEnv) -> None:
    # Paced, the last of these waits well past min_idle_ms before its turn; the holder keeps them
    # fresh, so a scanning worker finds nothing idle to take over and post out of order.
    events = [log_event() for _ in range(8)]
    await env.deliver(*events)
    stages: Counter[Stage] = Counter()
    undo = observe(lambda stage, n: stages.update({stage: n}))
    paced = SlackPort(env.client, pacing_s=0.2)
    holder = env.worker("holder", paced, min_idle_ms=600, post_timeout_s=0.5)
    scanner = env.worker("scanner", min_idle_ms=600, post_timeout_s=0.5, reclaim_every_s=0, block_ms=20)
    try:
        async with _running(holder):
            await env.ws.wait_for_message(lambda m: uuids([m]) == [events[0]["uuid"]])  # holder has read them all
            async with _running(scanner):
                await env.ws.wait_for_message(lambda m: uuids([m]) == [events[-1]["uuid"]], timeout=10)
    finally:
        undo()
    assert uuids(env.ws.messages(ALERTS)) == [e["uuid"] for e in events]
    assert stages == {Stage.POSTED: 8}, "nothing was handled twice"
    assert await _pending(env) == 0
