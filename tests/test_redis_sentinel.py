"""Redis Sentinel: a real primary, replica and sentinel; the primary fails over in the middle of a
stream of approvals and alerts, and nothing is lost and nothing runs twice.

The client is the bot's own, built from the settings (bot/redis_client.py): Sentinel's connection pool,
a Retry with backoff, scripts that take effect once per call (bot/redis_once.py) and writes that the
replica acknowledged (bot/redis_acks.py). With one replica, a write it acknowledged is on the server
Sentinel promotes, whatever happens: no luck is involved. Two faults:
- `SENTINEL FAILOVER`: the old primary stays up and takes writes until Sentinel turns it into a
  replica (8 to 10 s later), writes that a failover without WAIT silently drops;
- the primary killed (SIGKILL) and, once Sentinel has promoted the replica, started again as a
  container's restart policy would: it comes back as a primary, and Sentinel makes it a replica.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from aiohttp import ClientSession
from slack_sdk.web.async_client import AsyncWebClient

from alerts.stream import STREAM_KEY, RawEvent, StreamWriter
from alerts.worker import AlertWorker
from approvals import ApprovalStore
from bot.redis_client import connect_redis
from bot.settings import load_settings
from slackport import SlackPort
from slacksim import SlackWorkspace
from tests.alerts_support import ALERTS, ORG_URL, log_event, slack_stand_in, uuids
from tests.redis_sentinel_support import MASTER_NAME, SentinelDeployment, sentinel_deployment

pytestmark = pytest.mark.slow

WRITERS = 2  # approval flows, and as many alert appenders, side by side
PACE_S = 0.02  # between one writer's operations: a steady stream the alert worker keeps up with
BEFORE = 20  # approvals and alerts done before the fault
AFTER = 20  # approvals and alerts done on the new primary before the stream stops
BOUND_S = 60.0  # every phase is awaited within this


@dataclass
class Tally:
    """What the stream of work did, as its callers saw it."""

    approvals: list[str] = field(default_factory=list)  # created, in the order create() returned
    executions: collections.Counter[str] = field(default_factory=collections.Counter)  # approve() said "execute"
    finished: set[str] = field(default_factory=set)  # finish() accepted
    alerts: list[str] = field(default_factory=list)  # event uuids whose append returned
    slowest_s: float = 0.0  # the longest one operation waited (through the failover)
    progress: asyncio.Event = field(default_factory=asyncio.Event)  # set at each operation done

    def done(self, started: float) -> None:
        self.slowest_s = max(self.slowest_s, time.monotonic() - started)
        self.progress.set()

    async def reached(self, approvals: int, alerts: int) -> None:
        """Until at least that many approvals and alerts are done (within BOUND_S)."""
        async with asyncio.timeout(BOUND_S):
            while len(self.approvals) < approvals or len(self.alerts) < alerts:
                self.progress.clear()
                await self.progress.wait()


async def _approval_flow(store: ApprovalStore, tally: Tally, stop: asyncio.Event, n: int) -> None:
    """Request, approve (one approval needed), execute when told to, finish: as the bot does."""
    for i in itertools.count():
        if stop.is_set():
            return
        await asyncio.sleep(PACE_S)
        started = time.monotonic()
        request = await store.create(requester=f"U{n}", verb="suspend", target=f"user{n}-{i}@acme.example")
        tally.approvals.append(request.id)
        result = await store.approve(request.id, f"A{n}")
        if result.execute:
            assert result.executor is not None
            tally.executions[request.id] += 1  # where the bot calls Okta
            if (await store.finish(request.id, True, executor=result.executor)).refusal is None:
                tally.finished.add(request.id)
        tally.done(started)


async def _alert_appends(writer: StreamWriter, tally: Tally, stop: asyncio.Event) -> None:
    """What the hook receiver does with each delivery."""
    while not stop.is_set():
        await asyncio.sleep(PACE_S)
        started = time.monotonic()
        event = log_event()
        await writer.append([RawEvent(event["uuid"], json.dumps(event))])
        tally.alerts.append(event["uuid"])
        tally.done(started)


@pytest.mark.parametrize("fault", ["sentinel failover", "primary killed"])
async def test_failover_mid_stream_loses_nothing_and_runs_nothing_twice(tmp_path: Path, fault: str) -> None:
    async with sentinel_deployment(tmp_path) as deployment, slack_stand_in() as (ws, per_call), ClientSession() as http:
        # One HTTP session for every post: by default slack_sdk opens and closes one per call, and under
        # this load aiohttp 3.14 was seen to wait forever for one of those to close.
        slack = AsyncWebClient(token=per_call.token, base_url=per_call.base_url, session=http)
        settings = load_settings(redis_sentinels=deployment.sentinels_setting, redis_sentinel_master=MASTER_NAME)
        assert settings.redis_replica_acks == 1  # the default with Sentinel
        client = connect_redis(settings)
        try:
            await _fault_mid_stream(deployment, fault, client.redis, ws, slack)
        finally:
            await client.aclose()


async def _fault_mid_stream(
    deployment: SentinelDeployment, fault: str, redis: aioredis.Redis, ws: SlackWorkspace, slack: AsyncWebClient
) -> None:
    store, writer = ApprovalStore(redis), StreamWriter(redis)
    worker = AlertWorker(
        redis, SlackPort(slack, pacing_s=0), lambda _event: ALERTS, "w1", org_url=ORG_URL,
        block_ms=200, min_idle_ms=3000, reclaim_every_s=1.0, post_timeout_s=2.0,
    )
    await worker.ensure_group()
    consuming = asyncio.create_task(worker.run())
    tally, stop = Tally(), asyncio.Event()
    producing = [asyncio.create_task(_approval_flow(store, tally, stop, n)) for n in range(WRITERS)]
    producing += [asyncio.create_task(_alert_appends(writer, tally, stop)) for _ in range(WRITERS)]
    old_primary = await deployment.primary_port()
    sentinel_lines = len(deployment.sentinel.lines)
    try:
        await tally.reached(BEFORE, BEFORE)
        fault_at = time.monotonic()
        if fault == "primary killed":
            deployment.node(old_primary).process.send_signal(signal.SIGKILL)
        else:
            async with deployment.sentinel.client() as sentinel:
                assert await sentinel.sentinel_failover(MASTER_NAME)
        await deployment.sentinel.logged("+switch-master", after=sentinel_lines)
        switched_s = time.monotonic() - fault_at
        if fault == "primary killed":
            await deployment.restart(old_primary)
        at_switch = len(tally.approvals), len(tally.alerts)
        await tally.reached(at_switch[0] + AFTER, at_switch[1] + AFTER)
        recovered_s = time.monotonic() - fault_at
    finally:
        stop.set()
        await asyncio.gather(*producing)
    new_primary = await deployment.primary_port()
    assert new_primary != old_primary

    await ws.wait_for(lambda _call: set(uuids(ws.messages(ALERTS))) >= set(tally.alerts), timeout=BOUND_S)
    worker.stop()
    await asyncio.wait_for(consuming, BOUND_S)

    posts = collections.Counter(uuids(ws.messages(ALERTS)))
    async with deployment.node(new_primary).client() as primary:
        pipe = primary.pipeline(transaction=False)
        for approval_id in tally.approvals:
            pipe.hget(f"okc:approval:{approval_id}", "state")
        states = collections.Counter(await pipe.execute())
        audit = collections.Counter(
            (fields.get("approval_id"), fields["outcome"]) for _, fields in await primary.xrange(store.audit.stream)
        )
        appended = collections.Counter(fields["uuid"] for _, fields in await primary.xrange(STREAM_KEY))

    lost = len(tally.approvals) - states["SUCCEEDED"], len(set(tally.alerts) - set(posts))
    duplicated = sum(n - 1 for n in tally.executions.values()), sum(n - 1 for n in posts.values())
    print(
        f"\n{fault}: Sentinel switched after {switched_s:.2f} s, writes went on after {recovered_s:.2f} s "
        f"(slowest operation {tally.slowest_s:.2f} s); {len(tally.approvals)} approvals and {len(tally.alerts)} "
        f"alerts; lost {lost[0]} approvals and {lost[1]} alerts; ran {duplicated[0]} approvals twice, "
        f"posted {duplicated[1]} alerts twice"
    )
    assert states == {"SUCCEEDED": len(tally.approvals)}, "an approval acknowledged to its caller is gone"
    assert set(tally.executions) == set(tally.approvals) and duplicated[0] == 0
    assert tally.finished == set(tally.approvals)
    # every transition recorded once: no script took effect twice, resent or not
    for approval_id in tally.approvals:
        assert [audit[(approval_id, o)] for o in ("requested", "approved", "executing", "succeeded")] == [1, 1, 1, 1]
    assert set(posts) == set(tally.alerts) and duplicated[1] == 0
    assert set(appended) == set(tally.alerts) and set(appended.values()) == {1}

