"""Wire the handlers to their services: one place that knows every concrete class.

`assemble` takes the outside parties as ready clients (Redis, Okta, Slack), so the sandbox, the
production server and the tests build the very same bot around real or stand-in servers.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from access import BreakGlassGrants, Clock, Grants, GrantStore
from actions.bulk import BatchStore
from actions.identity import Identities
from actions.push_check import DEFAULT_TIMING, PushTiming
from actions.verifications import Verifications
from approvals import ApprovalFlow, ApprovalStore
from approvals.store import LEASE_S
from audit import AuditLog, Recorder
from bot.after_ack import AfterAck
from bot.metrics import PrometheusObserver
from bot.slack_app import Handlers, build_bolt_app
from commands.break_glass import BreakGlassCommand
from commands.context import Services
from commands.helpdesk import Helpdesk
from commands.self_service import SelfService
from commands.targets import Resolver
from commands.timed_access import TimedAccess
from commands.verify import Verifier
from confirm import WasThisYouFlow
from oktaclient import OktaClient
from policy import Policy
from slackport import SlackPort


@dataclass(frozen=True)
class Bot:
    bolt: AsyncApp
    slack: SlackPort  # the one way to Slack: pacing, Retry-After, people before channels
    services: Services
    handlers: Handlers
    after_ack: AfterAck  # the handlers' tasks, which a stopping server lets finish


def assemble(
    *,
    redis: Redis,
    okta: OktaClient,
    slack: AsyncWebClient,
    policy: Policy,
    signing_secret: str,
    org_url: str,
    identity_ttl: int = 60,
    slack_pacing_s: float = 1.0,
    push_timing: PushTiming = DEFAULT_TIMING,
    clock: Clock | None = None,  # time-bound access's (tests move it by hand)
    approval_lease_s: float = LEASE_S,
) -> Bot:
    port = SlackPort(slack, pacing_s=slack_pacing_s)
    recorder = Recorder(AuditLog(redis), port, policy.audit.channel if policy.audit else None, PrometheusObserver())
    identities = Identities(redis, okta, port, policy, ttl=identity_ttl)
    services = Services(
        okta=okta,
        slack=port,
        policy=policy,
        identities=identities,
        resolver=Resolver(okta, port, policy.self_service.email_attribute),
        recorder=recorder,
        org_url=org_url,
    )
    grants = Grants(GrantStore(redis, recorder), okta, port, policy, clock)
    approvals = ApprovalFlow(
        ApprovalStore(redis, recorder, lease=approval_lease_s), okta, port, policy, identities,
        batches=BatchStore(redis), grants=grants,
    )
    timed = TimedAccess(services, approvals, grants)
    break_glass = BreakGlassCommand(services, BreakGlassGrants(grants))
    was_this_you = (
        WasThisYouFlow(redis, okta, port, policy, identities, recorder, org_url=org_url) if policy.was_this_you else None
    )
    handlers = Handlers(
        helpdesk=Helpdesk(
            services,
            approvals,
            SelfService(services, redis, push_timing=push_timing),
            Verifier(services, Verifications(redis), push_timing),
            timed,
            break_glass,
        ),
        approvals=approvals,
        access=timed,
        break_glass=break_glass,
        slack=port,
        was_this_you=was_this_you,
    )
    after_ack = AfterAck()
    bolt = build_bolt_app(slack, signing_secret, handlers, after_ack, redis)
    return Bot(bolt=bolt, slack=port, services=services, handlers=handlers, after_ack=after_ack)
