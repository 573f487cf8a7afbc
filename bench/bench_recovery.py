"""Time to recover from a replica killed mid-action, and time to stop with a backlog (issue 15,
faults 3 and 6).

    python bench/bench_recovery.py [--lease 30] [--runs 2]   # ~2 min; writes bench/results/recovery.json

Real `okta-chatops serve` processes (tests/process_support.py) against the Okta simulator, the Slack
stand-in and an embedded Redis, all over loopback HTTP.
- killed: two replicas; an approved suspend hangs in Okta (carried out, never answered); the
  executing replica gets SIGKILL. Timed from the kill until the approval message shows the request
  settled by the other replica. Target: within one execution lease (APPROVAL_LEASE_SECONDS).
- stopped: one replica with Okta answering nothing, BACKLOG lookups acked (more than it runs at
  once) and the audit channel throttled; SIGTERM. Timed until the process has exited. Target: 8 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.redis_server import EmbeddedRedis
from bot.server import BackgroundServer
from oktasim import OktaOrg, seed_demo_org
from oktasim import create_app as create_okta_app
from slacksim import SlackWorkspace, demo_workspace
from slacksim import create_app as create_slack_app
from tests.chatops_support import ARJUN, HANA
from tests.conftest import SIM_API_TOKEN
from tests.helpdesk_support import new_user
from tests.process_support import production_env, request_approval, served_bot

BACKLOG = 40
RESULTS = Path(__file__).resolve().parent / "results" / "recovery.json"


async def killed(org: OktaOrg, ws: SlackWorkspace, env: dict[str, str], data: Path, lease: float) -> float:
    target = new_user(org)
    suspend = f"/api/v1/users/{target.id}/lifecycle/suspend"
    env = env | {"APPROVAL_LEASE_SECONDS": str(lease)}
    async with served_bot(env, data / "a") as a, served_bot(env, data / "b"):
        request = await request_approval(ws, a.url, HANA, f"suspend {target.login}")
        org.inject_delay("POST", suspend, 10 * lease)
        await ws.send(f"{a.url}/slack/events", ws.block_action(ARJUN, "approval:approve", message=request))
        await org.until_request("POST", suspend)
        started = time.perf_counter()
        a.process.kill()
        await ws.wait_for_message(lambda m: m.ts == request.ts and "Approved and done" in str(m.blocks), timeout=3 * lease)
        return time.perf_counter() - started


async def stopped(org: OktaOrg, ws: SlackWorkspace, env: dict[str, str], data: Path) -> float:
    async with served_bot(env, data / "c") as bot:
        ws.fail_next("chat.postMessage", status=429, retry_after=30, times=10_000, channel="okta-audit")
        org.inject_delay("GET", "/api/v1/users", 60, times=10_000)
        commands = [ws.slash_command(HANA, "lookup erin.employee@acme.example") for _ in range(BACKLOG)]
        await asyncio.gather(*(ws.send(f"{bot.url}/slack/events", c) for c in commands))
        started = time.perf_counter()
        bot.process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.process.wait(), 30)
        return time.perf_counter() - started


async def run(redis_url: str, data: Path, lease: float, runs: int) -> dict[str, Any]:
    org, ws = seed_demo_org(), demo_workspace()
    org.add_api_token(SIM_API_TOKEN)
    ws.rate_limits.enabled = False  # only the injected faults
    async with (
        BackgroundServer(create_okta_app(org), access_log=False) as okta_server,
        BackgroundServer(create_slack_app(ws), access_log=False) as slack_server,
    ):
        ws.base_url = slack_server.url
        env = production_env(ws, slack_server, okta_server, redis_url)
        recovery = [await killed(org, ws, env, data / f"killed{n}", lease) for n in range(runs)]
        org.clear_faults()
        exits = [await stopped(org, ws, env, data / f"stopped{n}") for n in range(runs)]
        org.clear_faults()
    return {
        "lease_s": lease,
        "killed_mid_action_settled_after_s": [round(t, 2) for t in recovery],
        "sigterm_with_backlog": {"commands": BACKLOG, "exit_after_s": [round(t, 2) for t in exits]},
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lease", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        redis = EmbeddedRedis(Path(data) / "redis", persist=False)
        url = redis.start()
        try:
            result = await run(url, Path(data), args.lease, args.runs)
        finally:
            redis.stop()
    report = {"machine": platform.platform(), "python": platform.python_version(), **result}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
