"""The poison-alert fault over real processes: `okta-chatops serve` receives a delivery whose middle
event the policy routes to a channel the bot was never invited to; the good events are posted, the
poison one is refused (as Block Kit, then as plain text), parked and acknowledged; once the bot is
invited, `okta-chatops alerts dead-letters --retry ID` (a process of its own) replays it, and it is
posted once."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from alerts.deadletters import DEAD_KEY
from alerts.stream import STREAM_KEY
from alerts.worker import DEFAULT_GROUP
from bot.server import BackgroundServer
from slacksim import SlackWorkspace
from tests.alerts_support import delivery, log_event, uuids
from tests.chatops_support import EXAMPLE_POLICY, HOOK_SECRET
from tests.process_support import production_env, serve_process

pytestmark = pytest.mark.slow  # real processes (the serve command, a browser, Docker): CI runs them, `-m "not slow"` skips them

# The example policy, with MFA resets sent to #general first: the bot is not in #general.
POISON_RULE = '  rules:\n    - match: {event_type: "user.mfa.factor.reset_all"}\n      channel: "#general"\n'


async def _cli(env: dict[str, str], *argv: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "alerts", "dead-letters", *argv,
        env={**os.environ, **env}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return await process.wait(), out.decode()


async def test_a_poison_alert_is_parked_the_rest_posted_and_a_replay_posts_it_once(
    ws: SlackWorkspace, slack: BackgroundServer, okta_sim: BackgroundServer, redis_url: str,
    redis: aioredis.Redis, tmp_path: Path,
) -> None:  # fmt: skip
    policy = tmp_path / "policy.yaml"
    policy.write_text(EXAMPLE_POLICY.read_text().replace("  rules:\n", POISON_RULE, 1))
    env = production_env(ws, slack, okta_sim, redis_url) | {"POLICY_FILE": str(policy)}
    good = [log_event() for _ in range(3)]
    poison = log_event("user.mfa.factor.reset_all", outcome="SUCCESS", reason=None)

    async with serve_process(env, tmp_path / "data") as url, httpx.AsyncClient() as http:
        response = await http.post(
            f"{url}/okta/hooks", json=delivery(good[0], poison, *good[1:]), headers={"Authorization": HOOK_SECRET}
        )
        assert response.status_code == 200
        [(_, [(letter_id, letter)])] = await redis.xread({DEAD_KEY: "0-0"}, count=1, block=20_000)
        await ws.wait_for_message(lambda _: len(uuids(ws.messages("security-alerts"))) == len(good), timeout=20)
        assert sorted(uuids(ws.messages("security-alerts"))) == sorted(e["uuid"] for e in good)
        refusals = [c.error for c in ws.calls if c.method == "chat.postMessage" and c.args["channel"] == "#general"]
        assert refusals == ["not_in_channel", "not_in_channel"]
        assert (letter["uuid"], letter["channel"], letter["error"]) == (poison["uuid"], "#general", "not_in_channel")
        [poison_id] = [i for i, fields in await redis.xrange(STREAM_KEY) if fields["uuid"] == poison["uuid"]]
        pending = await redis.xpending_range(STREAM_KEY, DEFAULT_GROUP, min=poison_id, max=poison_id, count=1)
        assert pending == [], "acknowledged as it was parked: never retried"
        metrics = (await http.get(f"{url}/metrics")).text
        assert 'okc_hook_events_total{stage="dead_lettered"} 1.0' in metrics

        code, out = await _cli(env)
        assert code == 0 and letter_id in out and "not_in_channel" in out
        [general] = [c for c in ws.channels() if c.name == "general"]
        general.members.add(ws.bot_user_id)  # someone invites the bot
        ws.add_channel(general)
        replayed = f"Re-queued {letter_id} (user.mfa.factor.reset_all {poison['uuid']})"
        assert await _cli(env, "--retry", letter_id) == (0, f"{replayed}: it is posted where the policy routes it now.\n")
        posted = await ws.wait_for_message(lambda m: uuids([m]) == [poison["uuid"]], timeout=20)
        assert posted.channel == general.id and posted.blocks
        code, out = await _cli(env, "--retry", letter_id)
        assert code == 1 and "replayed already" in out

    assert uuids(ws.messages("general")) == [poison["uuid"]]
    assert await redis.xlen(DEAD_KEY) == 0
