"""Bursts become one digest message, updated in place, with exact counts, whatever the workers do."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from alerts.digest import DigestSettings
from alerts.format import AlertKind
from alerts.worker import AlertWorker
from policy import load_policy
from slacksim import Message
from tests.alerts_support import ALERTS, POLICY_FILE, AlertsEnv, CrashingSink, alerts_env, log_event

THRESHOLD = 5
DIGEST = DigestSettings(threshold=THRESHOLD, window_s=60)
ERIN = {"id": "00u1erin", "type": "User", "alternateId": "erin.employee@acme.example", "displayName": "Erin"}
GHOST = {"id": "unknown", "type": "User", "alternateId": "admin@acme.example", "displayName": "unknown"}


@pytest.fixture
async def env(redis: aioredis.Redis) -> AsyncIterator[AlertsEnv]:
    async with alerts_env(redis) as alerts:
        yield alerts


def _burst() -> list[dict[str, Any]]:
    """300 failed sign-ins: 200 by Erin from one address, then 100 for an unknown login from another."""
    return [log_event(actor=ERIN, ip="203.0.113.7") for _ in range(200)] + [
        log_event(actor=GHOST, ip="198.51.100.9", reason="VERIFICATION_ERROR") for _ in range(100)
    ]


async def _deliver_in_batches(env: AlertsEnv, events: list[dict[str, Any]]) -> None:
    for start in range(0, len(events), 50):  # Okta sends at most 50 events per delivery
        await env.deliver(*events[start : start + 50])


def _digests(messages: list[Message]) -> list[Message]:
    return [m for m in messages if m.metadata and m.metadata["event_payload"]["uuid"].startswith("digest:")]


def _rows(message: Message, heading: str) -> dict[str, int]:
    """The counts a digest shows under a heading, e.g. {"erin.employee@acme.example": 195}."""
    text = next(f["text"] for b in message.blocks for f in b.get("fields", []) if f["text"].startswith(heading))
    return {label: int(count) for label, count in re.findall(r"• (.+?): (\d+)", text)}


def _workers(env: AlertsEnv, count: int, **options: Any) -> list[AlertWorker]:
    return [env.worker(f"w{i}", digest=DIGEST, **options) for i in range(count)]


async def test_a_burst_becomes_one_digest_updated_in_place(env: AlertsEnv) -> None:
    events = _burst()
    await _deliver_in_batches(env, events)
    await env.drain(*_workers(env, 1, batch_size=50))

    messages = env.ws.messages(ALERTS)
    [digest] = _digests(messages)
    singles = [m for m in messages if m is not digest and m.metadata]
    assert [m.metadata["event_payload"]["uuid"] for m in singles if m.metadata] == [
        e["uuid"] for e in events[:THRESHOLD]
    ], "the first events of the burst are posted one by one"
    assert "295 more failed sign-ins" in digest.text
    assert _rows(digest, "*By actor*") == {"erin.employee@acme.example": 195, "admin@acme.example": 100}
    assert _rows(digest, "*By client IP*") == {"203.0.113.7": 195, "198.51.100.9": 100}
    updates = [c for c in env.ws.calls if c.method == "chat.update"]
    assert digest.edit_count == len(updates) >= 1 and len(updates) <= 6, "one update per batch at most"
    assert all(c.args["ts"] == digest.ts for c in updates)


async def test_concurrent_workers_and_redeliveries_keep_one_exact_digest(env: AlertsEnv) -> None:
    events = _burst()
    await _deliver_in_batches(env, events)
    await _deliver_in_batches(env, events[100:200])  # Okta redelivers some of it
    workers = _workers(env, 3, batch_size=20)
    await env.drain(*workers)
    await _deliver_in_batches(env, events)  # ... and later all of it again
    await env.drain(*workers)

    messages = env.ws.messages(ALERTS)
    [digest] = _digests(messages)
    assert len(messages) == THRESHOLD + 1
    assert "295 more failed sign-ins" in digest.text
    assert sum(_rows(digest, "*By actor*").values()) == sum(_rows(digest, "*By client IP*").values()) == 295


async def test_only_digestible_kinds_are_digested(env: AlertsEnv) -> None:
    locks = [log_event("user.account.lock", outcome="SUCCESS", reason=None) for _ in range(3 * THRESHOLD)]
    await env.deliver(*locks)
    await env.drain(*_workers(env, 1))
    assert len(env.ws.messages(ALERTS)) == 3 * THRESHOLD and not _digests(env.ws.messages(ALERTS))

    lockouts = DigestSettings(threshold=THRESHOLD, window_s=60, kinds=frozenset({AlertKind.LOCKOUT}))
    await env.deliver(*(log_event("user.account.lock") for _ in range(THRESHOLD + 3)))
    await env.drain(env.worker(digest=lockouts))
    [digest] = _digests(env.ws.messages(ALERTS))
    assert "3 more lock-outs" in digest.text


async def test_each_channel_has_its_own_digest(env: AlertsEnv) -> None:
    events = [log_event(ip=f"203.0.113.{i % 2}") for i in range(40)]
    await env.deliver(*events)
    by_ip = {"203.0.113.0": "#security-alerts", "203.0.113.1": "#helpdesk"}
    router = lambda e: by_ip[e.client.ipAddress]
    await env.drain(env.worker(router=router, digest=DIGEST))
    for channel in ("security-alerts", "helpdesk"):
        [digest] = _digests(env.ws.messages(channel))
        assert "15 more failed sign-ins" in digest.text
        assert len(env.ws.messages(channel)) == THRESHOLD + 1


async def test_digest_settings_from_the_policy(env: AlertsEnv) -> None:
    policy = load_policy(POLICY_FILE)
    assert policy.alerts is not None
    settings = DigestSettings(threshold=policy.alerts.digest.threshold, window_s=policy.alerts.digest.window)
    await env.deliver(*(log_event() for _ in range(settings.threshold + 10)))
    await env.drain(env.worker(router=policy.route_event, digest=settings))
    [digest] = _digests(env.ws.messages("security-alerts"))
    assert "10 more failed sign-ins" in digest.text


@pytest.mark.parametrize("point", ["before", "after"])
async def test_worker_killed_while_posting_the_digest(env: AlertsEnv, point: str) -> None:
    await env.deliver(*(log_event() for _ in range(THRESHOLD + 3)))
    await env.crash(CrashingSink(env.sink(), point, at=THRESHOLD + 1), digest=DIGEST)  # at the digest's post
    await env.drain(env.worker("survivor", digest=DIGEST, min_idle_ms=0))
    messages = env.ws.messages(ALERTS)
    [digest] = _digests(messages)
    assert len(messages) == THRESHOLD + 1
    assert "3 more failed sign-ins" in digest.text
