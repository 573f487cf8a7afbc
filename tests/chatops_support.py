"""The whole bot, assembled as `serve` assembles it, around stand-ins on loopback: the Okta
simulator, the Slack Web API stand-in and a real Redis. Tests talk to it only over HTTP, as Slack does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from slack_sdk.web.async_client import AsyncWebClient

from access import Clock
from actions.push_check import DEFAULT_TIMING, PushTiming
from approvals.store import LEASE_S
from bot.assembly import Bot, assemble
from bot.server import BackgroundServer
from bot.web import SLACK_EVENTS_PATH, create_web_app
from oktaclient import OktaClient
from oktasim import OktaOrg
from policy import Policy, load_policy
from slacksim import Message, SlackWorkspace

EXAMPLE_POLICY = Path(__file__).resolve().parents[1] / "policy" / "example.yaml"
HOOK_SECRET = "hook-secret-for-tests-0123456789"

HANA, ARJUN, BEATRIZ, SAM, ERIN = "U0HANA00001", "U0ARJUN0001", "U0BEATRIZ01", "U0SAM000001", "U0ERIN00001"
LEE, OSCAR, GARY, GINA, JIRA, NOBODY = "U0LEE000001", "U0OSCAR0001", "U0GARY00001", "U0GINA00001", "U0JIRABOT01", "U0NOBODY001"


@dataclass
class ChatOps:
    """A running bot: `url` is its /slack/events, `ws` the Slack side, `org` the Okta side."""

    bot: Bot
    server: BackgroundServer
    ws: SlackWorkspace
    org: OktaOrg
    redis: Redis

    @property
    def url(self) -> str:
        return self.server.url + SLACK_EVENTS_PATH

    async def command(self, user_id: str, text: str, channel: str = "helpdesk") -> Any:
        return await self.ws.send(self.url, self.ws.slash_command(user_id, text, channel=channel))

    async def click(self, user_id: str, action_id: str, message: Message, value: str | None = None) -> Any:
        return await self.ws.send(self.url, self.ws.block_action(user_id, action_id, value, message=message))

    async def reply_to(self, user_id: str, predicate: Callable[[Message], bool] = lambda m: True) -> Message:
        """The ephemeral answer shown to `user_id` once it is final (no longer "working on it")."""
        return await self.ws.wait_for_message(
            lambda m: m.ephemeral_to == user_id and ":hourglass_flowing_sand:" not in m.text and predicate(m)
        )


async def run_chatops(
    *,
    ws: SlackWorkspace,
    slack_url: str,
    org: OktaOrg,
    okta: OktaClient,
    redis: Redis,
    policy: Policy | None = None,
    identity_ttl: int = 60,
    push_timing: PushTiming = DEFAULT_TIMING,
    clock: Clock | None = None,
    approval_lease_s: float = LEASE_S,
    slack_pacing_s: float = 1.0,
) -> AsyncIterator[ChatOps]:
    client = AsyncWebClient(token=ws.bot_token, base_url=f"{slack_url}/api/")
    bot = assemble(
        redis=redis,
        okta=okta,
        slack=client,
        policy=policy or load_policy(EXAMPLE_POLICY),
        signing_secret=ws.signing_secret,
        org_url=okta.org_url,
        identity_ttl=identity_ttl,
        push_timing=push_timing,
        clock=clock,
        approval_lease_s=approval_lease_s,
        slack_pacing_s=slack_pacing_s,
    )
    app = create_web_app(redis=redis, bolt=bot.bolt, hook_secret=HOOK_SECRET, signing_secret=ws.signing_secret)
    async with BackgroundServer(app) as server:
        yield ChatOps(bot=bot, server=server, ws=ws, org=org, redis=redis)
    await bot.after_ack.drain(5.0)  # as the process does on stopping: nothing acked is left unrun
