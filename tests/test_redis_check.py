"""`okta-chatops check` on the Redis settings: the primary found through Sentinel, and a
REDIS_WAIT_REPLICAS that the primary's replicas cannot meet refused."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.check import run
from tests.redis_sentinel_support import MASTER_NAME, sentinel_deployment


@pytest.mark.slow
async def test_check_finds_the_primary_through_the_sentinels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with sentinel_deployment(tmp_path) as deployment:
        monkeypatch.setenv("REDIS_SENTINELS", deployment.sentinels_setting)
        monkeypatch.setenv("REDIS_SENTINEL_MASTER", MASTER_NAME)
        await run(argparse.Namespace(policy=None))
    [line] = [line for line in capsys.readouterr().out.splitlines() if " redis: " in line]
    assert line.startswith("✓ redis: Redis 6.2")
    assert line.endswith(f"at Sentinel master {MASTER_NAME!r} via 1 sentinel(s), primary with 1 replica(s)")


async def test_check_refuses_replica_acks_that_cannot_come(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)  # the session's server: no replica
    monkeypatch.setenv("REDIS_WAIT_REPLICAS", "1")
    assert await run(argparse.Namespace(policy=None)) == 1
    [line] = [line for line in capsys.readouterr().out.splitlines() if " redis: " in line]
    assert line.startswith("✗ redis:") and line.endswith("each write needs 1 replica(s) to acknowledge it (REDIS_WAIT_REPLICAS), the primary has 0")
