"""How fast Slack gets its acknowledgement: our assembled bot against a bare Bolt app that only acks.

    python bench/bench_ack.py      # ~1 min; also writes bench/results/ack.json

Each round fires 200 signed slash commands (`/okta lookup erin.employee@acme.example` from hana,
a helpdesk agent, so every one does the whole lookup after its ack) at once, each on its own
connection as Slack makes them, and times each from opening the connection to the last byte of
its HTTP answer. Rounds alternate between the two apps, both served by bot.server.BackgroundServer
in this process, signed alike. After a round on our bot the next starts only once every command
has its final reply (each checked to be the user card), so that no Okta work leaks into the next
measurement.

Two phases of rounds: the process as it starts, then after gc.freeze() (start-up's objects leave
the garbage collector's view). Full collections scan every tracked object and stop the event loop
while they do; with the bot's work allocating beside the acks they come often enough to show in
the tail of ack latency (gc.disable() during a run removed the gap between the apps).

Three processes, so that only the apps under test share their event loop: this one (the apps and
the bot's Redis), the outside world (the Okta simulator and the Slack stand-in, which sign the
requests and take the replies) and the load generator (raw sockets: an HTTP client library would
spend more CPU per request than the apps do, and that time would be counted as theirs).

Target (issue 3): our p99 within 1.5x of the bare app's, and under 100 ms.
"""

from __future__ import annotations

import asyncio
import gc
import json
import multiprocessing
import platform
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from bench_hooks import free_port, percentiles
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.assembly import assemble
from bot.redis_server import EmbeddedRedis
from bot.server import BackgroundServer
from bot.web import SLACK_EVENTS_PATH, create_web_app
from oktaclient import OktaClient
from policy import load_policy

RESULTS = Path(__file__).parent / "results" / "ack.json"
POLICY = Path(__file__).resolve().parents[1] / "policy" / "example.yaml"
OKTA_TOKEN = "00bench-api-token"
COMMAND = "lookup erin.employee@acme.example"
CALLER = "U0HANA00001"
CONCURRENCY = 200
ROUNDS = 10  # per app and phase, after a warm-up round
PHASES = ("as served", "frozen")
TARGET_RATIO, TARGET_P99_MS = 1.5, 100.0


# --- the outside world (a child process): Okta and Slack --------------------------------------------


def outside_world(conn: Connection) -> None:
    """Serve Okta and Slack; on request, sign a round of slash commands, or await their final replies."""
    asyncio.run(_outside_world(conn))


async def _outside_world(conn: Connection) -> None:
    from oktasim import create_app as create_okta_app
    from oktasim import seed_demo_org
    from slacksim import create_app as create_slack_app
    from slacksim import demo_workspace

    org = seed_demo_org()
    org.add_api_token(OKTA_TOKEN)
    ws = demo_workspace()
    async with BackgroundServer(create_okta_app(org)) as okta, BackgroundServer(create_slack_app(ws)) as slack:
        ws.base_url = slack.url
        conn.send({"okta": okta.url, "slack": slack.url, "bot_token": ws.bot_token, "secret": ws.signing_secret})
        while (order := await asyncio.to_thread(conn.recv)) is not None:
            if order[0] == "sign":
                requests = [ws.slash_command(CALLER, COMMAND) for _ in range(CONCURRENCY)]
                conn.send([(r.response_id, r.headers, r.body) for r in requests])
            else:  # "await": each command's result posted to its response_url; how many were cards
                replies = [await _result(ws, rid) for rid in order[1]]
                conn.send(sum("Erin Employee" in reply for reply in replies))


async def _result(ws: Any, response_id: str) -> str:
    posted = await ws.wait_for(lambda c: c.method == "response_url" and c.args.get("response_id") == response_id, 30)
    return str(posted.args.get("text", ""))


async def _ask(conn: Connection, order: Any) -> Any:
    conn.send(order)
    return await asyncio.to_thread(conn.recv)


# --- the load generator (a child process) -----------------------------------------------------------


def fire(url: str, requests: list[tuple[dict[str, str], str]]) -> list[float]:
    """Send every request at once, each on a new connection; milliseconds until each answer is in."""
    host, port, path = _split(url)
    wires = [_wire(host, port, path, headers, body.encode()) for headers, body in requests]
    return asyncio.run(_fire(host, port, wires))


async def _fire(host: str, port: int, wires: list[bytes]) -> list[float]:
    async def post(wire: bytes) -> float:
        started = time.perf_counter()
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(wire)
        answer = await reader.read()  # Connection: close, so the answer ends at EOF
        elapsed = (time.perf_counter() - started) * 1000
        writer.close()
        if not answer.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"not acknowledged: {answer[:300]!r}")
        return elapsed

    return list(await asyncio.gather(*(post(w) for w in wires)))


def _split(url: str) -> tuple[str, int, str]:
    hostport, _, path = url.removeprefix("http://").partition("/")
    host, _, port = hostport.rpartition(":")
    return host, int(port), "/" + path


def _wire(host: str, port: int, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()] + [f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode() + body


# --- the apps under test (this process) -------------------------------------------------------------


def bare_app(client: AsyncWebClient, secret: str) -> Starlette:
    """Bolt with its defaults and one listener that only acks, behind the same Starlette adapter."""
    bolt = AsyncApp(client=client, signing_secret=secret)

    @bolt.command("/okta")
    async def on_command(ack: AsyncAck) -> None:
        await ack()

    handler = AsyncSlackRequestHandler(bolt)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    return Starlette(routes=[Route(SLACK_EVENTS_PATH, events, methods=["POST"])])


async def measure(world: Connection, load: ProcessPoolExecutor) -> dict[str, dict[str, list[float]]]:
    """Latencies per phase and app. Phase "as served": the process as it starts; phase "frozen": after
    gc.freeze(), which takes every object alive then out of the garbage collector's full collections."""
    parts = await asyncio.to_thread(world.recv)
    samples: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as data:
        redis_server = EmbeddedRedis(data, port=free_port(), persist=False)
        redis = aioredis.Redis.from_url(redis_server.start(), decode_responses=True)
        try:
            async with OktaClient.from_api_token(parts["okta"], OKTA_TOKEN) as okta:

                def slack() -> AsyncWebClient:
                    return AsyncWebClient(token=parts["bot_token"], base_url=f"{parts['slack']}/api/")

                bot = assemble(
                    redis=redis,
                    okta=okta,
                    slack=slack(),
                    policy=load_policy(POLICY),
                    signing_secret=parts["secret"],
                    org_url=parts["okta"],
                )
                ours = create_web_app(redis=redis, bolt=bot.bolt, hook_secret="bench-hook-secret")
                async with (
                    BackgroundServer(ours) as ours_server,
                    BackgroundServer(bare_app(slack(), parts["secret"])) as bare,
                ):
                    urls = {"bare": bare.url + SLACK_EVENTS_PATH, "ours": ours_server.url + SLACK_EVENTS_PATH}
                    for phase in PHASES:
                        if phase == "frozen":
                            gc.collect()
                            gc.freeze()
                        samples[phase] = {name: [] for name in urls}
                        for round_no in range(ROUNDS + 1):  # round 0 warms up (auth.test, caches, pools)
                            for name, url in urls.items():
                                latencies = await _round(world, load, url, replies=name == "ours")
                                if round_no:
                                    samples[phase][name] += latencies
        finally:
            await redis.aclose()
            redis_server.stop()
    return samples


async def _round(world: Connection, load: ProcessPoolExecutor, url: str, *, replies: bool) -> list[float]:
    signed = await _ask(world, ("sign",))
    latencies = await asyncio.wrap_future(load.submit(fire, url, [(headers, body) for _, headers, body in signed]))
    if replies:
        cards = await _ask(world, ("await", [rid for rid, _, _ in signed]))
        assert cards == CONCURRENCY, f"only {cards} of {CONCURRENCY} lookups were answered with a card"
    return latencies


def report(samples: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    print(f"ack latency, {CONCURRENCY} concurrent signed slash commands, {ROUNDS} rounds per app and phase, ms")
    print(f"{'phase':<10}{'app':<6}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}{'p99 ours/bare':>15}")
    phases: dict[str, Any] = {}
    for phase, apps in samples.items():
        bare, ours = percentiles(apps["bare"]), percentiles(apps["ours"])
        ratio = round(ours["p99"] / bare["p99"], 2)
        for name, row in (("bare", bare), ("ours", ours)):
            shown = f"{ratio:>15}" if name == "ours" else ""
            print(f"{phase:<10}{name:<6}{row['p50']:>8}{row['p95']:>8}{row['p99']:>8}{row['max']:>8}{shown}")
        met = ratio <= TARGET_RATIO and ours["p99"] < TARGET_P99_MS
        phases[phase] = {"bare_ms": bare, "ours_ms": ours, "p99_ratio": ratio, "target_met": met}
    print(f"target: ours p99 <= {TARGET_RATIO} x bare and < {TARGET_P99_MS:g} ms")
    for phase, result in phases.items():
        verdict = "met" if result["target_met"] else "MISSED"
        print(f"  {phase}: ratio {result['p99_ratio']}, p99 {result['ours_ms']['p99']} ms: {verdict}")
    return {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": multiprocessing.cpu_count(),
        },
        "command": f"/okta {COMMAND}",
        "concurrency": CONCURRENCY,
        "rounds": ROUNDS,
        "phases": phases,
    }


def main() -> None:
    context = multiprocessing.get_context("spawn")
    ours_end, world_end = context.Pipe()
    world = context.Process(target=outside_world, args=(world_end,), daemon=True)
    world.start()
    try:
        with ProcessPoolExecutor(1, mp_context=context) as load:
            load.submit(time.sleep, 0).result()  # the load generator is up before the first round
            samples = asyncio.run(measure(ours_end, load))
        ours_end.send(None)
    finally:
        world.join(timeout=10)
    results = report(samples)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
