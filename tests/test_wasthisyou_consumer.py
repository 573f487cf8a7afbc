""" "Was this you?"'s consumer of the alert stream, over a real Redis: it reads on while events are
being handled, keeps each user's events in order, holds a bounded number in flight, and
acknowledges an entry only once its event is handled (a failed one is taken over and retried).

The handler is the test's: each event waits at its own gate, so what runs when is decided here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis

from alerts.stream import STREAM_KEY, RawEvent, StreamWriter
from confirm.consumer import GROUP, EventConsumer
from oktaclient.models import LogEvent
from tests.alerts_support import log_event

WAIT_S = 5.0


def about(user: str) -> dict[str, Any]:
    """An event about `user` (the factor enrolled on their account)."""
    actor = {"id": f"00u{user}", "type": "User", "alternateId": f"{user}@acme.example", "displayName": user}
    return log_event("user.mfa.factor.activate", outcome="SUCCESS", reason=None, actor=actor)


class Gates:
    """The test's handler: notes each event as it starts and ends, and holds it until its gate opens
    (open from the start unless closed with `close`)."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.ended: list[str] = []
        self.failing: set[str] = set()  # fail once
        self._gates: dict[str, asyncio.Event] = {}
        self._changed = asyncio.Condition()

    def close(self, *uuids: str) -> None:
        for uuid in uuids:
            self._gates[uuid] = asyncio.Event()

    def open(self, uuid: str) -> None:
        self._gates[uuid].set()

    async def handle(self, event: LogEvent) -> None:
        await self._note(self.started, event.uuid)
        gate = self._gates.get(event.uuid)
        if gate is not None:
            await gate.wait()
        if event.uuid in self.failing:
            self.failing.discard(event.uuid)
            raise RuntimeError("Okta is down")
        await self._note(self.ended, event.uuid)

    async def _note(self, into: list[str], uuid: str) -> None:
        async with self._changed:
            into.append(uuid)
            self._changed.notify_all()

    async def until(self, into: list[str], *uuids: str) -> None:
        async with asyncio.timeout(WAIT_S), self._changed:
            await self._changed.wait_for(lambda: all(u in into for u in uuids))


async def deliver(redis: aioredis.Redis, *events: dict[str, Any]) -> None:
    await StreamWriter(redis).append(
        [RawEvent(e["uuid"], LogEvent.model_validate(e).model_dump_json()) for e in events]
    )


async def pending(redis: aioredis.Redis) -> int:
    return int((await redis.xpending(STREAM_KEY, GROUP))["pending"])


async def acknowledged(redis: aioredis.Redis) -> None:
    """Until nothing is pending (each XACK follows its handler's end, out of the test's sight)."""
    async with asyncio.timeout(WAIT_S):
        while await pending(redis):
            await asyncio.sleep(0)


async def unread(redis: aioredis.Redis) -> int:
    """Entries the group has not read yet."""
    [group] = await redis.xinfo_groups(STREAM_KEY)
    return len(await redis.xrange(STREAM_KEY, min=f"({group['last-delivered-id']}") or [])


@asynccontextmanager
async def running(consumer: EventConsumer) -> AsyncIterator[EventConsumer]:
    await consumer.ensure_group()
    task = asyncio.create_task(consumer.run())
    try:
        yield consumer
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def consumer(redis: aioredis.Redis, gates: Gates, **options: Any) -> EventConsumer:
    return EventConsumer(redis, gates.handle, "c1", block_ms=100, **options)


async def test_an_event_being_handled_holds_up_only_its_users_later_events(redis: aioredis.Redis) -> None:
    gates = Gates()
    erin1, frank, erin2, grace = about("erin"), about("frank"), about("erin"), about("grace")
    gates.close(erin1["uuid"])
    async with running(consumer(redis, gates)):
        await deliver(redis, erin1, frank)
        await gates.until(gates.ended, frank["uuid"])
        await deliver(redis, erin2, grace)  # read while Erin's first event is still being handled
        await gates.until(gates.ended, grace["uuid"])
        assert erin2["uuid"] not in gates.started, "Erin's second event waits for her first"
        assert await pending(redis) == 2, "Erin's events are not acknowledged before they are handled"
        gates.open(erin1["uuid"])
        await gates.until(gates.ended, erin2["uuid"])
        assert gates.ended.index(erin1["uuid"]) < gates.started.index(erin2["uuid"])
        await acknowledged(redis)


async def test_reading_stops_while_max_in_flight_events_are_unhandled(redis: aioredis.Redis) -> None:
    gates = Gates()
    events = [about("erin"), about("frank"), about("grace")]
    gates.close(*(e["uuid"] for e in events))
    async with running(consumer(redis, gates, max_in_flight=2)):
        await deliver(redis, *events)
        await gates.until(gates.started, events[0]["uuid"], events[1]["uuid"])
        assert (await pending(redis), await unread(redis)) == (2, 1), "the third is left in the stream"
        gates.open(events[0]["uuid"])
        await gates.until(gates.started, events[2]["uuid"])  # room again: read
        for event in events[1:]:
            gates.open(event["uuid"])
        await gates.until(gates.ended, *(e["uuid"] for e in events))


async def test_an_event_whose_handling_failed_stays_pending_and_is_taken_over(redis: aioredis.Redis) -> None:
    gates = Gates()
    flaky, fine = about("erin"), about("frank")
    gates.failing.add(flaky["uuid"])
    # idle for 300 ms: the failed entry, not one whose acknowledgement is on its way (taken over too at 0)
    async with running(consumer(redis, gates, min_idle_ms=300, reclaim_every_s=0)):
        await deliver(redis, flaky, fine)
        await gates.until(gates.ended, flaky["uuid"], fine["uuid"])
        assert gates.started.count(flaky["uuid"]) == 2, "failed once, handled when taken over"
        assert gates.started.count(fine["uuid"]) == 1
        await acknowledged(redis)
