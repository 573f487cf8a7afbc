"""`okta-chatops audit export`: the trail as JSON lines or CSV (run as an operator runs it, the CLI's main
in a thread of its own), and the continuous export to a Splunk HEC-compatible endpoint, here a local
HTTP server that accepts, then refuses one batch, then accepts again: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from audit import AuditEntry, AuditLog, AuditRecord
from bot.audit_cli import CURSOR_PREFIX, FileSink, Follower, HecSink
from bot.cli import main
from bot.server import BackgroundServer
from bot.settings import Settings

pytestmark = pytest.mark.asyncio

Cli = Callable[..., Awaitable[tuple[int, str, str]]]
TOKEN = "hec-token-for-tests-0123"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, redis_url: str) -> Cli:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("REDIS_URL", redis_url)

    async def run(*argv: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(main, ["audit", "export", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _record(n: int, detail: str = "") -> AuditRecord:
    return AuditRecord(at=datetime.now(UTC), actor="U0HANA00001", verb="unlock", target=f"user{n}@acme.example",
                       outcome="succeeded", detail=detail, source="command")


async def _append(redis: aioredis.Redis, *records: AuditRecord) -> list[str]:
    log = AuditLog(redis)
    return [await log.append(r) for r in records]


async def test_exports_every_record_since_then_as_json_lines_and_csv(redis: aioredis.Redis, cli: Cli) -> None:
    await redis.flushdb()
    ids = await _append(redis, _record(1), _record(2, "=HYPERLINK(\"http://x\")"), _record(3))

    code, out, err = await cli("--since", "1h")

    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["id"] for line in lines] == ids and {line["schema"] for line in lines} == {1}
    assert lines[0] | {"at": None} == {
        "schema": 1, "id": ids[0], "at": None, "actor": "U0HANA00001", "actor_email": None, "verb": "unlock",
        "target": "user1@acme.example", "outcome": "succeeded", "detail": "", "okta_request_id": None,
        "approval_id": None, "source": "command",
    }
    code, out, _ = await cli("--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["id"] for r in rows] == ids and rows[1]["schema"] == "1"
    assert rows[1]["detail"] == "'=HYPERLINK(\"http://x\")"  # never a formula in a spreadsheet


async def test_refuses_options_that_do_not_go_together(cli: Cli) -> None:
    assert (await cli("--follow", "--format", "csv"))[0] == 2
    code, _, err = await cli("--out", "x.jsonl")
    assert code == 2 and "go with --follow" in err
    code, _, err = await cli("--follow", "--hec")
    assert code == 2 and "AUDIT_HEC_URL and AUDIT_HEC_TOKEN" in err
    with pytest.raises(SystemExit) as bad_span:  # argparse's own refusal, with the usage line
        main(["audit", "export", "--since", "7 days"])
    assert bad_span.value.code == 2


class Hec:
    """A stand-in HEC endpoint: keeps what it accepts; refuses the next `fail` POSTs with a 503."""

    def __init__(self) -> None:
        self.accepted: list[dict[str, Any]] = []
        self.auth: set[str] = set()
        self.refused = 0
        self.fail = 0

    async def collect(self, request: Request) -> JSONResponse:
        self.auth.add(request.headers.get("authorization", ""))
        if self.fail:
            self.fail -= 1
            self.refused += 1
            return JSONResponse({"text": "Server is busy", "code": 9}, status_code=503)
        body = (await request.body()).decode()
        self.accepted += [json.loads(line) for line in body.splitlines()]
        return JSONResponse({"text": "Success", "code": 0})


async def test_follow_posts_to_hec_and_resumes_after_a_refusal_without_loss_or_duplicates(redis: aioredis.Redis) -> None:
    await redis.flushdb()
    hec = Hec()
    app = Starlette(routes=[Route("/services/collector/event", hec.collect, methods=["POST"])])
    never = asyncio.Event()
    start = datetime.now(UTC) - timedelta(hours=1)
    async with BackgroundServer(app) as server, httpx.AsyncClient() as http:
        sink = HecSink(http, f"{server.url}/services/collector/event", TOKEN)
        first = await _append(redis, *(_record(n) for n in range(3)))
        assert await Follower(redis, sink, "hec", start, retry=0).send_pending(never) == 3

        hec.fail = 1  # the next batch is refused once, then accepted
        second = await _append(redis, *(_record(n) for n in range(3, 5)))
        assert await Follower(redis, sink, "hec", start, retry=0).send_pending(never) == 2

        assert await Follower(redis, sink, "hec", start, retry=0).send_pending(never) == 0  # a restart: nothing again

    assert hec.refused == 1 and hec.auth == {f"Splunk {TOKEN}"}
    assert [e["event"]["id"] for e in hec.accepted] == first + second  # in order, each once
    assert {e["sourcetype"] for e in hec.accepted} == {"okta-chatops:audit"}
    assert all(e["event"]["schema"] == 1 and isinstance(e["time"], float) for e in hec.accepted)
    assert await redis.get(CURSOR_PREFIX + "hec") == second[-1]


async def test_follow_to_a_file_appends_json_lines_and_stops_when_asked(redis: aioredis.Redis, tmp_path: Path) -> None:
    await redis.flushdb()
    ids = await _append(redis, _record(1), _record(2))
    out = tmp_path / "audit.jsonl"
    stop, last = asyncio.Event(), asyncio.get_running_loop().create_future()
    with out.open("a", encoding="utf-8") as handle:
        to_file = FileSink(handle)

        async def sink(entries: Sequence[AuditEntry]) -> None:
            await to_file(entries)
            if last.done() and entries[-1].id == last.result():
                stop.set()  # the record appended while it followed is written: enough

        task = asyncio.create_task(Follower(redis, sink, "file", datetime.now(UTC) - timedelta(hours=1), poll=0.01).run(stop))
        last.set_result((await _append(redis, _record(3)))[0])
        await asyncio.wait_for(task, 10)
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [*ids, last.result()]
    assert await redis.get(CURSOR_PREFIX + "file") == last.result()
