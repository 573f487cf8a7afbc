"""Approval-transition throughput against raw Redis round trips, on one embedded redis-server.

    python bench/bench_approvals.py      # ~10 s; also writes bench/results/approvals.json

Each transition is one EVALSHA that also appends its audit record(s), so the interesting number is
how close a transition gets to a trivial EVALSHA and to PING on the same server, same client.
"""

from __future__ import annotations

import asyncio
import json
import platform
import socket
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from approvals import ApprovalStore
from bot.redis_server import EmbeddedRedis

CONCURRENCY = 64
OPS = 4000  # per measurement: a few thousand keeps the whole run well under 30 s
RESULTS = Path(__file__).parent / "results" / "approvals.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def measure(name: str, op: Callable[[int], Awaitable[Any]], concurrency: int, n: int = OPS) -> dict[str, Any]:
    """Run op(0..n-1) from `concurrency` workers sharing one counter; ops/s and latency percentiles."""
    todo = iter(range(n))
    latencies: list[float] = []

    async def worker() -> None:
        for i in todo:
            start = time.perf_counter()
            await op(i)
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "name": name,
        "concurrency": concurrency,
        "ops": n,
        "seconds": round(elapsed, 3),
        "ops_per_s": round(n / elapsed),
        "p50_ms": round(cuts[49] * 1000, 3),
        "p99_ms": round(cuts[98] * 1000, 3),
    }


async def requests(store: ApprovalStore, n: int) -> list[str]:
    """n fresh single-approval requests, made before (and not counted in) the approve measurement."""
    ids = [""] * n

    async def make(i: int) -> None:
        ids[i] = (await store.create(requester="U1", verb="suspend", target=f"u{i}")).id

    await measure("setup", make, CONCURRENCY, n)
    return ids


async def run(url: str) -> dict[str, Any]:
    client = aioredis.Redis.from_url(url, decode_responses=True, max_connections=CONCURRENCY + 8)
    store = ApprovalStore(client)
    trivial = client.register_script("return 1")

    async def cycle(i: int) -> None:
        req = await store.create(requester="U1", verb="suspend", target=f"cycle{i}")
        res = await store.approve(req.id, "U2")
        assert res.executor is not None
        await store.finish(req.id, True, "done", executor=res.executor)

    results = []
    for concurrency in (1, CONCURRENCY):
        ids = await requests(store, OPS)
        results += [
            await measure("PING", lambda i: client.ping(), concurrency),
            await measure("EVALSHA return 1", lambda i: trivial(), concurrency),
            await measure("approve (claims execution)", lambda i, ids=ids: store.approve(ids[i], "U2"), concurrency),
            await measure("create+approve+finish", cycle, concurrency, n=OPS // 2),
        ]
    info = await client.info("server")
    await client.aclose()
    return {"redis_version": info["redis_version"], "python": platform.python_version(), "results": results}


def report(data: dict[str, Any]) -> None:
    rows = data["results"]
    print(f"redis {data['redis_version']}, python {data['python']}, loopback TCP, one client")
    print(f"{'operation':<28}{'conc':>5}{'ops/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'vs PING':>9}{'vs EVALSHA':>11}")
    for row in rows:
        same = {r["name"]: r["ops_per_s"] for r in rows if r["concurrency"] == row["concurrency"]}
        row["vs_ping"] = round(row["ops_per_s"] / same["PING"], 3)
        row["vs_evalsha"] = round(row["ops_per_s"] / same["EVALSHA return 1"], 3)
        print(
            f"{row['name']:<28}{row['concurrency']:>5}{row['ops_per_s']:>10}{row['p50_ms']:>9}"
            f"{row['p99_ms']:>9}{row['vs_ping']:>9}{row['vs_evalsha']:>11}"
        )
    print("(create+approve+finish is 3 transitions and 4 audit records per op)")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(tmp, port=free_port(), persist=False) as server:
        data = asyncio.run(run(server.url))
    report(data)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
