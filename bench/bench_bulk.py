"""A bulk add of 1,000 users to one group against the Okta simulator's rate limits.

    python bench/bench_bulk.py                        # Okta's limit: 500 per 60 s (about 2 minutes)
    python bench/bench_bulk.py --limit 250 --window 10  # the same shape, scaled to 40 s

Membership changes (PUT /api/v1/groups/{id}/users/{userId}) count against Okta's `/api/v1/groups`
bucket. The batch runs as the bot runs it (actions.bulk.run_batch, through the paced Okta client)
and reports the time against the bound N / limit × window, the 429s the simulator answered, and
the 429s that reached the batch (a failed user). Target: within 10% of the bound, none surfaced.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actions.bulk import Batch, Member, Tally, new_batch_id, run_batch
from bot.server import BackgroundServer
from oktaclient import OktaClient
from oktasim import create_app, seed_demo_org

TOKEN = "bench-okta-token"
BUCKET = "/api/v1/groups"
RESULTS = Path(__file__).resolve().parent / "results" / "bulk.json"


async def bench(users: int, limit: int, window: float) -> dict[str, object]:
    org = seed_demo_org()
    org.add_api_token(TOKEN)
    org.set_rate_limit(limit, window, bucket=BUCKET)
    group = org.add_group("Bulk Bench")
    members = tuple(
        Member(id=u.id, login=u.login) for u in (org.add_user(f"bulk{n}@acme.example", "Bulk", f"User{n}") for n in range(users))
    )
    served_429 = 0

    async def count(response: httpx.Response) -> None:
        nonlocal served_429
        served_429 += response.status_code == 429

    async def progress(tally: Tally) -> None:
        return None

    batch = Batch(id=new_batch_id(), adding=True, group_id=group.id, group_name=group.name, users=members)
    async with (
        BackgroundServer(create_app(org)) as sim,
        httpx.AsyncClient(event_hooks={"response": [count]}) as http,
        OktaClient.from_api_token(sim.url, TOKEN, http=http) as okta,
    ):
        started = time.perf_counter()
        tally = await run_batch(okta, batch, progress)
        elapsed = time.perf_counter() - started
    bound = users / limit * window
    surfaced = sum("rate" in why.lower() or "E0000047" in why for _, why in tally.failed)
    return {
        "users": users,
        "limit": limit,
        "window_s": window,
        "seconds": round(elapsed, 2),
        "bound_s": round(bound, 2),
        "ratio": round(elapsed / bound, 3),
        "done": len(tally.done),
        "failed": len(tally.failed),
        "served_429": served_429,
        "surfaced_429": surfaced,
        "members_after": len(org.directory.members(group)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=500, help="requests per window in the /api/v1/groups bucket")
    parser.add_argument("--window", type=float, default=60.0, help="seconds")
    args = parser.parse_args()
    result = asyncio.run(bench(args.users, args.limit, args.window))
    print(json.dumps(result, indent=2))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
