"""The approval request, its states, and what a transition answers.

A request is stored as a Redis hash of strings; `to_hash` and `from_hash` are the one codec.
Times are epoch seconds in the hash because the Lua scripts compare them with `now`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ApprovalState(StrEnum):
    PENDING = "PENDING"
    # APPROVED is passed through, never stored: the call that brings the N-th approval moves the
    # request straight on to EXECUTING in the same script, and the audit trail shows both steps.
    APPROVED = "APPROVED"
    EXECUTING = "EXECUTING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    DENIED = "DENIED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"

    @property
    def terminal(self) -> bool:
        return self not in (ApprovalState.PENDING, ApprovalState.APPROVED, ApprovalState.EXECUTING)


class Refusal(StrEnum):
    """Why a transition did not happen (the request, if any, is returned unchanged)."""

    NOT_FOUND = "not_found"
    NOT_PENDING = "not_pending"  # approve/deny/cancel on a request that left PENDING
    EXPIRED = "expired"  # past its deadline: this very call moved it to EXPIRED
    SELF_APPROVAL = "self_approval"
    ALREADY_APPROVED_BY_YOU = "already_approved_by_you"
    NOT_REQUESTER = "not_requester"  # cancel by someone else
    TARGET_DECISION = "target_decision"  # approve/deny by the person the request is about
    NOT_EXECUTING = "not_executing"  # finish/reconcile on a request that is not EXECUTING
    NOT_EXECUTOR = "not_executor"  # finish with a stale or wrong fencing token


_TIMES = ("created_at", "deadline", "started_at", "closed_at")


def _encode(value: object) -> str:
    if isinstance(value, datetime):
        return repr(value.timestamp())
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, bool):  # before str(): a hash field is present ("1") or empty
        return "1" if value else ""
    return "" if value is None else str(value)


def _time(epoch: float | str) -> datetime:
    return datetime.fromtimestamp(float(epoch), UTC)


class Approval(BaseModel):
    """One approver's vote, and when it was cast (the approval message shows both)."""

    model_config = ConfigDict(frozen=True)

    by: str
    at: datetime


class ApprovalRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str  # short, URL-safe, unguessable: it travels in Slack button values
    state: ApprovalState
    requester: str
    verb: str
    target: str | None = None
    target_id: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    reason: str = ""
    required_approvals: int = Field(ge=1)
    approver_role: str
    created_at: datetime
    deadline: datetime
    approved: tuple[Approval, ...] = ()  # distinct approvers so far, oldest first
    channel: str | None = None  # the Slack approval message, for later updates
    message_ts: str | None = None
    executed_by: str | None = None  # the approver whose approval started the execution
    started_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None  # who denied, cancelled or reconciled it
    outcome_detail: str | None = None  # the deny reason, the Okta result, the reconciliation note
    okta_request_id: str | None = None
    reconciled: bool = False

    @property
    def approvals(self) -> tuple[str, ...]:
        """Who approved, oldest first."""
        return tuple(a.by for a in self.approved)

    def to_hash(self) -> dict[str, str]:
        """Every field but `approved` (a separate sorted set), as strings; None is ""."""
        return {name: _encode(getattr(self, name)) for name in type(self).model_fields if name != "approved"}

    @classmethod
    def from_hash(cls, fields: dict[str, str], approvers: Iterable[tuple[str, float | str]]) -> ApprovalRequest:
        """`approvers` are (approver, epoch seconds) pairs, oldest first, as the sorted set holds them."""
        # unknown hash fields (the execution fencing token) are not part of the model on purpose
        data: dict[str, Any] = {k: v for k, v in fields.items() if k in cls.model_fields and v != ""}
        for name in _TIMES:
            if name in data:
                data[name] = _time(data[name])
        data["params"] = json.loads(data.get("params", "{}"))
        data["reconciled"] = "reconciled" in data
        data["approved"] = tuple(Approval(by=by, at=_time(at)) for by, at in approvers)
        return cls.model_validate(data)


class TransitionResult(BaseModel):
    """What approve/deny/cancel/finish/reconcile answer.

    `request` is the state after the call (None only for not_found). `execute` is True for exactly
    one approve call ever per request: that caller runs the action and passes `executor` (the
    fencing token) to `finish`.
    """

    model_config = ConfigDict(frozen=True)

    request: ApprovalRequest | None
    refusal: Refusal | None = None
    execute: bool = False
    executor: str | None = None

    @property
    def ok(self) -> bool:
        return self.refusal is None

    @property
    def state(self) -> ApprovalState | None:
        return self.request.state if self.request else None

    @property
    def approvals(self) -> tuple[str, ...]:
        return self.request.approvals if self.request else ()


class Claim(BaseModel):
    """An execution the sweeper took over because its lease expired: `executor` is the new fencing
    token, for renewing the lease while Okta is checked and for `ApprovalStore.reconcile`."""

    model_config = ConfigDict(frozen=True)

    request: ApprovalRequest
    executor: str
