"""Wire the handlers to their services: one place that knows every concrete class.

`assemble` takes the outside parties as ready clients (Redis, Okta, Slack), so the sandbox, the
production server and the tests build the very same bot around real or stand-in servers.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from approvals import ApprovalStore
from audit import AuditLog
from bot.after_ack import AfterAck
from bot.metrics import PrometheusObserver
from bot.slack_app import Handlers, build_bolt_app
from bot.slack_port import WebApiSlackPort
from commands.approval_flow import ApprovalFlow
from commands.context import Services
from commands.helpdesk import Helpdesk
from commands.identity import Identities
from commands.recording import Recorder
from commands.self_service import SelfService
from commands.targets import Resolver
from oktaclient import OktaClient
from policy import Policy


@dataclass(frozen=True)
class Bot:
    bolt: AsyncApp
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
) -> Bot:
    port = WebApiSlackPort(slack)
    audit = AuditLog(redis)
    services = Services(
        okta=okta,
        slack=port,
        policy=policy,
        identities=Identities(redis, okta, port, policy, ttl=identity_ttl),
        resolver=Resolver(okta, port, policy.self_service.email_attribute),
        recorder=Recorder(audit, port, policy.audit.channel if policy.audit else None, PrometheusObserver()),
        approvals=ApprovalStore(redis, audit),
        org_url=org_url,
    )
    approvals = ApprovalFlow(services)
    handlers = Handlers(
        helpdesk=Helpdesk(services, approvals, SelfService(services, redis)),
        approvals=approvals,
    )
    after_ack = AfterAck()
    bolt = build_bolt_app(slack, signing_secret, handlers, after_ack, redis)
    return Bot(bolt=bolt, services=services, handlers=handlers, after_ack=after_ack)
