"""The approval state machine in Redis (keys and rules: approvals/store.py). No Slack, no Okta:
the bot and commands layers drive it and check roles via the policy."""

from approvals.models import (
    Approval,
    ApprovalRequest,
    ApprovalState,
    Refusal,
    TransitionResult,
)
from approvals.store import ApprovalStore
from approvals.sweeper import run_sweeper, sweep_once

__all__ = [
    "Approval",
    "ApprovalRequest",
    "ApprovalState",
    "ApprovalStore",
    "Refusal",
    "TransitionResult",
    "run_sweeper",
    "sweep_once",
]
