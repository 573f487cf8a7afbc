"""Alerts Slack refuses for good: retried once as plain text, then parked in the dead-letter stream and
acknowledged, so the rest keep flowing; replayed once the cause is fixed, and posted once.

Refusals are real where the stand-in makes them (a channel the bot is not in, an oversize payload),
and injected with `ws.fail_next` where Slack would have to misbehave (blocks it calls invalid).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from starlette.applications import Starlette

from alerts.deadletters import DeadLetters
from alerts.digest import Digests, DigestSettings
from alerts.format import AlertKind
from alerts.ledger import Ledger
from alerts.stream import STREAM_KEY
from alerts.worker import DEFAULT_GROUP, AlertWorker
from bot.metrics import count_dead_letters, count_hook_events, metrics_route
from bot.server import BackgroundServer
from oktaclient.models import LogEvent
from tests.alerts_support import ALERTS, AlertsEnv, CrashingSink, alerts_env, log_event, uuids

GENERAL = "C0GENERAL01"  # #general: the demo workspace never invited the bot there
MFA_RESET = "user.mfa.factor.reset_all"
DEAD_LETTERS = "okc_alerts_dead_letters_total"  # the name the deployment's alert rules use
ADMIN = {"id": "00uoscar", "type": "User", "alternateId": "oscar.admin@acme.example", "displayName": "Oscar Admin"}


@pytest.fixture
async def env(redis: aioredis.Redis) -> AsyncIterator[AlertsEnv]:
    async with alerts_env(redis) as alerts:
        yield alerts


def _to_general(event: LogEvent) -> str:
    """A policy that sends MFA resets to a channel the bot was never invited to, the rest to #security-alerts."""
    return "#general" if event.eventType == MFA_RESET else ALERTS


def _invite_the_bot(env: AlertsEnv) -> None:
    [general] = [c for c in env.ws.channels() if c.id == GENERAL]
    general.members.add(env.ws.bot_user_id)
    env.ws.add_channel(general)


def _posts(env: AlertsEnv, channel: str) -> list[Any]:
    return [c for c in env.calls("chat.postMessage") if env.ws.channel_id(c.args["channel"]) == channel]


async def _pending(env: AlertsEnv) -> int:
    return int((await env.redis.xpending(STREAM_KEY, DEFAULT_GROUP))["pending"])


async def _scrape(url: str, metric: str) -> dict[str, float]:
    """One metric's values from /metrics, by its (only) label's value."""
    async with httpx.AsyncClient() as http:
        text = (await http.get(f"{url}/metrics")).text
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(metric + "{"):
            labels, value = line.rsplit(" ", 1)
            values[labels.split('"')[1]] = float(value)
    return values


async def test_a_poison_event_between_good_ones_is_parked_once_and_the_rest_are_posted(env: AlertsEnv) -> None:
    good = [log_event() for _ in range(4)]
    poison = log_event(MFA_RESET, actor=ADMIN, targets=[ADMIN])
    await env.deliver(*good[:2], poison, *good[2:])
    # min_idle_ms=0: anything left pending is taken over again at once, so endless retries would show
    worker = env.worker(router=_to_general, min_idle_ms=0)
    async with BackgroundServer(Starlette(routes=[metrics_route()])) as metrics:
        before = await _scrape(metrics.url, DEAD_LETTERS)
        undo = count_dead_letters()
        try:
            await env.drain(worker)
            for _ in range(5):
                assert await worker.process_once(block_ms=0) == 0
        finally:
            undo()
        after = await _scrape(metrics.url, DEAD_LETTERS)

    assert uuids(env.ws.messages(ALERTS)) == [e["uuid"] for e in good]
    first, plain = _posts(env, GENERAL)  # as Block Kit, then once as plain text; never again
    assert (first.error, plain.error) == ("not_in_channel", "not_in_channel")
    assert first.args.get("blocks") and not plain.args.get("blocks")
    assert plain.args["metadata"]["event_payload"]["uuid"] == poison["uuid"]

    [letter] = await DeadLetters(env.redis).newest(10)
    assert (letter.uuid, letter.channel, letter.error, letter.plain_error, letter.digest) == (
        poison["uuid"], "#general", "not_in_channel", "not_in_channel", "",
    )  # fmt: skip
    assert json.loads(letter.event) == poison, "every field as Okta sent it"
    assert await _pending(env) == 0
    assert not await env.redis.exists(Ledger.key(poison["uuid"])), "no claim left behind"
    assert after["not_in_channel"] - before["not_in_channel"] == 1
    assert set(after) == set(before) and "other" in after, "reasons are a closed set, all exported from the start"


async def test_a_replay_once_the_bot_is_invited_posts_it_once(env: AlertsEnv) -> None:
    poison = log_event(MFA_RESET, actor=ADMIN, targets=[ADMIN])
    await env.deliver(poison)
    worker = env.worker(router=_to_general, min_idle_ms=0)
    await env.drain(worker)
    dead = DeadLetters(env.redis)
    [letter] = await dead.newest(10)

    _invite_the_bot(env)
    assert await dead.replay(letter)
    assert not await dead.replay(letter), "replayed already: nothing to do"
    assert await dead.size() == 0
    await env.drain(worker)
    await env.deliver(poison)  # and Okta delivers it once more
    await env.drain(worker)

    [posted] = env.ws.messages(GENERAL)
    assert uuids([posted]) == [poison["uuid"]] and posted.blocks
    assert await dead.size() == 0 and await _pending(env) == 0


async def test_blocks_slack_refuses_once_are_posted_as_plain_text(env: AlertsEnv) -> None:
    event = log_event()
    await env.deliver(event)
    env.ws.fail_next("chat.postMessage", error="invalid_blocks", channel=ALERTS)
    await env.drain(env.worker())

    [message] = env.ws.messages(ALERTS)
    assert uuids([message]) == [event["uuid"]] and not message.blocks
    assert message.text.startswith("Failed sign-in: Erin Employee (erin.employee@acme.example)")
    assert await env.redis.hget(Ledger.key(event["uuid"]), "state") == "posted"
    assert await DeadLetters(env.redis).size() == 0


async def test_refused_as_plain_text_too_it_is_parked_and_replays_with_its_blocks(env: AlertsEnv) -> None:
    event = log_event()
    await env.deliver(event)
    env.ws.fail_next("chat.postMessage", error="invalid_blocks", times=2, channel=ALERTS)
    worker = env.worker()
    await env.drain(worker)
    dead = DeadLetters(env.redis)
    [letter] = await dead.newest(10)
    assert (letter.error, letter.plain_error) == ("invalid_blocks", "invalid_blocks")
    assert env.ws.messages(ALERTS) == [] and await _pending(env) == 0

    assert await dead.replay(letter)
    await env.drain(worker)
    [message] = env.ws.messages(ALERTS)
    assert uuids([message]) == [event["uuid"]] and message.blocks


async def test_a_refusal_of_the_app_itself_is_retried_not_parked(env: AlertsEnv) -> None:
    """A revoked token refuses every post alike: parking them would only empty the stream."""
    event = log_event()
    await env.deliver(event)
    env.ws.fail_next("chat.postMessage", error="token_revoked")
    assert await env.worker("w1").process_once(block_ms=0) == 1
    assert len(env.calls("chat.postMessage")) == 1, "no plain-text retry"
    assert await DeadLetters(env.redis).size() == 0 and await _pending(env) == 1

    await env.drain(env.worker("w2", min_idle_ms=0))
    assert uuids(env.ws.messages(ALERTS)) == [event["uuid"]]


THRESHOLD = 2
DIGEST = DigestSettings(threshold=THRESHOLD, window_s=60)


async def _burst(env: AlertsEnv, worker: AlertWorker, n: int) -> list[dict[str, Any]]:
    events = [log_event() for _ in range(n)]
    await env.deliver(*events)
    await env.drain(worker)
    return events


def _digest_messages(env: AlertsEnv) -> list[Any]:
    return [m for m in env.ws.messages(ALERTS) if uuids([m]) and uuids([m])[0].startswith("digest:")]


async def test_a_digest_slack_refuses_parks_its_events_and_a_replay_posts_it_once(env: AlertsEnv) -> None:
    worker = env.worker(digest=DIGEST)
    await _burst(env, worker, THRESHOLD)  # posted one by one
    env.ws.fail_next("chat.postMessage", error="invalid_blocks", times=2, channel=ALERTS)
    counted = await _burst(env, worker, 3)  # the digest's first post is refused, as plain text too

    dead = DeadLetters(env.redis)
    letters = await dead.newest(10)
    assert sorted(lt.uuid for lt in letters) == sorted(e["uuid"] for e in counted)
    assert {lt.digest for lt in letters} == {counted[0]["uuid"]} and await _pending(env) == 0
    assert _digest_messages(env) == []

    for letter in letters:
        assert await dead.replay(letter)
    await env.drain(worker)
    [digest] = _digest_messages(env)
    assert "Burst: 3 more failed sign-ins" in digest.text and digest.blocks
    assert len(env.ws.messages(ALERTS)) == THRESHOLD + 1


async def test_a_digest_update_slack_refuses_goes_as_plain_text_then_is_parked(env: AlertsEnv) -> None:
    worker = env.worker(digest=DIGEST)
    await _burst(env, worker, THRESHOLD + 1)
    [digest] = _digest_messages(env)

    env.ws.fail_next("chat.update", error="invalid_blocks", channel=ALERTS)
    await _burst(env, worker, 1)
    [digest] = _digest_messages(env)
    assert "Burst: 2 more" in digest.text and not digest.blocks, "updated as plain text"

    env.ws.fail_next("chat.update", error="invalid_blocks", times=2, channel=ALERTS)
    refused = await _burst(env, worker, 1)
    [letter] = await DeadLetters(env.redis).newest(10)
    assert (letter.uuid, letter.error, letter.digest) == (refused[0]["uuid"], "invalid_blocks", digest_id(digest))
    assert await _pending(env) == 0

    assert await DeadLetters(env.redis).replay(letter)
    await env.drain(worker)
    [digest] = _digest_messages(env)
    assert "Burst: 3 more" in digest.text and digest.blocks


async def test_a_digest_deleted_in_slack_is_posted_anew_not_parked(env: AlertsEnv) -> None:
    worker = env.worker(digest=DIGEST)
    await _burst(env, worker, THRESHOLD + 2)
    [gone] = _digest_messages(env)
    await env.client.chat_delete(channel=ALERTS, ts=gone.ts)  # someone deletes the digest message

    await _burst(env, worker, 1)
    assert [c.error for c in env.calls("chat.update")][-2:] == ["message_not_found", "message_not_found"]
    [digest] = _digest_messages(env)
    assert digest.ts != gone.ts and "Burst: 3 more failed sign-ins" in digest.text and digest.blocks
    await _burst(env, worker, 1)
    [digest] = _digest_messages(env)
    assert "Burst: 4 more failed sign-ins" in digest.text, "the new message is the one updated"
    assert await DeadLetters(env.redis).size() == 0 and await _pending(env) == 0


def digest_id(message: Any) -> str:
    return str(uuids([message])[0]).removeprefix("digest:")


async def test_a_replayed_event_whose_digest_is_gone_is_shown_anew(env: AlertsEnv) -> None:
    worker = env.worker(digest=DIGEST)
    await _burst(env, worker, THRESHOLD)
    env.ws.fail_next("chat.postMessage", error="channel_not_found", times=2, channel=ALERTS)
    [counted] = await _burst(env, worker, 1)
    dead = DeadLetters(env.redis)
    [letter] = await dead.newest(10)
    await env.redis.delete(Digests.key(ALERTS, AlertKind.FAILED_SIGN_IN))  # the digest expired meanwhile

    assert await dead.replay(letter)
    await env.drain(worker)
    [digest] = _digest_messages(env)
    assert digest_id(digest) == counted["uuid"] and "Burst: 1 more failed sign-ins" in digest.text


async def test_stage_counts_include_dead_letters(env: AlertsEnv) -> None:
    async with BackgroundServer(Starlette(routes=[metrics_route()])) as metrics:
        before = await _scrape(metrics.url, "okc_hook_events_total")
        undo = count_hook_events()
        try:
            await env.deliver(log_event(MFA_RESET, actor=ADMIN, targets=[ADMIN]), log_event())
            await env.drain(env.worker(router=_to_general))
        finally:
            undo()
        after = await _scrape(metrics.url, "okc_hook_events_total")
    assert after["dead_lettered"] - before["dead_lettered"] == 1
    assert after["posted"] - before["posted"] == 1


async def test_every_post_fits_even_with_a_display_name_of_2100_characters(env: AlertsEnv) -> None:
    """The fault as it was reported: such an event no longer makes a message Slack refuses."""
    huge = {"id": "00u" + "x" * 2100, "type": "User", "alternateId": "a" * 2100, "displayName": "N&<>" * 525}
    event = log_event(MFA_RESET, actor=huge, targets=[huge] * 12, message="&" * 5000, ip="<" * 2100)
    event["uuid"] = "9" * 2100
    await env.deliver(event)
    await env.drain(env.worker())
    [message] = env.ws.messages(ALERTS)
    assert message.blocks and [c.error for c in env.calls("chat.postMessage")] == [None]
    assert await DeadLetters(env.redis).size() == 0


async def test_a_worker_that_died_posting_to_a_channel_slack_refuses_leaves_a_dead_letter(env: AlertsEnv) -> None:
    """Its claim goes stale; the channel cannot be searched for the message (the bot is not in it)
    nor posted to: the taker parks the event instead of looking for ever."""
    poison = log_event(MFA_RESET, actor=ADMIN, targets=[ADMIN])
    await env.deliver(poison)
    await env.crash(CrashingSink(env.sink(), point="before"), router=_to_general)

    await env.drain(env.worker("survivor", router=_to_general, min_idle_ms=0))
    assert [c.error for c in env.calls("conversations.history")] == ["not_in_channel"]
    [letter] = await DeadLetters(env.redis).newest(10)
    assert (letter.uuid, letter.error) == (poison["uuid"], "not_in_channel") and await _pending(env) == 0
