"""End to end, as the bot runs it: the Okta simulator delivers its event hooks over HTTP to our receiver,
which stores them in the Redis stream; an AlertService's workers post them to the Slack stand-in, in the
channels policy/example.yaml routes them to."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import redis.asyncio as aioredis

from alerts.service import AlertService
from alerts.stages import Stage, observe
from alerts.stream import STREAM_KEY
from alerts.worker import DEFAULT_GROUP
from bot.server import BackgroundServer
from oktaclient import OktaClient
from oktasim import OktaOrg
from policy import Policy, load_policy
from slackport import SlackPort
from slacksim import Message
from tests.alerts_support import POLICY_FILE, SECRET, AlertsEnv, CrashingSink, alerts_env, uuids
from tests.conftest import SIM_API_TOKEN

EVENT_TYPES = ["user.session.start", "user.account.lock"]
HELPDESK, ALERTS = "C0HELPDESK1", "C0SECALERT1"


@dataclass
class Scene:
    org: OktaOrg
    org_url: str
    policy: Policy
    env: AlertsEnv

    @asynccontextmanager
    async def service(self, **options: Any) -> AsyncIterator[AlertService]:
        """The service as `serve` runs it, but unpaced unless `pacing_s` is given: pacing only slows most tests down."""
        env = self.env
        port = SlackPort(env.client, pacing_s=options.pop("pacing_s", 0))
        service = AlertService(env.redis, port, self.policy, org_url=self.org_url, consumer_name="e2e", **options)
        async with service:
            yield service

    @property
    def threshold(self) -> int:
        """The policy's digest threshold: how many failed sign-ins of a burst are posted one by one."""
        assert self.policy.alerts is not None
        return self.policy.alerts.digest.threshold

    async def posted(self, channel: str, event: dict[str, Any], timeout: float = 10) -> Message:
        """The message of `event`, once a worker has posted it."""

        def about(m: Message) -> bool:
            return m.channel == channel and uuids([m]) == [event["uuid"]]

        return await self.env.ws.wait_for_message(about, timeout)


@pytest.fixture
async def scene(
    redis: aioredis.Redis, okta_org: OktaOrg, okta: OktaClient, okta_sim: BackgroundServer
) -> AsyncIterator[Scene]:
    async with alerts_env(redis) as env:
        hook = await okta.create_event_hook("chatops alerts", env.hook_url, EVENT_TYPES, secret=SECRET)
        assert hook.id is not None
        assert (await okta.verify_event_hook(hook.id)).verificationStatus == "VERIFIED"
        yield Scene(okta_org, okta_sim.url, load_policy(POLICY_FILE), env)


@pytest.fixture
def stages() -> Iterator[Counter[Stage]]:
    """How many events passed each stage, as the bot's metrics see them."""
    counts: Counter[Stage] = Counter()

    def add(stage: Stage, n: int) -> None:
        counts[stage] += n

    undo = observe(add)
    yield counts
    undo()


def _sign_ins_and_lock(events: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    *failures, lock = events
    assert lock["eventType"] == "user.account.lock"
    return failures, lock


async def test_a_lock_out_lands_in_helpdesk_once_however_often_okta_delivers_it(
    scene: Scene, stages: Counter[Stage]
) -> None:
    org, ws = scene.org, scene.env.ws
    async with scene.service(workers=1):  # one worker handles the stream in order: see the sentinel below
        erin = org.lock_out("erin.employee@acme.example", failures=2)
        failures, lock = _sign_ins_and_lock(org.log_events[-3:])
        await org.hooks_idle()
        lock_message = await scene.posted(HELPDESK, lock)
        await org.redeliver_last()  # the same delivery again: Okta delivers at least once
        assert [d.ok for d in org.hook_deliveries] == [True, True]
        org.sign_in("erin.employee@acme.example")  # INFO: dropped by the policy

        # A later lock-out, stored after the redelivered events, is a sentinel: once it is in both
        # channels the single worker has handled every entry before it.
        org.lock_out("alex.kim@acme.example", failures=1)
        later_failures, later_lock = _sign_ins_and_lock(org.log_events[-2:])
        await org.hooks_idle()
        await scene.posted(HELPDESK, later_lock)
        await scene.posted(ALERTS, later_failures[0])

    assert uuids(ws.messages(HELPDESK)) == [lock["uuid"], later_lock["uuid"]]
    assert uuids(ws.messages(ALERTS)) == [e["uuid"] for e in failures + later_failures]
    assert "Account locked out" in lock_message.text
    assert stages == {Stage.RECEIVED: 3 + 3 + 1 + 2, Stage.POSTED: 5, Stage.DEDUPLICATED: 3, Stage.DROPPED: 1}
    actions = next(b for b in lock_message.blocks if b["type"] == "actions")["elements"]
    assert [(a["action_id"], a["value"]) for a in actions][:2] == [("okta:unlock", erin.id), ("okta:lookup", erin.id)]


async def test_a_burst_of_failed_sign_ins_becomes_one_digest_updated_in_place(
    scene: Scene, stages: Counter[Stage]
) -> None:
    org, ws, threshold = scene.org, scene.env.ws, scene.threshold
    async with scene.service(workers=2):
        org.fail_sign_ins("erin.employee@acme.example", 200, ip="203.0.113.7")
        org.fail_sign_ins("root@acme.example", 100, ip="198.51.100.9")
        await org.hooks_idle()
        assert len(org.hook_deliveries) == 6 and all(d.ok for d in org.hook_deliveries)

        def settled(m: Message) -> bool:  # the digest counts them all and every single post is in
            complete = f"{300 - threshold} more failed sign-ins" in m.text
            return complete and len(ws.messages(ALERTS)) == threshold + 1

        digest = await ws.wait_for_message(settled, timeout=30)

    messages = ws.messages(ALERTS)
    assert [m.ts for m in messages if "more failed sign-ins" in m.text] == [digest.ts]
    assert digest.edit_count >= 1, "the digest is updated in place, not posted again"
    shown = str(digest.blocks)
    assert f"erin.employee@acme.example: {200 - threshold}" in shown and "root@acme.example: 100" in shown
    posts = [c for c in scene.env.calls("chat.postMessage") if c.args["channel"] == "#security-alerts"]
    assert len(posts) == len(messages), "nothing was posted twice"
    assert stages == {Stage.RECEIVED: 300, Stage.POSTED: threshold, Stage.DIGESTED: 300 - threshold}


async def test_a_lock_out_is_not_held_up_by_a_burst_paced_in_another_channel(
    scene: Scene, stages: Counter[Stage]
) -> None:
    # Paced as in production, at a tenth of the interval: the burst's first `threshold` failed sign-ins
    # go out one by one, and the lock-out that arrives right after them does not wait for those.
    org, ws, threshold = scene.org, scene.env.ws, scene.threshold
    async with scene.service(workers=2, pacing_s=0.1):
        org.fail_sign_ins("erin.employee@acme.example", 2 * threshold)
        await org.hooks_idle()
        org.lock_out("alex.kim@acme.example", failures=0)
        lock = org.log_events[-1]
        await org.hooks_idle()
        await scene.posted(HELPDESK, lock)
        await ws.wait_for_message(lambda m: f"{threshold} more failed sign-ins" in m.text, timeout=30)

    posts = [ws.channel_id(c.args["channel"]) for c in scene.env.calls("chat.postMessage")]
    assert posts.index(HELPDESK) < threshold // 2, f"the lock-out waited for the burst: {posts}"
    assert posts.count(ALERTS) == threshold + 1 == len(ws.messages(ALERTS)), "singles and one digest, once each"
    assert stages == {Stage.RECEIVED: 2 * threshold + 1, Stage.POSTED: threshold + 1, Stage.DIGESTED: threshold}


async def test_leaving_the_service_lets_a_post_in_flight_finish(scene: Scene) -> None:
    org, env = scene.org, scene.env
    env.ws.fail_next("chat.postMessage", status=429, retry_after=1)
    async with scene.service(workers=1):
        org.lock_out("erin.employee@acme.example", failures=0)
        await org.hooks_idle()
        await env.ws.wait_for(lambda c: c.method == "chat.postMessage" and c.status == 429)
        # the worker now waits out Retry-After: the service is left meanwhile
    assert uuids(env.ws.messages(HELPDESK)) == [org.log_events[-1]["uuid"]]
    assert (await env.redis.xpending(STREAM_KEY, DEFAULT_GROUP))["pending"] == 0, "acknowledged before stopping"


async def test_a_post_cut_off_by_a_crash_is_found_by_channel_name_and_not_posted_again(scene: Scene) -> None:
    org, env = scene.org, scene.env
    org.lock_out("erin.employee@acme.example", failures=0)
    await org.hooks_idle()
    lock = org.log_events[-1]
    # Slack has the message, the ledger does not know it yet: the worker dies in between.
    await env.crash(CrashingSink(env.sink(), point="after"), router=scene.policy.route_event)
    assert uuids(env.ws.messages(HELPDESK)) == [lock["uuid"]]

    survivor = env.worker("survivor", router=scene.policy.route_event, min_idle_ms=0)
    await env.drain(survivor)
    assert uuids(env.ws.messages(HELPDESK)) == [lock["uuid"]]
    # The policy names the channel ("#helpdesk"); looking in it needs its id first.
    assert [c.args["types"] for c in env.calls("conversations.list")] == ["public_channel,private_channel"]
    assert [c.args["channel"] for c in env.calls("conversations.history")] == [HELPDESK]


class _Failures(logging.Handler):
    """Counts the service's reports of a failed loop, and wakes whoever awaits the n-th."""

    def __init__(self, wanted: int) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self.enough = asyncio.Event()
        self._wanted = wanted

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if len(self.records) >= self._wanted:
            self.enough.set()


async def test_a_failing_loop_is_restarted_and_the_rest_keeps_working(scene: Scene, okta_sim: BackgroundServer) -> None:
    async with OktaClient.from_api_token(okta_sim.url, SIM_API_TOKEN) as closed:
        pass  # a client closed too early: every poll raises, which the poller itself does not expect
    failures = _Failures(wanted=2)
    logger = logging.getLogger("alerts.service")
    logger.addHandler(failures)
    try:
        async with scene.service(okta=closed, poll_logs=True, restart_delay_s=0.01):
            await asyncio.wait_for(failures.enough.wait(), timeout=5)  # failed, restarted, failed again
            scene.org.lock_out("erin.employee@acme.example", failures=0)
            await scene.org.hooks_idle()
            await scene.posted(HELPDESK, scene.org.log_events[-1])
    finally:
        logger.removeHandler(failures)
    assert all(r.getMessage().startswith("System Log poller failed; restarting it") for r in failures.records)
    assert failures.records[0].exc_info is not None
    left = [t for t in asyncio.all_tasks() if t.get_name().startswith(("alert worker", "System Log poller"))]
    assert left == [], "leaving the block stops every loop"
