"""What every command handler shares: the services it calls (the invocation it answers is actions.invocation)."""

from __future__ import annotations

from dataclasses import dataclass

from actions.identity import Identities
from audit.recorder import Recorder
from commands.targets import Resolver
from oktaclient import OktaClient
from policy import Policy
from slackport import SlackPort


@dataclass(frozen=True)
class Services:
    okta: OktaClient
    slack: SlackPort
    policy: Policy
    identities: Identities
    resolver: Resolver
    recorder: Recorder
    org_url: str
