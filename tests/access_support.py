"""What the time-bound access tests share: a clock moved by hand, and `Grants` wired to the stand-ins
(the Okta simulator and the Slack stand-in over HTTP, a real Redis), as the bot wires them."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from slack_sdk.web.async_client import AsyncWebClient

from access import Grants, GrantStore
from audit import AuditLog, Recorder
from oktaclient import OktaClient
from oktasim import OktaOrg
from policy import Policy, load_policy
from slackport import SlackPort
from slacksim import SlackWorkspace
from tests.chatops_support import EXAMPLE_POLICY

START = 1_750_000_000.0  # a fixed epoch second: ends and reminders are exact


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
