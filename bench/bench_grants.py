"""1,000 time-bound grants that end in the same minute, expired against the Okta simulator's rate limits.

    python bench/bench_grants.py                         # Okta's limits: 500 per 60 s (about 2 minutes)
    python bench/bench_grants.py --limit 250 --window 10  # the same shape, scaled to 40 s

Each expiry reads the member's groups (GET /api/v1/users/{id}/groups: the `/api/v1` bucket, 1,200 a
minute) and removes the membership (DELETE /api/v1/groups/{id}/users/{userId}: the simulator's
`/api/v1/groups` bucket, 500 a minute), so the removals are bound by N / limit × window. The grants
are stored and the memberships made directly in the simulator, so the whole window is the expiry's;
the expiry runs as the bot runs it (`Grants.tick()` on one embedded Redis, through the paced Okta
client, the member told by DM on the Slack stand-in). Reported: the time against the bound, the 429s
the simulator answered, and the 429s that surfaced (a removal postponed). Target: within 10% of the
bound, none surfaced. Writes bench/results/grants.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import tempfile
import time
from pathlib import Path

import httpx
import redis.asyncio as aioredis
from slack_sdk.web.async_client import AsyncWebClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from access import Grant, Grants, GrantStore
from access.service import run_access
from access.store import ENDS_KEY
from audit import AuditLog, Recorder
from bot.redis_server import EmbeddedRedis
from bot.server import BackgroundServer
from oktaclient import OktaClient
from oktasim import create_app, seed_demo_org
from oktasim._ratelimit import bucket_for
from policy import load_policy
from slackport import SlackPort
from slacksim import create_app as create_slack_app
from slacksim import demo_workspace

TOKEN = "bench-okta-token"
ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "grants.json"
MEMBER = "U0ERIN00001"  # every grantee's DM goes to one demo member: Slack is not what is measured
START = 1_750_000_000.0


class BenchClock:
    """The grants' clock: every grant is due at once, at the start of the run."""

    def now(self) -> float:
        return START + 3600


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def bench(n: int, limit: int, window: float, redis_url: str) -> dict[str, object]:
    org = seed_demo_org()
    org.add_api_token(TOKEN)
    group = org.add_group("Grants Bench")
    bucket = bucket_for("DELETE", f"/api/v1/groups/{group.id}/users/someone")
    users = [org.add_user(f"grant{i}@acme.example", "Grant", f"User{i}") for i in range(n)]
    org.get_group(group.name).member_ids.update(u.id for u in users)
    ws = demo_workspace()
    ws.rate_limits.enabled = False
    redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    await redis.flushdb()
    policy = load_policy(ROOT / "policy" / "example.yaml")
    served_429 = 0
    removed_at: list[float] = []  # when each removal was answered, for the shape of the run

    async def count(response: httpx.Response) -> None:
        nonlocal served_429
        served_429 += response.status_code == 429
        if response.request.method == "DELETE" and response.is_success:
            removed_at.append(time.perf_counter())

    async with (
        BackgroundServer(create_app(org)) as sim,
        BackgroundServer(create_slack_app(ws)) as slack,
        httpx.AsyncClient(event_hooks={"response": [count]}) as http,
        OktaClient.from_api_token(sim.url, TOKEN, http=http) as okta,
    ):
        port = SlackPort(AsyncWebClient(token=ws.bot_token, base_url=f"{slack.url}/api/"), pacing_s=0)
        store = GrantStore(redis, Recorder(AuditLog(redis)))
        for i, user in enumerate(users):  # all end within the same minute, the last ones first
            ends = START + 3600 - 59 * i / n
            grant = Grant(
                id=GrantStore.new_id(), user_id=user.id, login=user.login, group_id=group.id, group_name=group.name,
                notify=MEMBER, granted_by="U0HANA00001", starts=START, ends=ends, first_seconds=3600,
            )
            await store.create(grant, ends - 900)
        org.set_rate_limit(limit, window, bucket=bucket)  # fresh windows: the expiry has the bucket to itself
        grants = Grants(store, okta, port, policy, BenchClock())
        started = time.perf_counter()
        service = asyncio.create_task(run_access(grants, interval=0.5))
        deadline = started + 10 * n / limit * window
        while await redis.zcard(ENDS_KEY) and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)  # a benchmark polls; tests never do
        elapsed = time.perf_counter() - started
        service.cancel()
        postponed = sum([1 for g in await store.all_active(limit=n) if g.attempts])
        left = len(await store.all_active(limit=n))
    await redis.aclose()
    bound = n / limit * window
    return {
        "grants": n,
        "bucket": bucket,
        "limit": limit,
        "window_s": window,
        "seconds": round(elapsed, 2),
        "bound_s": round(bound, 2),
        "ratio": round(elapsed / bound, 3),
        "removed": n - len(org.get_group(group.name).member_ids & {u.id for u in users}),
        "grants_still_active": left,
        "last_removal_s": round(max(removed_at) - started, 2) if removed_at else None,
        "removals_per_window": [sum(1 for t in removed_at if k * window <= t - started < (k + 1) * window) for k in range(int(elapsed // window) + 1)],
        "served_429": served_429,
        "surfaced_429": postponed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grants", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=500, help="requests per window in the membership bucket")
    parser.add_argument("--window", type=float, default=60.0, help="seconds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(tmp, port=free_port(), persist=False) as server:
        result = asyncio.run(bench(args.grants, args.limit, args.window, server.url))
    print(json.dumps(result, indent=2))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
