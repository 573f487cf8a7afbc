"""Shared fixtures: a real Redis server, the Okta org simulator over real HTTP, an Okta client.

Nothing here patches project code: every fixture is a real server on loopback.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import redis.asyncio as aioredis
from hypothesis import settings

from bot.redis_client import connect_redis
from bot.redis_server import EmbeddedRedis
from bot.server import BackgroundServer
from bot.settings import load_settings

SIM_API_TOKEN = "00sim-test-api-token"

# Test modules are compiled (and their asserts rewritten) once, not by every xdist worker on every run,
# even where PYTHONDONTWRITEBYTECODE is set: that costs each worker about 4 s of CPU.
sys.dont_write_bytecode = False

# `-m "not slow"` is for quick feedback: it runs in QUICK_WORKERS xdist workers unless -n says otherwise,
# and property tests try a QUICK_SHARE-th of their examples. The whole suite (CI) tries them all.
QUICK_WORKERS = 4
QUICK_SHARE = 4
_quick = False


def _quick_tier(config: pytest.Config) -> bool:
    return "not slow" in (config.option.markexpr or "")


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    # before xdist's own hook, which turns -n into workers; a worker (workerinput) runs its share alone
    if _quick_tier(config) and getattr(config.option, "numprocesses", 0) is None and not hasattr(config, "workerinput"):
        config.option.numprocesses = QUICK_WORKERS
        config.option.dist = "worksteal"  # a worker left with a long test hands its queue to idle ones


def pytest_configure(config: pytest.Config) -> None:
    global _quick
    _quick = _quick_tier(config)
    if _quick:  # for the property tests that leave the number of examples to the profile
        settings.register_profile("quick", max_examples=100 // QUICK_SHARE)
        settings.load_profile("quick")


def examples(count: int) -> int:
    """How many examples a property test tries: `count`, or a quarter of it for quick feedback; the
    whole suite (CI) tries them all."""
    return max(10, count // QUICK_SHARE) if _quick else count


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real redis-server on a free TCP port for the whole session."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), port=free_port(), persist=False)
    yield server.start()
    server.stop()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """The bot's own client (bot/redis_client.py: decode_responses=True, retries, cancellable
    commands) on a flushed database."""
    client = connect_redis(load_settings(redis_url=redis_url))
    await client.redis.flushdb()
    yield client.redis
    await client.aclose()


@pytest.fixture
def okta_org():  # type: ignore[no-untyped-def]
    """A fresh, deterministic demo org (the same users, groups and statuses on every run)."""
    from oktasim import seed_demo_org

    org = seed_demo_org()
    org.add_api_token(SIM_API_TOKEN)
    return org


@pytest.fixture
async def okta_sim(okta_org) -> AsyncIterator[BackgroundServer]:  # type: ignore[no-untyped-def]
    """The simulator serving `okta_org` over HTTP; `okta_sim.url` is the org URL."""
    from oktasim import create_app

    async with BackgroundServer(create_app(okta_org)) as server:
        yield server


@pytest.fixture
async def okta(okta_sim: BackgroundServer):  # type: ignore[no-untyped-def]
    """An Okta client with an API token against the simulator."""
    from oktaclient import OktaClient

    async with OktaClient.from_api_token(okta_sim.url, SIM_API_TOKEN) as client:
        yield client


@pytest.fixture
async def api(okta_sim: BackgroundServer) -> AsyncIterator[httpx.AsyncClient]:
    """A raw HTTP client on the simulator with the test API token, for asserting wire-level behaviour."""
    async with httpx.AsyncClient(base_url=okta_sim.url, headers={"Authorization": f"SSWS {SIM_API_TOKEN}"}) as client:
        yield client


@pytest.fixture
def ws():  # type: ignore[no-untyped-def]
    """A fresh demo Slack workspace (the stand-in's state: users, channels, recorded calls)."""
    from slacksim import demo_workspace

    return demo_workspace()


@pytest.fixture
async def slack(ws) -> AsyncIterator[BackgroundServer]:  # type: ignore[no-untyped-def]
    """The Slack Web API stand-in serving `ws`; response_urls it hands out point at it."""
    from slacksim import create_app

    async with BackgroundServer(create_app(ws)) as server:
        ws.base_url = server.url
        yield server


@pytest.fixture
async def chatops(ws, slack, okta_org, okta, redis):  # type: ignore[no-untyped-def]
    """The whole bot over HTTP, with the Okta simulator, the Slack stand-in and real Redis (tests/chatops_support.py)."""
    from tests.chatops_support import run_chatops

    async for running in run_chatops(ws=ws, slack_url=slack.url, org=okta_org, okta=okta, redis=redis):
        yield running


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many of the bot's messages and views the Slack stand-in checked against Block Kit's limits."""
    from slacksim import CHECKED_PAYLOADS

    if CHECKED_PAYLOADS:
        counts = ", ".join(f"{n} {kind}s" for kind, n in sorted(CHECKED_PAYLOADS.items()))
        terminalreporter.write_line(f"Slack stand-in: Block Kit limits checked on {counts}")
