"""The helpdesk end to end with a bot assembled differently: other policies, and an Okta client that
gives up at Okta's first 429 (waiting out a rate-limit window is the client's business, tested with
it: here it is what the person is told once it has given up)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager as AsyncContextManager
from contextlib import asynccontextmanager

import pytest
from redis.asyncio import Redis

from bot.server import BackgroundServer
from oktaclient import OktaClient
from oktasim import OktaOrg
from policy import Policy, Verb, load_policy
from slacksim import SlackWorkspace
from tests.chatops_support import EXAMPLE_POLICY, HANA, SAM, ChatOps, run_chatops
from tests.conftest import SIM_API_TOKEN
from tests.helpdesk_support import ask

ERIN_LOGIN, LEE_LOGIN = "erin.employee@acme.example", "lee.locked@acme.example"
CustomPolicy = Callable[[Policy], AsyncContextManager[ChatOps]]


@pytest.fixture
async def custom_policy(
    ws: SlackWorkspace, slack: BackgroundServer, okta_org: OktaOrg, okta: OktaClient, redis: Redis
) -> AsyncIterator[CustomPolicy]:
    """`async with custom_policy(policy) as chatops:` the bot running `policy` instead of the example."""

    @asynccontextmanager
    async def running(policy: Policy) -> AsyncIterator[ChatOps]:
        async for chatops in run_chatops(
            ws=ws, slack_url=slack.url, org=okta_org, okta=okta, redis=redis, policy=policy
        ):
            yield chatops

    yield running


@pytest.fixture
async def impatient(
    ws: SlackWorkspace, slack: BackgroundServer, okta_org: OktaOrg, okta_sim: BackgroundServer, redis: Redis
) -> AsyncIterator[ChatOps]:
    async with OktaClient.from_api_token(okta_sim.url, SIM_API_TOKEN, max_retries=0) as okta:
        async for chatops in run_chatops(ws=ws, slack_url=slack.url, org=okta_org, okta=okta, redis=redis):
            yield chatops


async def test_a_verb_the_policy_does_not_list_is_refused_to_everyone(custom_policy: CustomPolicy) -> None:
    example = load_policy(EXAMPLE_POLICY)
    verbs = {verb: rule for verb, rule in example.verbs.items() if verb != Verb.EXPIRE_PASSWORD}

    async with custom_policy(example.model_copy(update={"verbs": verbs})) as bot:
        answer = await ask(bot, SAM, f"expire-password {ERIN_LOGIN}")
        card = await ask(bot, SAM, f"lookup {ERIN_LOGIN}")

    assert answer.text == ":no_entry: Nobody may run `expire-password` from Slack: the policy does not allow it."
    assert bot.org.get_user(ERIN_LOGIN).status == "ACTIVE"
    assert "okta:expire-password" not in str(card.blocks)


async def test_a_role_granted_to_a_slack_user_group(custom_policy: CustomPolicy) -> None:
    example = load_policy(EXAMPLE_POLICY)
    helpdesk = example.roles["helpdesk"].model_copy(update={"slack_usergroups": ("S0SECURITY1",)})  # @security-team

    async with custom_policy(example.model_copy(update={"roles": {**example.roles, "helpdesk": helpdesk}})) as bot:
        answer = await ask(bot, SAM, f"unlock {LEE_LOGIN}")

    assert answer.text == ":white_check_mark: Lee Locked (lee.locked@acme.example): unlocked."


async def test_okta_rate_limit_is_explained(impatient: ChatOps) -> None:
    impatient.org.inject_failure("POST", "/api/v1/users/", status=429)  # lifecycle calls share /api/v1 with reads

    answer = await ask(impatient, HANA, f"unlock {LEE_LOGIN}")

    assert answer.text.startswith(
        ":x: Unlocking Lee Locked (lee.locked@acme.example) failed. "
        "Okta's rate limit is exhausted even after waiting; try again in a minute."
    )
    assert impatient.org.get_user(LEE_LOGIN).status == "LOCKED_OUT"
