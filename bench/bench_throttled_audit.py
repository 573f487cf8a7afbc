"""Answers to people while Slack throttles the audit channel (issue 15, fault 5).

    python bench/bench_throttled_audit.py      # ~1 min; also writes bench/results/throttled_audit.json

The whole bot in this process (as tests/chatops_support.py assembles it) against the Okta simulator,
the Slack stand-in and an embedded Redis, all over loopback HTTP. Each scenario sends 40 commands
from a helpdesk agent, as fast as the bot acks them: 30 unlocks (each announced in #okta-audit) and,
interleaved, 10 lookups; it times each command from its signed request to its final reply. In the
throttled scenario Slack answers every post to #okta-audit with 429 and Retry-After: 5 for the
whole run. Target: every reply within 2 s, throttled or not.
"""

from __future__ import annotations

import asyncio
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.redis_server import EmbeddedRedis
from bot.server import BackgroundServer
from oktaclient import OktaClient
from oktaclient.models import UserStatus
from oktasim import create_app as create_okta_app
from oktasim import seed_demo_org
from slacksim import create_app as create_slack_app
from slacksim import demo_workspace
from tests.chatops_support import HANA, run_chatops
from tests.helpdesk_support import new_user

TOKEN = "bench-okta-token"
COMMANDS, LOOKUP_EVERY = 40, 4
RESULTS = Path(__file__).resolve().parent / "results" / "throttled_audit.json"


def summary(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(cuts[49], 3), "p99": round(cuts[98], 3), "max": round(max(values), 3)}


async def scenario(redis_url: str, *, throttled: bool) -> dict[str, Any]:
    org, ws = seed_demo_org(), demo_workspace()
    org.add_api_token(TOKEN)
    ws.rate_limits.enabled = False  # only the audit channel's injected 429s
    redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    await redis.flushdb()
    async with (
        BackgroundServer(create_okta_app(org), access_log=False) as okta_server,
        BackgroundServer(create_slack_app(ws), access_log=False) as slack_server,
        OktaClient.from_api_token(okta_server.url, TOKEN) as okta,
    ):
        ws.base_url = slack_server.url
        if throttled:
            ws.fail_next("chat.postMessage", status=429, retry_after=5, times=10_000, channel="okta-audit")
        async for chatops in run_chatops(ws=ws, slack_url=slack_server.url, org=org, okta=okta, redis=redis):
            started: dict[str, float] = {}
            kinds: dict[str, str] = {}
            locked = [new_user(org, UserStatus.LOCKED_OUT) for _ in range(COMMANDS)]
            for i in range(COMMANDS):
                lookup = i % LOOKUP_EVERY == 0
                text = "lookup erin.employee@acme.example" if lookup else f"unlock {locked[i].login}"
                request = ws.slash_command(HANA, text, channel="helpdesk")
                assert request.response_id is not None
                response_id = request.response_id
                kinds[response_id] = "lookup" if lookup else "unlock"
                started[response_id] = time.perf_counter()
                await ws.send(chatops.url, request)

            async def final(response_id: str) -> float:
                await ws.wait_for(
                    lambda c: c.method == "response_url"
                    and c.args.get("response_id") == response_id
                    and ":hourglass" not in c.args.get("text", ""),
                    timeout=60,
                )
                return time.perf_counter()

            ids = list(started)
            done = dict(zip(ids, await asyncio.gather(*(final(i) for i in ids)), strict=True))
            times = {kind: [done[u] - started[u] for u in started if kinds[u] == kind] for kind in ("lookup", "unlock")}
            audit_posts = [call for call in ws.calls if call.method == "chat.postMessage" and call.args.get("channel") == "#okta-audit"]
    await redis.aclose()
    return {
        "throttled": throttled,
        "lookup_s": summary(times["lookup"]),
        "unlock_s": summary(times["unlock"]),
        "audit_posts_refused_429": sum(1 for call in audit_posts if call.status == 429),
    }


async def main() -> None:
    with tempfile.TemporaryDirectory() as data:
        redis = EmbeddedRedis(Path(data), persist=False)
        url = redis.start()
        try:
            results = [await scenario(url, throttled=False), await scenario(url, throttled=True)]
        finally:
            redis.stop()
    report = {"machine": platform.platform(), "python": platform.python_version(), "scenarios": results}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
