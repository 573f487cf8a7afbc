"""Lookup reply time with Okta far away: the whole bot behind a delay proxy in front of Okta.

    python bench/bench_lookup.py      # ~1 min; also writes bench/results/lookup.json

The bot (as tests/chatops_support.py assembles it), the Okta simulator, the Slack stand-in and an
embedded Redis, all on loopback. Between the bot and the simulator sits a proxy that holds every
request `delay` before forwarding it (0, 150 and 300 ms: a nearby org, a real distance, a far one)
and notes when each request started and ended. A helpdesk agent runs `/okta lookup` a few times;
each is timed from the signed request to its final reply. The same bot runs twice: with the caller
identity cached (as it ships) and with caching off (identity_ttl=0: the caller resolved every time).

"round trips" is the longest chain of Okta requests of one lookup that ran one after another (each
starting after the previous ended): what the reply has to wait for, whatever ran in parallel.
"""

from __future__ import annotations

import asyncio
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.redis_server import EmbeddedRedis
from bot.server import BackgroundServer
from oktaclient import OktaClient
from oktasim import create_app as create_okta_app
from oktasim import seed_demo_org
from slacksim import create_app as create_slack_app
from slacksim import demo_workspace
from tests.chatops_support import HANA, run_chatops

TOKEN = "bench-okta-token"
DELAYS_MS = (0, 150, 300)
LOOKUPS = 6  # per (delay, caching): the first from a caller the bot has not seen, then the rest
TEXT = "lookup erin.employee@acme.example"
RESULTS = Path(__file__).resolve().parent / "results" / "lookup.json"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class DelayProxy:
    """An ASGI app forwarding every request to `upstream` after `delay` seconds; `spans` are the
    (start, end) times of the requests forwarded, in perf_counter seconds."""

    def __init__(self, upstream: str) -> None:
        self.delay = 0.0
        self.spans: list[tuple[float, float]] = []
        self._client = httpx.AsyncClient(base_url=upstream)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        start = time.perf_counter()
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await asyncio.sleep(self.delay)
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"] if k.lower() not in (b"host", b"content-length")]
        query = scope["query_string"].decode()
        url = scope["path"] + (f"?{query}" if query else "")
        response = await self._client.request(scope["method"], url, headers=headers, content=body)
        out = [(k.encode(), v.encode()) for k, v in response.headers.items() if k.lower() not in ("content-length", "content-encoding", "transfer-encoding")]
        out.append((b"content-length", str(len(response.content)).encode()))
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        await send({"type": "http.response.body", "body": response.content})
        self.spans.append((start, time.perf_counter()))

    async def aclose(self) -> None:
        await self._client.aclose()


def sequential(spans: list[tuple[float, float]]) -> int:
    """The most requests that ran one after another (interval scheduling: earliest end first)."""
    chain, last_end = 0, float("-inf")
    for start, end in sorted(spans, key=lambda span: span[1]):
        if start >= last_end:
            chain, last_end = chain + 1, end
    return chain


async def lookups(redis_url: str, delay_ms: int, identity_ttl: int) -> dict[str, Any]:
    org, ws = seed_demo_org(), demo_workspace()
    org.add_api_token(TOKEN)
    ws.rate_limits.enabled = False
    redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    await redis.flushdb()
    async with BackgroundServer(create_okta_app(org), access_log=False) as okta_server:
        proxy = DelayProxy(okta_server.url)
        async with (
            BackgroundServer(proxy, access_log=False) as proxy_server,
            BackgroundServer(create_slack_app(ws), access_log=False) as slack_server,
            OktaClient.from_api_token(proxy_server.url, TOKEN) as okta,
        ):
            ws.base_url = slack_server.url
            async for chatops in run_chatops(
                ws=ws, slack_url=slack_server.url, org=org, okta=okta, redis=redis, identity_ttl=identity_ttl
            ):
                proxy.delay = delay_ms / 1000
                seconds, requests, rounds = [], [], []
                for _ in range(LOOKUPS):
                    proxy.spans.clear()
                    request = ws.slash_command(HANA, TEXT, channel="helpdesk")
                    started = time.perf_counter()
                    await ws.send(chatops.url, request)
                    await ws.wait_for(
                        lambda c, rid=request.response_id: c.method == "response_url"
                        and c.args.get("response_id") == rid
                        and ":hourglass" not in json.dumps(c.args),
                        timeout=30,
                    )
                    seconds.append(time.perf_counter() - started)
                    await chatops.bot.after_ack.drain(5)  # the handler has finished (its audit record too)
                    requests.append(len(proxy.spans))
                    rounds.append(sequential(list(proxy.spans)))
        await proxy.aclose()
    await redis.aclose()
    return {
        "delay_ms": delay_ms,
        "identity_cache": identity_ttl > 0,
        "first_s": round(seconds[0], 3),
        "repeat_p50_s": round(statistics.median(seconds[1:]), 3),
        "repeat_max_s": round(max(seconds[1:]), 3),
        "okta_requests_first": requests[0],
        "okta_requests_repeat": statistics.median_high(requests[1:]),
        "round_trips_first": rounds[0],
        "round_trips_repeat": statistics.median_high(rounds[1:]),
    }


async def main() -> None:
    with tempfile.TemporaryDirectory() as data:
        redis = EmbeddedRedis(Path(data), persist=False)
        url = redis.start()
        try:
            results = [await lookups(url, delay, ttl) for delay in DELAYS_MS for ttl in (60, 0)]
        finally:
            redis.stop()
    report = {"machine": platform.platform(), "python": platform.python_version(), "lookups": LOOKUPS, "results": results}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    header = f"{'delay':>6} {'cache':>5} {'first s':>8} {'repeat p50 s':>12} {'Okta req':>8} {'round trips':>11}"
    print(header)
    for r in results:
        cache = "on" if r["identity_cache"] else "off"
        print(
            f"{r['delay_ms']:>4}ms {cache:>5} {r['first_s']:>8} {r['repeat_p50_s']:>12} "
            f"{r['okta_requests_repeat']:>8} {r['round_trips_repeat']:>11}"
        )


if __name__ == "__main__":
    asyncio.run(main())
