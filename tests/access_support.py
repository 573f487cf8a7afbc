"""What the time-bound access tests share: a clock moved by hand, `Grants` wired to the stand-ins
(the Okta simulator and the Slack stand-in over HTTP, a real Redis), as the bot wires them, and the
whole bot on that clock (the fixtures `clock` and `bot`, imported by the tests that use them)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import redis.asyncio as aioredis
from slack_sdk.web.async_client import AsyncWebClient

from access import Grants, GrantStore
from audit import AuditLog, Recorder
from oktaclient import OktaClient
from oktasim import OktaOrg
from policy import Policy, load_policy
from slackport import SlackPort
from slacksim import Message, SlackWorkspace
from tests.chatops_support import EXAMPLE_POLICY, ChatOps, run_chatops

START = 1_750_000_000.0  # a fixed epoch second: ends and reminders are exact
ERIN_LOGIN = "erin.employee@acme.example"


@dataclass
class ManualClock:
    """Time moves only when a test says so."""

    at: float = START

    def now(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds


def grants_on(
    redis: aioredis.Redis, okta: OktaClient, ws: SlackWorkspace, clock: ManualClock, policy: Policy | None = None
) -> Grants:
    """One replica's `Grants`: its own Slack port and recorder, on the shared Redis, Okta and Slack."""
    policy = policy or load_policy(EXAMPLE_POLICY)
    port = SlackPort(AsyncWebClient(token=ws.bot_token, base_url=f"{ws.base_url}/api/"), pacing_s=0)
    recorder = Recorder(AuditLog(redis), port, policy.audit.channel if policy.audit else None)
    return Grants(GrantStore(redis, recorder), okta, port, policy, clock)


def removals(org: OktaOrg, group_id: str | None = None) -> int:
    """DELETE membership calls the simulator served (for one group, or all)."""
    return sum(
        1
        for r in org.requests
        if r.method == "DELETE" and "/groups/" in r.path and "/users/" in r.path and (group_id is None or group_id in r.path)
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def bot(ws, slack, okta_org, okta, redis, clock) -> AsyncIterator[ChatOps]:  # type: ignore[no-untyped-def]
    """The whole bot on `clock`: its access service is not running, tests call its tick."""
    ws.rate_limits.enabled = False  # DMs, channel lines and updates in quick succession; pacing is not under test
    async for running in run_chatops(
        ws=ws, slack_url=slack.url, org=okta_org, okta=okta, redis=redis, clock=clock, slack_pacing_s=0
    ):
        yield running


def member(bot: ChatOps, group: str, login: str = ERIN_LOGIN) -> bool:
    return bot.org.get_user(login).id in bot.org.get_group(group).member_ids


async def dm(bot: ChatOps, user: str, text: str) -> Message:
    """The first DM from the bot to `user` containing `text`, now or once sent."""
    channel = bot.ws.dm_channel_id(user)
    return await bot.ws.wait_for_message(lambda m: m.channel == channel and text in m.text)
