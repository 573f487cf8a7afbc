"""End to end with the Okta simulator: it registers and verifies our hook endpoint and delivers its System
Log events there (or the poller fetches them); workers post them to the fake Slack, routed by the policy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis.asyncio as aioredis

from alerts.digest import DigestSettings
from alerts.poller import CURSOR_KEY, LogPoller
from alerts.worker import AlertWorker
from bot.server import BackgroundServer
from oktaclient import OktaApiError, OktaClient
from oktasim import OktaOrg
from policy import Policy, load_policy
from tests.alerts_support import POLICY_FILE, SECRET, AlertsEnv, alerts_env, uuids

EVENT_TYPES = ["user.session.start", "user.account.lock", "user.lifecycle.suspend", "group.user_membership.add"]


@dataclass
class Scene:
    """The Okta simulator (org, API client, URL), our endpoint's URL, the policy, and the alerts env."""

    org: OktaOrg
    okta: OktaClient
    org_url: str
    endpoint: str
    policy: Policy
    env: AlertsEnv

    def worker(self, **options: Any) -> AlertWorker:
        alerts = self.policy.alerts
        assert alerts is not None
        digest = DigestSettings(threshold=alerts.digest.threshold, window_s=alerts.digest.window)
        return self.env.worker(router=self.policy.route_event, digest=digest, org_url=self.org_url, **options)

    async def register(self, secret: str = SECRET) -> str:
        hook = await self.okta.create_event_hook("chatops alerts", self.endpoint, EVENT_TYPES, secret=secret)
        assert hook.id is not None
        verified = await self.okta.verify_event_hook(hook.id)  # Okta's challenge GET to our endpoint
        assert verified.verificationStatus == "VERIFIED"
        return hook.id


@pytest.fixture
async def scene(
    redis: aioredis.Redis, okta_org: OktaOrg, okta: OktaClient, okta_sim: BackgroundServer
) -> AsyncIterator[Scene]:
    async with alerts_env(redis) as env:
        yield Scene(okta_org, okta, okta_sim.url, env.hook_url, load_policy(POLICY_FILE), env)


async def test_okta_verifies_the_endpoint_only_with_the_right_secret(scene: Scene) -> None:
    await scene.register()
    with pytest.raises(OktaApiError) as refused:
        await scene.register(secret="not-the-secret")
    assert refused.value.status == 400


async def test_okta_events_reach_their_channels_once(scene: Scene) -> None:
    org, ws = scene.org, scene.env.ws
    await scene.register()
    failed = org.fail_sign_ins("erin.employee@acme.example", 3)
    erin = org.get_user("erin.employee@acme.example")
    org.lock_out(erin, failures=2)
    await org.hooks_idle()
    assert all(d.ok for d in org.hook_deliveries)
    lock = org.log_events[-1]
    assert lock["eventType"] == "user.account.lock"

    w = scene.worker()
    await scene.env.drain(w)
    await org.redeliver_last()  # Okta delivers at least once
    await scene.env.drain(w)

    failures = [e["uuid"] for e in org.log_events if e["eventType"] == "user.session.start"]
    assert uuids(ws.messages("security-alerts")) == failures and len(failures) == 5
    assert [e["uuid"] for e in failed] == failures[:3]
    [lock_message] = ws.messages("helpdesk")
    assert uuids([lock_message]) == [lock["uuid"]]
    assert f"{scene.org_url}/admin/user/profile/view/{erin.id}" in str(lock_message.blocks)


async def test_a_flood_of_failed_sign_ins_becomes_a_digest(scene: Scene) -> None:
    org = scene.org
    await scene.register()
    org.fail_sign_ins("erin.employee@acme.example", 200, ip="203.0.113.7")
    org.fail_sign_ins("root@acme.example", 100, ip="198.51.100.9")
    await org.hooks_idle()
    assert len(org.hook_deliveries) == 6  # 50 events per delivery
    await scene.env.drain(scene.worker(batch_size=50))

    assert scene.policy.alerts is not None
    threshold = scene.policy.alerts.digest.threshold
    messages = scene.env.ws.messages("security-alerts")
    assert len(messages) == threshold + 1
    digest = messages[-1]
    assert f"{300 - threshold} more failed sign-ins" in digest.text and digest.edit_count >= 1
    shown = str(digest.blocks)
    assert f"erin.employee@acme.example: {200 - threshold}" in shown and "root@acme.example: 100" in shown
    assert f"203.0.113.7: {200 - threshold}" in shown and "198.51.100.9: 100" in shown


async def test_poller_feeds_the_same_stream_without_duplicates(scene: Scene) -> None:
    redis = scene.env.redis
    await scene.register()
    poller = LogPoller(redis, scene.okta, filter='eventType eq "user.session.start"')
    assert await poller.poll_once() == 0, "the first poll starts from now"
    cursor = await redis.get(CURSOR_KEY)
    assert cursor

    scene.org.fail_sign_ins("erin.employee@acme.example", 3)
    await scene.org.hooks_idle()
    assert await poller.poll_once() == 3  # the same events, by the other road
    assert await poller.poll_once() == 0 and await redis.get(CURSOR_KEY) != cursor
    await scene.env.drain(scene.worker())
    failures = [e["uuid"] for e in scene.org.log_events if e["eventType"] == "user.session.start"]
    assert uuids(scene.env.ws.messages("security-alerts")) == failures
