"""Event hook ingest throughput, and the delay from Okta's POST to the Slack post, on loopback.

    python bench/bench_hooks.py      # ~35 s; also writes bench/results/hooks.json

(a) Ingest: 20k System Log events (written by the Okta simulator's log, so they have Okta's shape
    and size) in deliveries of 1-50 events, POSTed concurrently to the hook endpoint; a delivery
    counts once its 200 is back. Baselines, same deliveries and concurrency, straight from this
    process to Redis: a raw pipeline of XADDs in MULTI/EXEC (one round trip per delivery), and the
    endpoint's own store step (StreamWriter: one EVALSHA per delivery) without the HTTP around it.
(b) Delay: a steady 50 events/s for 10 s into the endpoint, with one worker posting to the fake
    Slack Web API (pacing off); delay = Slack receiving chat.postMessage - the POST being sent.
(c) Isolation: the alert service as `serve` runs it (two workers, policy/example.yaml's routes and
    digest, one message per second per channel), a burst of 120 failed sign-ins for #security-alerts,
    then one lock-out for #helpdesk; delay = Slack receiving the lock-out - its POST being sent.
In (a) the load generator is a separate process; in (b) and (c) it shares the loop with the server and workers.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import platform
import random
import socket
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, cast

import httpx
import redis.asyncio as aioredis
from pydantic import SecretStr
from slack_sdk.web.async_client import AsyncWebClient

from alerts import AlertService, AlertWorker, HookConfig, create_hook_app
from alerts.stream import DEFAULT_MAXLEN, STREAM_KEY, RawEvent, StreamWriter
from bot.redis_server import EmbeddedRedis
from bot.server import BackgroundServer
from oktasim import seed_demo_org
from policy import load_policy
from slackport import SlackPort
from slacksim import create_app as create_slack_app
from slacksim import demo_workspace

RESULTS = Path(__file__).parent / "results" / "hooks.json"
SECRET = "bench-hook-secret"
INGEST_EVENTS = 20_000
CONCURRENCY = 32
STEADY_RATE = 50  # events/s
STEADY_SECONDS = 10
CHANNEL = "C0SECALERT1"
POLICY_FILE = Path(__file__).parents[1] / "policy" / "example.yaml"
BURST = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def okta_events(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """Events as the simulator's System Log writes them: sign-in failures, lifecycle and membership changes."""
    org = seed_demo_org()
    erin, hana = org.get_user("erin.employee@acme.example"), org.get_user("hana.helpdesk@acme.example")
    kinds = ("user.lifecycle.suspend", "group.user_membership.add", "user.mfa.factor.reset_all")
    while len(org.log_events) < count:
        if rng.random() < 0.6:
            org.fail_sign_ins(f"user{rng.randrange(500)}@acme.example", 1, ip=f"203.0.113.{rng.randrange(256)}")
        else:
            org.record_event(rng.choice(kinds), actor=hana, targets=[erin], severity="WARN")
    return org.log_events[:count]


def key_of(metadata: dict[str, Any] | None) -> str | None:
    """The event uuid a Slack message's metadata names."""
    return cast(str | None, (metadata or {}).get("event_payload", {}).get("uuid"))


def deliveries(events: list[dict[str, Any]], rng: random.Random, largest: int) -> list[list[dict[str, Any]]]:
    batches, start = [], 0
    while start < len(events):
        size = rng.randint(1, largest)
        batches.append(events[start : start + size])
        start += size
    return batches


def body(events: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {
            "eventType": "com.okta.event_hook",
            "eventTypeVersion": "1.0",
            "cloudEventsVersion": "0.1",
            "source": "https://acme.okta.com/api/v1/eventHooks/whobench",
            "eventId": f"bench-{events[0]['uuid']}",
            "eventTime": events[0]["published"],
            "contentType": "application/json",
            "data": {"events": events},
        }
    ).encode()


def http_client(url: str) -> httpx.AsyncClient:
    # A new connection per POST, as Okta makes them; a kept-alive connection to bot/server.py's socket
    # stalls ~40 ms per small response (Nagle meets delayed ACK), which would measure TCP, not us.
    headers = {"Authorization": SECRET, "Content-Type": "application/json"}
    return httpx.AsyncClient(base_url=url, headers=headers, limits=httpx.Limits(max_keepalive_connections=0))


def percentiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100)
    return {
        "p50": round(cuts[49], 2),
        "p95": round(cuts[94], 2),
        "p99": round(cuts[98], 2),
        "max": round(max(values), 2),
    }


async def run_concurrently(jobs: list[Any], concurrency: int, run: Any) -> float:
    """Seconds to run `run(job)` for every job, `concurrency` at a time."""
    queue = iter(jobs)

    async def lane() -> None:
        for job in queue:
            await run(job)

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return time.perf_counter() - started


def _post_all(url: str, bodies: list[bytes], concurrency: int) -> float:
    """In a child process: POST every body, `concurrency` at a time; seconds until the last 200."""

    async def run() -> float:
        async with http_client(url) as client:

            async def post(payload: bytes) -> None:
                (await client.post("/okta/hooks", content=payload)).raise_for_status()

            return await run_concurrently(bodies, concurrency, post)

    return asyncio.run(run())


async def ingest(redis: aioredis.Redis, url: str, batches: list[list[dict[str, Any]]]) -> dict[str, Any]:
    bodies = [body(b) for b in batches]
    raw = [[RawEvent(e["uuid"], json.dumps(e, separators=(",", ":"))) for e in b] for b in batches]
    total = sum(len(b) for b in batches)

    # The load generator runs in its own process, as Okta does: the server keeps this one's CPU.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(time.sleep, 0).result()  # the child is up before the clock starts
        hook_s = await asyncio.wrap_future(pool.submit(_post_all, url, bodies, CONCURRENCY))
    assert await redis.xlen(STREAM_KEY) == total
    await redis.delete(STREAM_KEY)

    async def raw_xadd(events: list[RawEvent]) -> None:
        async with redis.pipeline(transaction=True) as pipe:
            for e in events:
                pipe.xadd(STREAM_KEY, {"uuid": e.uuid, "event": e.json}, maxlen=DEFAULT_MAXLEN, approximate=True)
            await pipe.execute()

    writer = StreamWriter(redis)
    rates = {"hook": total / hook_s}
    for name, store in (("raw_xadd", raw_xadd), ("store_step", writer.append)):
        rates[name] = total / await run_concurrently(raw, CONCURRENCY, store)
        assert await redis.xlen(STREAM_KEY) == total
        await redis.delete(STREAM_KEY)
    return {
        "events": total,
        "deliveries": len(batches),
        "concurrency": CONCURRENCY,
        "hook_events_per_s": round(rates["hook"]),
        "hook_deliveries_per_s": round(len(batches) / hook_s),
        "raw_xadd_multi_events_per_s": round(rates["raw_xadd"]),
        "store_step_events_per_s": round(rates["store_step"]),
        "hook_vs_raw_xadd": round(rates["hook"] / rates["raw_xadd"], 3),
        "hook_vs_store_step": round(rates["hook"] / rates["store_step"], 3),
    }


async def steady(redis: aioredis.Redis, url: str, events: list[dict[str, Any]], rng: random.Random) -> dict[str, Any]:
    ws = demo_workspace()
    sent_at: dict[str, float] = {}
    async with BackgroundServer(create_slack_app(ws)) as slack, http_client(url) as client:
        sink = SlackPort(AsyncWebClient(token=ws.bot_token, base_url=f"{slack.url}/api/"), pacing_s=0)
        worker = AlertWorker(redis, sink, lambda _: CHANNEL, "bench", org_url="https://acme.okta.com", block_ms=200)
        task = asyncio.create_task(worker.run())
        batches = deliveries(events, rng, largest=5)
        started = time.perf_counter()
        sent = 0
        for batch in batches:  # on schedule: delivery k leaves when its first event is due
            await asyncio.sleep(max(0.0, started + sent / STEADY_RATE - time.perf_counter()))
            now = time.time()
            sent_at.update((e["uuid"], now) for e in batch)
            (await client.post("/okta/hooks", content=body(batch))).raise_for_status()
            sent += len(batch)
        last = events[-1]["uuid"]  # one worker posts in stream order: the last one in means all are in
        await ws.wait_for_message(lambda m: key_of(m.metadata) == last, 30)
        worker.stop()
        await task
    posts = [c for c in ws.calls if c.method == "chat.postMessage" and c.ok]
    at = {key_of(c.args.get("metadata")): c.at for c in posts}
    delays_ms = [(at[uuid] - sent_at[uuid]) * 1000 for uuid in sent_at]
    return {
        "events": len(events),
        "rate_per_s": STEADY_RATE,
        "seconds": STEADY_SECONDS,
        "posted": len(at),
        "delay_ms": percentiles(delays_ms),
    }


async def isolation(redis: aioredis.Redis, url: str) -> dict[str, Any]:
    org = seed_demo_org()
    org.fail_sign_ins("erin.employee@acme.example", BURST)
    org.lock_out("alex.kim@acme.example", failures=0)
    *burst, lock = org.log_events[-(BURST + 1) :]
    await redis.flushdb()  # nothing left over from (b): a fresh group, ledger and digest
    ws = demo_workspace()
    async with BackgroundServer(create_slack_app(ws)) as slack, http_client(url) as client:
        slack_client = AsyncWebClient(token=ws.bot_token, base_url=f"{slack.url}/api/")
        policy = load_policy(POLICY_FILE)
        # Left with the burst still being paced: what is cut off is not measured.
        service = AlertService(
            redis, SlackPort(slack_client), policy, org_url="https://acme.okta.com", consumer_name="bench", stop_grace_s=0.1
        )
        async with service:
            for start in range(0, BURST, 50):  # Okta's largest delivery
                (await client.post("/okta/hooks", content=body(burst[start : start + 50]))).raise_for_status()
            sent_at = time.time()
            (await client.post("/okta/hooks", content=body([lock]))).raise_for_status()
            await ws.wait_for_message(lambda m: key_of(m.metadata) == lock["uuid"], 60)
    posts = [c for c in ws.calls if c.method == "chat.postMessage" and c.ok]
    lock_post = next(c for c in posts if key_of(c.args.get("metadata")) == lock["uuid"])
    return {
        "burst": BURST,
        "pacing_s": 1.0,
        "lock_out_delay_ms": round((lock_post.at - sent_at) * 1000, 2),
        "burst_posts_before_it": sum(1 for c in posts if c.at < lock_post.at),
    }


async def main() -> None:
    rng = random.Random(20240601)
    events = okta_events(INGEST_EVENTS + STEADY_RATE * STEADY_SECONDS, rng)
    with tempfile.TemporaryDirectory() as data:
        server = EmbeddedRedis(data, port=free_port(), persist=False)
        redis = aioredis.Redis.from_url(server.start(), decode_responses=True)
        try:
            app = create_hook_app(HookConfig(secret=SecretStr(SECRET)), redis)
            async with BackgroundServer(app) as hook:
                url = hook.url
                ingest_result = await ingest(redis, url, deliveries(events[:INGEST_EVENTS], rng, largest=50))
                print("ingest:", json.dumps(ingest_result))
                steady_result = await steady(redis, url, events[INGEST_EVENTS:], rng)
                print("hook -> Slack:", json.dumps(steady_result))
                isolation_result = await isolation(redis, url)
                print("isolation:", json.dumps(isolation_result))
        finally:
            await redis.aclose()
            server.stop()
    results = {
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "ingest": ingest_result,
        "hook_to_slack": steady_result,
        "isolation": isolation_result,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    asyncio.run(main())
