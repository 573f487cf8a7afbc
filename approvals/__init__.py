"""Approvals, the whole life of a request: the state machine in Redis (store.py, Lua scripts that
write the audit trail in the same step), what people see and fill in (messages.py), who may
decide and running the approved action once under a renewed lease (flow.py, lease.py), and the
housekeeping that ends requests nobody finishes (sweeper.py: expiries, and executions whose lease
ran out because their replica died). Commands only ask: `ApprovalFlow.request(...)`."""

from approvals.flow import ApprovalFlow
from approvals.models import (
    Approval,
    ApprovalRequest,
    ApprovalState,
    Claim,
    Refusal,
    TransitionResult,
)
from approvals.store import ApprovalStore
from approvals.sweeper import Swept, run_sweeper, sweep_once

__all__ = [
    "Approval",
    "ApprovalFlow",
    "ApprovalRequest",
    "ApprovalState",
    "ApprovalStore",
    "Claim",
    "Refusal",
    "Swept",
    "TransitionResult",
    "run_sweeper",
    "sweep_once",
]
