"""`okta-chatops alerts dead-letters [--retry ID]`, run as an operator runs it (the CLI's main, in a
thread of its own) against the Redis the workers park refused alerts in."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from alerts.deadletters import DeadLetters, Parcel
from alerts.stream import STREAM_KEY
from bot.cli import main
from bot.redis_server import EmbeddedRedis
from bot.settings import Settings
from tests.alerts_support import AlertsEnv, alerts_env, log_event

Cli = Callable[..., Awaitable[tuple[int, str, str]]]


@pytest.fixture
async def env(redis: aioredis.Redis) -> AsyncIterator[AlertsEnv]:
    async with alerts_env(redis) as alerts:
        yield alerts


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No settings but DATA_DIR (and what a test adds); returns DATA_DIR."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], settled: Path) -> Cli:
    async def run(*argv: str) -> tuple[int, str, str]:
        """`okta-chatops alerts dead-letters ...`: exit code, stdout, stderr."""
        code = await asyncio.to_thread(main, ["alerts", "dead-letters", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


async def _park(env: AlertsEnv, *events: dict[str, object]) -> None:
    """Events Slack refuses: routed to #general, where the bot is not."""
    await env.deliver(*events)
    await env.drain(env.worker(router=lambda _event: "#general", min_idle_ms=0))


async def test_lists_newest_first_and_replays_one(
    env: AlertsEnv, cli: Cli, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    assert await cli() == (0, "No dead letters: Slack has refused no alert for good (or each has been replayed).\n", "")
    first, second = log_event("user.account.lock"), log_event("user.lifecycle.suspend")
    await _park(env, first)
    await _park(env, second)
    newest, older = await DeadLetters(env.redis).newest(2)

    code, out, _ = await cli()
    lines = out.splitlines()
    assert code == 0 and lines[0] == "2 dead letters; the newest 2:"
    assert lines[2].startswith(newest.id) and lines[3].startswith(older.id)
    assert "#general" in lines[2] and "not_in_channel " in lines[2]
    assert f"user.lifecycle.suspend {second['uuid']}" in lines[2]
    assert "--retry ID" in lines[-1]
    code, out, _ = await cli("--limit", "1")
    assert code == 0 and out.splitlines()[0] == "2 dead letters; the newest 1:" and older.id not in out

    code, out, _ = await cli("--retry", older.id)
    assert code == 0 and out.startswith(f"Re-queued {older.id} (user.account.lock {first['uuid']})")
    [(_, fields)] = await env.redis.xrevrange(STREAM_KEY, count=1)
    assert fields == {"uuid": first["uuid"], "event": older.event}
    assert [lt.id for lt in await DeadLetters(env.redis).newest(10)] == [newest.id]
    assert await cli("--retry", older.id) == (
        1, "", f"okta-chatops alerts: no dead letter {older.id} (replayed already?)\n",
    )  # fmt: skip


async def test_what_okta_wrote_is_shown_inert_and_bounded(
    env: AlertsEnv, cli: Cli, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    await _park(env, log_event("user.\x1b[2J\x1b[31mevil" + "x" * 500))
    code, out, _ = await cli()
    assert code == 0 and "\x1b" not in out and "user.?[2J?[31mevil" in out
    assert max(len(line) for line in out.splitlines()) < 250


async def test_bad_arguments_get_a_clear_message(cli: Cli, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    code, _, err = await cli("--retry", "yesterday's")
    assert code == 2 and "--retry takes a dead letter's ID as listed, e.g. 1741000000000-0" in err
    with pytest.raises(SystemExit):
        main(["alerts", "dead-letters", "--limit", "0"])


async def test_without_redis_url_it_reads_the_running_bots_embedded_redis(cli: Cli, settled: Path) -> None:
    code, _, err = await cli()
    assert code == 2 and "REDIS_URL is not set and no bot is running on DATA_DIR=" in err

    embedded = EmbeddedRedis(settled / "redis", persist=False)  # where `serve` starts it
    client = aioredis.Redis.from_url(embedded.start(), decode_responses=True)
    try:
        event = log_event()
        parcel = Parcel("1-0", event["uuid"], json.dumps(event))
        await DeadLetters(client).park("g", [parcel], channel="#general", error="is_archived", plain_error="is_archived")
        code, out, _ = await cli()
        assert code == 0 and "is_archived" in out and event["uuid"] in out
    finally:
        await client.aclose()
        embedded.stop()
