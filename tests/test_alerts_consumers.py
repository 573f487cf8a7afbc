"""Consumers left in the alert group by earlier rollouts (workers named host:port that are gone): a
worker takes over what they had pending and removes them, never a live one.

Idle times are the Redis server's own (XINFO CONSUMERS), which no test can wind forward: the test
waits, bounded, until the consumers it left are idle long enough, on that clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from alerts.stream import STREAM_KEY
from alerts.worker import DEFAULT_GROUP
from tests.alerts_support import ALERTS, AlertsEnv, alerts_env, log_event, uuids

IDLE_MS = 1000  # the takeover time and the removal time, both, in this test


@pytest.fixture
async def env(redis: aioredis.Redis) -> AsyncIterator[AlertsEnv]:
    async with alerts_env(redis) as alerts:
        yield alerts


async def _consumers(redis: aioredis.Redis) -> dict[str, int]:
    """Each consumer of the group, with how many entries it has pending."""
    return {c["name"]: c["pending"] for c in await redis.xinfo_consumers(STREAM_KEY, DEFAULT_GROUP)}


async def _read(redis: aioredis.Redis, consumer: str, count: int) -> list[str]:
    """What a worker of an earlier rollout read (and then died with): the entries' ids."""
    reply = await redis.xreadgroup(DEFAULT_GROUP, consumer, {STREAM_KEY: ">"}, count=count)
    return [entry_id for _, entries in reply for entry_id, _ in entries]


async def _until_idle(redis: aioredis.Redis, names: set[str]) -> None:
    """Until each of `names` has been idle IDLE_MS on the Redis server's clock."""
    for _ in range(20):
        idle = {c["name"]: c["idle"] for c in await redis.xinfo_consumers(STREAM_KEY, DEFAULT_GROUP)}
        short = IDLE_MS - min(idle[name] for name in names)
        if short <= 0:
            return
        await asyncio.sleep(short / 1000)
    raise AssertionError(f"{names} not idle for {IDLE_MS} ms")


async def test_stale_consumers_are_taken_over_and_removed_and_live_ones_kept(env: AlertsEnv) -> None:
    events = [log_event() for _ in range(7)]
    await env.deliver(*events)
    redis = env.redis
    await redis.xgroup_create(STREAM_KEY, DEFAULT_GROUP, id="0")
    # Two rollouts ago and one rollout ago: replicas that died holding entries, and ones that had none.
    stale = {"10.0.3.7:3000-1": 2, "10.0.3.7:3000-2": 1, "10.0.4.2:3000-1": 0, "10.0.4.2:3000-2": 0}
    for name, count in stale.items():
        if count:
            await _read(redis, name, count)
        else:
            await redis.xgroup_createconsumer(STREAM_KEY, DEFAULT_GROUP, name)
    await _until_idle(redis, set(stale))
    # A live replica, next to the worker under test: one entry in hand, and one with none right now.
    [held] = await _read(redis, "10.0.5.9:3000-1", 1)
    await redis.xgroup_createconsumer(STREAM_KEY, DEFAULT_GROUP, "10.0.5.9:3000-2")

    worker = env.worker(
        "10.0.5.8:3000-1", min_idle_ms=IDLE_MS, forget_after_s=IDLE_MS / 1000, reclaim_every_s=0, post_timeout_s=0.5
    )
    for _ in range(10):  # until it has nothing left to do: the live replica's entry stays with it
        if await worker.process_once(block_ms=0) == 0:
            break

    assert await _consumers(redis) == {"10.0.5.9:3000-1": 1, "10.0.5.9:3000-2": 0, "10.0.5.8:3000-1": 0}
    held_uuid = (await redis.xrange(STREAM_KEY, held, held))[0][1]["uuid"]
    assert sorted(uuids(env.ws.messages(ALERTS))) == sorted(e["uuid"] for e in events if e["uuid"] != held_uuid)

    # Later the live replica dies too, its entry still in hand: the next scan takes it over, and then it.
    await _until_idle(redis, {"10.0.5.9:3000-1", "10.0.5.9:3000-2"})
    await env.drain(worker)
    assert await _consumers(redis) == {"10.0.5.8:3000-1": 0}
    assert sorted(uuids(env.ws.messages(ALERTS))) == sorted(e["uuid"] for e in events)


async def test_a_consumer_with_entries_pending_is_never_removed(env: AlertsEnv) -> None:
    """Removing a consumer drops what it has pending: one idle long, but not yet past the takeover
    time for its entries, keeps them, and is removed only once they have been taken over."""
    events = [log_event() for _ in range(2)]
    await env.deliver(*events)
    await env.redis.xgroup_create(STREAM_KEY, DEFAULT_GROUP, id="0")
    await _read(env.redis, "10.0.3.7:3000-1", 2)
    await _until_idle(env.redis, {"10.0.3.7:3000-1"})

    patient = env.worker("10.0.5.8:3000-1", min_idle_ms=60_000, forget_after_s=IDLE_MS / 1000, reclaim_every_s=0)
    assert await patient.process_once(block_ms=0) == 0
    assert (await _consumers(env.redis))["10.0.3.7:3000-1"] == 2

    await env.drain(env.worker("10.0.5.8:3000-1", min_idle_ms=0, forget_after_s=IDLE_MS / 1000))
    assert "10.0.3.7:3000-1" not in await _consumers(env.redis)
    assert sorted(uuids(env.ws.messages(ALERTS))) == sorted(e["uuid"] for e in events)
