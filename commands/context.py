"""What every handler gets: who acted and how to answer them (Invocation), and the shared services (Services)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from approvals import ApprovalStore
from commands.identity import Identities
from commands.ports import Responder, SlackPort
from commands.recording import Recorder
from commands.targets import Resolver
from oktaclient import OktaClient
from policy import Policy


@dataclass(frozen=True)
class Invocation:
    """One slash command, button click or modal submission, after Slack was acknowledged."""

    user_id: str
    respond: Responder
    channel_id: str | None = None
    trigger_id: str | None = None
    source: Literal["command", "button", "self-service"] = "command"
    # A click on a user card's button: progress and results replace that card in place.
    on_card: bool = False


@dataclass(frozen=True)
class Services:
    okta: OktaClient
    slack: SlackPort
    policy: Policy
    identities: Identities
    resolver: Resolver
    recorder: Recorder
    approvals: ApprovalStore
    org_url: str
