"""The "Was this you?" scene: the whole bot (tests/chatops_support.py) with the Okta simulator's event
hook registered at its receiver, a clock the test moves, and helpers to wait for the question, the
incident and the clicks."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from bot.metrics import REGISTRY, count_was_this_you
from confirm import EVENT_TYPES, WasThisYouFlow, WasThisYouService
from oktaclient import OktaClient
from oktaclient.event_types import ELIGIBLE_EVENT_TYPES
from oktasim import OktaOrg
from policy import Policy
from slackport import SlackPort
from slacksim import Message
from tests.chatops_support import ERIN, HOOK_SECRET, ChatOps
from tests.helpdesk_support import audited, buttons, mrkdwn

ERIN_LOGIN = "erin.employee@acme.example"
ALERTS_CHANNEL = "C0SECALERT1"


class Clock:
    """Wall time plus an offset the test moves: deadlines fire without sleeping."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class Scene:
    chatops: ChatOps
    clock: Clock
    okta: OktaClient

    @property
    def org(self) -> OktaOrg:
        return self.chatops.org

    def flow(
        self, policy: Policy | None = None, slack: SlackPort | None = None, okta: OktaClient | None = None
    ) -> WasThisYouFlow:
        """A flow as a replica builds it (the bot's own answers the clicks), on the test's clock."""
        bot = self.chatops.bot
        assert bot.handlers.was_this_you is not None
        return WasThisYouFlow(
            self.chatops.redis, okta or self.okta, slack or bot.slack, policy or bot.services.policy,
            bot.services.identities, bot.services.recorder, org_url=self.okta.org_url, clock=self.clock,
        )  # fmt: skip

    @asynccontextmanager
    async def replica(self, name: str = "r1", flow: WasThisYouFlow | None = None) -> AsyncIterator[WasThisYouFlow]:
        """A replica's consumer and sweeper (the sweeper left to the test: `flow.sweep_once()`)."""
        flow = flow or self.flow()
        async with WasThisYouService(self.chatops.redis, flow, consumer_name=name, sweep_interval_s=3600):
            yield flow

    def report(self, login: str = ERIN_LOGIN) -> dict[str, Any]:
        """The employee's own report of suspicious activity to Okta: straight to containment."""
        user = self.org.get_user(login)
        return self.org.record_event("user.account.report_suspicious_activity_by_enduser", actor=user, targets=[user])

    async def reported(self) -> Message:
        """Erin reports suspicious activity to Okta; the incident once posted."""
        self.report()
        return await self.incident(lambda m: "reported suspicious activity" in mrkdwn(m))

    async def question(self, user_id: str = ERIN, login: str = ERIN_LOGIN) -> Message:
        """The question in the employee's DM, once asked (the question's deadline set: audited after)."""
        dm = await self.chatops.ws.wait_for_message(
            lambda m: m.channel == self.chatops.ws.dm_channel_id(user_id) and "Was this you?" in m.text, timeout=10
        )
        await audited(self.chatops, verb="was-this-you", outcome="asked", target=login)
        return dm

    async def incident(self, predicate: Any = lambda m: True) -> Message:
        def about(m: Message) -> bool:
            return m.channel == ALERTS_CHANNEL and "wty:resolve" in buttons(m) and predicate(m)

        return await self.chatops.ws.wait_for_message(about, timeout=10)

    async def click(self, user_id: str, action_id: str, message: Message) -> None:
        response = await self.chatops.click(user_id, action_id, message)
        assert response.status_code == 200

    def session_clears(self, user_id: str) -> int:
        return sum(
            1 for r in self.org.requests if r.method == "DELETE" and r.path == f"/api/v1/users/{user_id}/sessions"
        )


@pytest.fixture
async def scene(chatops: ChatOps, okta: OktaClient) -> AsyncIterator[Scene]:
    chatops.ws.rate_limits.enabled = False  # the bot paces itself; the limits have their own tests
    url = f"{chatops.server.url}/okta/hooks"
    types = sorted(set(EVENT_TYPES) & ELIGIBLE_EVENT_TYPES)
    hook = await okta.create_event_hook("chatops", url, types, secret=HOOK_SECRET)
    assert hook.id is not None and (await okta.verify_event_hook(hook.id)).verificationStatus == "VERIFIED"
    undo = count_was_this_you()
    yield Scene(chatops, Clock(), okta)
    undo()


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def factor_enrolled(org: OktaOrg, login: str = ERIN_LOGIN, severity: str = "INFO") -> dict[str, Any]:
    user = org.get_user(login)
    return org.record_event(
        "user.mfa.factor.activate", actor=user, targets=[user], severity=severity, message="Activate factor for user",
        ip="203.0.113.99",
    )  # fmt: skip


def as_user(user_id: str) -> Any:
    """For `reforged`: the click as if `user_id` had made it."""

    def change(payload: dict[str, Any]) -> None:
        payload["user"]["id"] = user_id

    return change
