"""Who is calling, cached briefly: at most 60 s, off with 0, and never across policies (a reload
drops it). Real Redis, the Okta simulator and the Slack stand-in over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from slack_sdk.web.async_client import AsyncWebClient

from actions.identity import MAX_TTL, Identities
from bot.server import BackgroundServer
from oktaclient import OktaClient
from oktasim import OktaOrg
from policy import Policy, load_policy, parse_policy
from slackport import SlackPort
from slacksim import SlackWorkspace
from tests.chatops_support import EXAMPLE_POLICY, HANA

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def port(ws: SlackWorkspace, slack: BackgroundServer) -> AsyncIterator[SlackPort]:
    yield SlackPort(AsyncWebClient(token=ws.bot_token, base_url=f"{slack.url}/api/"), pacing_s=0)


def searches(org: OktaOrg) -> int:
    """Okta user searches so far: resolving a caller starts with one."""
    return sum(1 for r in org.requests if r.path == "/api/v1/users" and "search=" in r.query)


async def test_an_identity_is_reused_within_its_ttl(redis: Redis, okta: OktaClient, okta_org: OktaOrg, port: SlackPort) -> None:
    identities = Identities(redis, okta, port, load_policy(EXAMPLE_POLICY))
    first = await identities.of(HANA)
    again = await identities.of(HANA)
    assert again == first and "helpdesk" in first.roles
    assert searches(okta_org) == 1
    assert 0 < await redis.ttl(next(iter(await redis.keys("okc:identity:*")))) <= MAX_TTL


async def test_fresh_and_a_zero_ttl_resolve_every_time(redis: Redis, okta: OktaClient, okta_org: OktaOrg, port: SlackPort) -> None:
    policy = load_policy(EXAMPLE_POLICY)
    await Identities(redis, okta, port, policy).of(HANA)
    await Identities(redis, okta, port, policy).of(HANA, fresh=True)
    uncached = Identities(redis, okta, port, policy, ttl=0)
    await uncached.of(HANA)
    await uncached.of(HANA)
    assert searches(okta_org) == 4


async def test_another_policy_never_reads_roles_cached_under_the_old_one(
    redis: Redis, okta: OktaClient, okta_org: OktaOrg, port: SlackPort
) -> None:
    before = load_policy(EXAMPLE_POLICY)
    assert "helpdesk" in (await Identities(redis, okta, port, before).of(HANA)).roles
    reloaded = parse_policy(EXAMPLE_POLICY.read_text().replace('okta_groups: ["Helpdesk"]', 'okta_groups: ["Nobody"]'))
    assert reloaded.fingerprint != before.fingerprint

    after = await Identities(redis, okta, port, reloaded).of(HANA)

    assert "helpdesk" not in after.roles
    assert searches(okta_org) == 2


async def test_an_identity_ttl_beyond_a_minute_is_refused(redis: Redis, okta: OktaClient, port: SlackPort) -> None:
    policy: Policy = load_policy(EXAMPLE_POLICY)
    with pytest.raises(ValueError, match="0 to 60"):
        Identities(redis, okta, port, policy, ttl=MAX_TTL + 1)
    with pytest.raises(ValueError):
        Identities(redis, okta, port, policy, ttl=-1)
