"""The approval state machine in Redis.

    PENDING -> (APPROVED) -> EXECUTING -> SUCCEEDED | FAILED
    PENDING -> DENIED | EXPIRED | CANCELLED

Keys
- `okc:approval:{id}` (hash): `ApprovalRequest.to_hash()` plus `executor`, the fencing token of the
  execution owner (handed only to the approve call that claimed execution).
- `okc:approval:{id}:approvers` (zset): distinct approvers scored by approval time; one approver counts once.
- `okc:approvals:pending` (zset): exactly the PENDING request ids, scored by deadline.
- `okc:approvals:executing` (zset): exactly the EXECUTING request ids, scored by the expiry of their
  execution lease. The executor renews it while the Okta call runs (`renew`); once it has expired,
  a sweeper on any replica claims the request with a new token (`claim_expired`) and settles it
  from Okta's state (`reconcile`). Replicas' clocks must agree to well within the lease (NTP).
A request in a terminal state expires after `retention` seconds; its audit trail stays in the stream.

Every transition is one Lua script (scripts/*.lua, run by EVALSHA) that checks the state, writes
the new one and appends its audit records in one atomic step, so concurrent bot replicas cannot
interleave. The caller checks roles (policy); the store enforces what must hold whoever calls: no
self-approval, one vote per approver, N distinct approvals, PENDING-only approve/deny/cancel,
deadlines, and one execution claim per request. Every call on an existing request appends its
audit record(s), refusals included (a self-approval attempt belongs in the trail); a call on an
unknown id writes nothing.

Time is the caller's `now` (epoch seconds, default time.time()), passed into the scripts rather
than read from Redis TIME, so tests drive expiry with an explicit clock.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime
from typing import Any, cast

import redis.asyncio as aioredis

from approvals.lua import script_source
from approvals.models import ApprovalRequest, ApprovalState, Claim, Refusal, TransitionResult
from audit import AuditLog, AuditRecord
from audit.record import shorten
from audit.recorder import Recorder

REQUEST_PREFIX = "okc:approval:"
APPROVERS_SUFFIX = ":approvers"
PENDING_KEY = "okc:approvals:pending"
EXECUTING_KEY = "okc:approvals:executing"

SWEEPER = "system:sweeper"  # audit actor of expiries found by the sweeper
EXECUTOR = "system:executor"  # audit actor of a lease handed back, and of a finish() on a request not executing
RECONCILER = "system:reconcile"  # audit actor of a sweeper's claim and reconciliation of an execution
POLICY = "system:policy"  # audit actor of a request failed because it no longer passes the policy

_SCRIPTS = ("create", "attach", "approve", "close_pending", "finish", "expire", "lease", "claim")
LEASE_S = 30.0  # how long an execution lease lasts unless renewed (renewed every third of it)


def _now(now: float | None) -> float:
    return time.time() if now is None else now


def _flat(fields: dict[str, str]) -> list[str]:
    return [part for item in fields.items() for part in item]


def _request(snapshot: dict[str, Any]) -> ApprovalRequest:
    # Lua's cjson writes an empty table as {}: an empty approvers list arrives as an empty object
    flat = snapshot["approvers"] or []  # ZRANGE WITHSCORES: approver, time, approver, time, ...
    return ApprovalRequest.from_hash(snapshot["fields"], zip(flat[::2], flat[1::2], strict=True))


def _audited(answer: dict[str, Any]) -> list[AuditRecord]:
    """The records a script appended (flat field lists; cjson writes an empty list as {})."""
    return [AuditRecord.from_fields(dict(zip(flat[::2], flat[1::2], strict=True))) for flat in answer.get("audited") or []]


def _result(answer: dict[str, Any]) -> TransitionResult:
    snapshot = answer.get("request")
    execute = answer["status"] == "execute"
    return TransitionResult(
        request=_request(snapshot) if snapshot else None,
        refusal=Refusal(answer["reason"]) if answer["reason"] else None,
        execute=execute,
        executor=snapshot["fields"]["executor"] if execute and snapshot else None,
    )


class ApprovalStore:
    def __init__(
        self, redis: aioredis.Redis, recorder: Recorder | None = None, *, retention: int = 30 * 86400,
        lease: float = LEASE_S,
    ) -> None:
        """Every transition's audit records are written by its script, then handed to `recorder`
        (channel line, metrics); without one, they are only in the trail. `lease`: seconds an
        execution lease lasts unless renewed: the longest a dead executor's request stays EXECUTING."""
        if lease <= 0:
            raise ValueError("lease must be positive")
        self.lease = lease
        self._redis = redis
        self.recorder = recorder or Recorder(AuditLog(redis))
        self.audit = self.recorder.audit
        self._scripts = {name: redis.register_script(script_source(name)) for name in _SCRIPTS}
        self._base: dict[str, Any] = {
            "keys": {
                "request": REQUEST_PREFIX,
                "approvers_suffix": APPROVERS_SUFFIX,
                "pending": PENDING_KEY,
                "executing": EXECUTING_KEY,
            },
            "audit": self.audit.lua_config(),
            "retention": retention,
        }

    async def _call(
        self,
        script: str,
        now: float,
        actor: str,
        approval_id: str | None,
        *,
        detail: str = "",
        okta_request_id: str | None = None,
        **params: Any,
    ) -> Any:
        """Run a script with the shared parameters and the audit template (see scripts/lib.lua),
        and hand the records it appended to the recorder; returns the script's decoded answer.
        None parameters are left out because JSON null is not nil in Lua."""
        template = AuditRecord(
            at=datetime.fromtimestamp(now, UTC),
            actor=actor,
            verb="",  # the script fills in verb, target and outcome from the request and the transition
            outcome="",
            detail=detail,
            okta_request_id=okta_request_id,
            approval_id=approval_id,
            source="approval",
        )
        payload = {**self._base, **params, "id": approval_id, "actor": actor, "now": repr(now)}
        payload["record"] = template.to_fields()
        args = json.dumps({k: v for k, v in payload.items() if v is not None})
        raw = await self._scripts[script](args=[args])
        if not isinstance(raw, str):  # attach answers a plain 0 or 1
            return raw
        answer = json.loads(raw)
        self.recorder.recorded(_audited(answer))
        return answer

    async def create(
        self,
        *,
        requester: str,
        verb: str,
        target: str | None = None,
        target_id: str | None = None,
        params: dict[str, Any] | None = None,
        reason: str = "",
        required_approvals: int = 1,
        approver_role: str = "approver",
        expires_in: float = 3600,
        now: float | None = None,
    ) -> ApprovalRequest:
        if expires_in <= 0:
            raise ValueError("expires_in must be positive")
        now = _now(now)
        request = ApprovalRequest(
            id=secrets.token_urlsafe(12),  # 96 random bits, 16 URL-safe characters
            state=ApprovalState.PENDING,
            requester=requester,
            verb=verb,
            target=target,
            target_id=target_id,
            params=params or {},
            reason=reason,
            required_approvals=required_approvals,
            approver_role=approver_role,
            created_at=datetime.fromtimestamp(now, UTC),
            deadline=datetime.fromtimestamp(now + expires_in, UTC),
        )
        fields = request.to_hash()
        needs = f"needs {required_approvals} approval(s) by {approver_role}"
        result = _result(
            await self._call(
                "create", now, requester, request.id,
                detail=f"{needs}: {reason}" if reason else needs,
                fields=_flat(fields),
                deadline=fields["deadline"],
            )
        )
        assert result.request is not None  # the script returns what it just wrote
        return result.request

    async def attach_message(self, approval_id: str, channel: str, ts: str) -> bool:
        """Remember the Slack approval message; False if the request does not exist."""
        return bool(await self._call("attach", _now(None), "", approval_id, channel=channel, ts=ts))

    async def approve(
        self, approval_id: str, approver: str, *, approver_okta_id: str | None = None, now: float | None = None
    ) -> TransitionResult:
        """Count one approval. The call that brings the N-th gets execute=True and the fencing token.
        `approver_okta_id`: the approver's Okta user id; the request's target may not approve it."""
        now = _now(now)
        return _result(
            await self._call(
                "approve", now, approver, approval_id,
                op="approve", token=secrets.token_urlsafe(16), actor_okta_id=approver_okta_id,
                lease_until=self._lease_until(now),
            )
        )

    async def deny(
        self, approval_id: str, approver: str, reason: str = "", *, approver_okta_id: str | None = None,
        now: float | None = None,
    ) -> TransitionResult:
        """PENDING -> DENIED; like approve, never by the request's target."""
        return _result(
            await self._call(
                "close_pending", _now(now), approver, approval_id,
                op="deny", state=ApprovalState.DENIED, outcome="denied", detail=reason,
                fields=["closed_by", approver, "outcome_detail", reason], actor_okta_id=approver_okta_id,
            )
        )

    async def fail_pending(self, approval_id: str, reason: str, *, now: float | None = None) -> TransitionResult:
        """PENDING -> FAILED: the request no longer passes the policy (checked again at each
        approval from fresh Okta state), so it can never run."""
        return _result(
            await self._call(
                "close_pending", _now(now), POLICY, approval_id,
                op="fail", state=ApprovalState.FAILED, outcome="failed", detail=reason,
                fields=["closed_by", POLICY, "outcome_detail", reason],
            )
        )

    async def cancel(self, approval_id: str, by: str, *, now: float | None = None) -> TransitionResult:
        """Only the requester may cancel, and only while PENDING."""
        return _result(
            await self._call(
                "close_pending", _now(now), by, approval_id,
                op="cancel", state=ApprovalState.CANCELLED, outcome="cancelled", requester_only=True,
                fields=["closed_by", by],
            )
        )

    async def finish(
        self,
        approval_id: str,
        succeeded: bool,
        detail: str = "",
        okta_request_id: str | None = None,
        *,
        executor: str,
        now: float | None = None,
    ) -> TransitionResult:
        """EXECUTING -> SUCCEEDED/FAILED, only with the token from the approve call that claimed
        execution. Audited as the approver whose approval started the execution."""
        state = ApprovalState.SUCCEEDED if succeeded else ApprovalState.FAILED
        return _result(
            await self._call(
                "finish", _now(now), EXECUTOR, approval_id,
                state=state, executor=executor, detail=detail, okta_request_id=okta_request_id,
                # a refused finish (e.g. after reconcile took over) still records what really happened
                note=shorten(f"reported {state.lower()}: {detail}"),
                fields=["outcome_detail", detail, "okta_request_id", okta_request_id or ""],
            )
        )

    async def reconcile(
        self, approval_id: str, took_effect: bool | None, *, executor: str, by: str = RECONCILER,
        now: float | None = None,
    ) -> TransitionResult:
        """Close an execution whose owner died, from what Okta shows, with the token of the claim
        (`claim_expired`) that took it over.

        Never re-executes: an interrupted action may or may not have reached Okta, and running a
        destructive action twice (or long after the approvers looked at it) is worse than asking a
        human to request it again. So: took_effect=True -> SUCCEEDED; False -> FAILED; None (Okta's
        state does not tell) -> FAILED with a note to check Okta. The dead owner's late finish() is
        then refused (its token no longer matches an EXECUTING request) and audited.
        """
        if took_effect:
            state, detail = ApprovalState.SUCCEEDED, "reconciled: the action took effect in Okta"
        elif took_effect is False:
            state, detail = ApprovalState.FAILED, "reconciled: interrupted before it took effect; not run twice"
        else:
            state, detail = ApprovalState.FAILED, "reconciled: interrupted, outcome unknown (check Okta); not run twice"
        return _result(
            await self._call(
                "finish", _now(now), by, approval_id,
                state=state, takeover=True, executor=executor, detail=detail,
                fields=["outcome_detail", detail, "reconciled", "1", "closed_by", by],
            )
        )

    async def renew(self, approval_id: str, executor: str, *, now: float | None = None) -> bool:
        """Extend the execution lease by `lease` from now; False if `executor` no longer holds it
        (the request was taken over or closed meanwhile)."""
        now = _now(now)
        answer = await self._call("lease", now, EXECUTOR, approval_id, executor=executor, lease_until=self._lease_until(now))
        return bool(answer["held"])

    async def hand_back(self, approval_id: str, executor: str, why: str, *, now: float | None = None) -> bool:
        """End the lease now (audited with `why`), so that the next sweep on any replica takes over
        instead of waiting for it to run out; False if `executor` no longer held it."""
        now = _now(now)
        answer = await self._call(
            "lease", now, EXECUTOR, approval_id, executor=executor, lease_until=repr(now), hand_back=why
        )
        return bool(answer["held"])

    async def claim_expired(self, *, now: float | None = None, limit: int = 100) -> list[Claim]:
        """The sweeper step for executions: take over up to `limit` EXECUTING requests whose lease
        expired by `now`, each under a new lease and a new token, for `reconcile`."""
        now = _now(now)
        token = secrets.token_urlsafe(16)  # one claim call's token: only this caller ever sees it
        answer = await self._call("claim", now, RECONCILER, None, token=token, lease_until=self._lease_until(now), limit=limit)
        return [Claim(request=_request(snapshot), executor=token) for snapshot in answer["claimed"] or []]

    async def next_lease_expiry(self) -> float | None:
        """When the earliest execution lease runs out (epoch seconds), or None with nothing executing."""
        first = cast(list[tuple[str, float]], await self._redis.zrange(EXECUTING_KEY, 0, 0, withscores=True))
        return first[0][1] if first else None

    def _lease_until(self, now: float) -> str:
        return repr(now + self.lease)

    async def expire_due(self, now: float | None = None, limit: int = 100) -> list[ApprovalRequest]:
        """The sweeper step: mark up to `limit` PENDING requests whose deadline is <= now EXPIRED."""
        answer = await self._call("expire", _now(now), SWEEPER, None, limit=limit)
        return [_request(snapshot) for snapshot in answer["expired"] or []]  # an empty list arrives as {}

    async def get(self, approval_id: str) -> ApprovalRequest | None:
        found = await self._load([approval_id])
        return found[0] if found else None

    async def pending(self, limit: int = 50, *, now: float | None = None) -> list[ApprovalRequest]:
        """PENDING requests not yet past their deadline, newest first."""
        # redis-py types replies loosely; with decode_responses=True they are str
        ids = cast(list[str], await self._redis.zrangebyscore(PENDING_KEY, f"({_now(now)!r}", "+inf"))
        requests = await self._load(ids)
        return sorted(requests, key=lambda r: r.created_at, reverse=True)[:limit]

    async def _load(self, ids: list[str]) -> list[ApprovalRequest]:
        pipe = self._redis.pipeline(transaction=False)
        for approval_id in ids:
            pipe.hgetall(REQUEST_PREFIX + approval_id)
            pipe.zrange(REQUEST_PREFIX + approval_id + APPROVERS_SUFFIX, 0, -1, withscores=True)
        raw = await pipe.execute()
        return [
            ApprovalRequest.from_hash(fields, approvers)
            for fields, approvers in zip(raw[::2], raw[1::2], strict=True)
            if fields
        ]
