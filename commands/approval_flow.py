"""Destructive actions on more than one person's word: request, decide, run once, report.

The state machine and its atomicity live in approvals/ (Lua on Redis); this module is the Slack
side: the request message in the approvals channel (updated at every step), the approver checks
that need roles, running the approved action, and telling the requester.
"""

from __future__ import annotations

import logging
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from approvals import ApprovalRequest, ApprovalState, Refusal, TransitionResult
from audit import AuditRecord
from commands.cards import status_marker
from commands.context import Invocation, Services
from commands.identity import Identity
from commands.okta_errors import explain
from commands.operations import EFFECTS, Operation, perform, took_effect
from commands.ports import Reply
from commands.recording import now
from commands.slacktext import escape, slack_date
from commands.targets import describe
from oktaclient.errors import OktaError
from oktaclient.models import Group, User
from policy import ApprovalRule, Verb

log = logging.getLogger(__name__)

APPROVE_ACTION = "approval:approve"
DENY_ACTION = "approval:deny"
CANCEL_ACTION = "approval:cancel"

_STATE_LINES = {
    ApprovalState.PENDING: ":hourglass_flowing_sand: Waiting for approval",
    ApprovalState.EXECUTING: ":gear: Approved: running in Okta…",
    ApprovalState.SUCCEEDED: ":white_check_mark: Approved and done",
    ApprovalState.FAILED: ":x: Approved, but Okta refused it",
    ApprovalState.DENIED: ":no_entry_sign: Denied",
    ApprovalState.EXPIRED: ":alarm_clock: Expired: nobody decided in time",
    ApprovalState.CANCELLED: ":leftwards_arrow_with_hook: Cancelled by the requester",
}

_REFUSALS = {
    Refusal.NOT_FOUND: "That approval request does not exist (any more).",
    Refusal.SELF_APPROVAL: "You asked for this, so you cannot approve it: another approver must.",
    Refusal.ALREADY_APPROVED_BY_YOU: "You have already approved this request; it needs another approver.",
    Refusal.EXPIRED: "This request expired before you clicked; the requester can ask again.",
    Refusal.NOT_REQUESTER: "Only the person who asked can cancel a request.",
}


class ApprovalFlow:
    def __init__(self, services: Services) -> None:
        self.s = services

    # --- asking -------------------------------------------------------------------------------------

    async def request(
        self, inv: Invocation, identity: Identity, op: Operation, user: User, group: Group | None, rule: ApprovalRule,
        reason: str = "",
    ) -> ApprovalRequest:
        request = await self.s.approvals.create(
            requester=inv.user_id,
            verb=op.verb.value,
            target=user.profile.login,
            target_id=user.id,
            params={
                "group_id": op.group_id,
                "group_name": group.profile.name if group else None,
                "target_label": describe(user),
                "target_status": str(user.status),
                "target_title": user.profile.title,
                "target_department": user.profile.department,
            },
            reason=reason,
            required_approvals=rule.required_approvals,
            approver_role=rule.approver_role,
            expires_in=rule.expiry_seconds,
        )
        posted = await self.s.slack.post(rule.channel, approval_message(request))
        await self.s.approvals.attach_message(request.id, posted.channel, posted.ts)
        n = rule.required_approvals
        await inv.respond(
            Reply(
                text=(
                    f":raised_hand: `{op.verb.value}` on {describe(user)} needs {n} approval{'s' if n > 1 else ''} "
                    f"by *{rule.approver_role}*: request `{request.id}` is posted in {escape(rule.channel)}. "
                    f"I'll DM you when it is decided. `/okta cancel {request.id}` withdraws it."
                )
            ),
            replace_original=inv.source == "command",
        )
        return request

    async def list_pending(self, inv: Invocation) -> None:
        pending = await self.s.approvals.pending()
        if not pending:
            text = "No approval requests are pending."
        else:
            lines = [
                f"• `{r.id}` <@{r.requester}> `{r.verb}` {escape(r.params.get('target_label') or r.target or '')} "
                f"({len(r.approvals)}/{r.required_approvals} approvals, expires {slack_date(r.deadline)})"
                for r in pending
            ]
            text = f"*{len(pending)} pending approval request(s)*\n" + "\n".join(lines)
        await inv.respond(Reply(text=text), replace_original=inv.source == "command")

    async def cancel(self, inv: Invocation, identity: Identity, approval_id: str) -> None:
        result = await self.s.approvals.cancel(approval_id, inv.user_id)
        if result.ok:
            assert result.request is not None
            await self._refresh(result.request)
            await inv.respond(Reply(text=f"Request `{approval_id}` is cancelled."), replace_original=inv.source == "command")
        else:
            await inv.respond(Reply(text=_refusal_text(result)), replace_original=inv.source == "command")

    # --- deciding -----------------------------------------------------------------------------------

    async def decider(self, inv: Invocation, approval_id: str, verb: str) -> tuple[Identity, ApprovalRequest] | None:
        """The clicker and the request, when the clicker holds the request's approver role."""
        identity = await self.s.identities.of(inv.user_id)
        request = await self.s.approvals.get(approval_id)
        if request is None:
            await inv.respond(Reply(text=_REFUSALS[Refusal.NOT_FOUND]))
            return None
        if request.approver_role not in identity.roles:
            await self.s.recorder.record(
                AuditRecord(
                    at=now(), actor=inv.user_id, actor_email=identity.email, verb=verb, target=request.target,
                    outcome="refused", detail=f"not an {request.approver_role}", approval_id=approval_id,
                    source="approval",
                )
            )
            await inv.respond(
                Reply(text=f":no_entry: Only holders of the *{escape(request.approver_role)}* role can decide this request.")
            )
            return None
        return identity, request

    async def approve(self, inv: Invocation, approval_id: str) -> None:
        if await self.decider(inv, approval_id, "approve") is None:
            return
        result = await self.s.approvals.approve(approval_id, inv.user_id)
        if result.request is not None:
            await self._refresh(result.request)
        if not result.ok:
            await inv.respond(Reply(text=_refusal_text(result)))
            if result.refusal == Refusal.EXPIRED and result.request is not None:
                await self._tell_requester(result.request)
            return
        if result.execute:
            assert result.request is not None and result.executor is not None
            await self._execute(result.request, result.executor)

    async def deny(self, inv: Invocation, approval_id: str, reason: str = "") -> None:
        if await self.decider(inv, approval_id, "deny") is None:
            return
        result = await self.s.approvals.deny(approval_id, inv.user_id, reason)
        if result.request is not None:
            await self._refresh(result.request)
        if not result.ok:
            await inv.respond(Reply(text=_refusal_text(result)))
            return
        assert result.request is not None
        await self._tell_requester(result.request)

    async def _execute(self, request: ApprovalRequest, executor: str) -> None:
        op = _operation(request)
        effect = EFFECTS[op.verb]
        label = request.params.get("target_label") or request.target or request.target_id
        try:
            outcome = await perform(self.s.okta, op)
        except OktaError as exc:
            detail = explain(exc, f"{effect.working} {label}")
            finished = await self.s.approvals.finish(
                request.id, False, detail, getattr(exc, "request_id", None), executor=executor
            )
        else:
            finished = await self.s.approvals.finish(
                request.id, True, f"{label}: {effect.past}", outcome.request_id, executor=executor
            )
        if finished.request is not None:
            await self._refresh(finished.request)
            await self._tell_requester(finished.request)

    # --- housekeeping (the sweeper and start-up) ----------------------------------------------------

    async def expired(self, request: ApprovalRequest) -> None:
        """The sweeper expired this request: show it and tell the requester."""
        await self._refresh(request)
        await self._tell_requester(request)

    async def reconcile_stuck(self, older_than_seconds: float = 120) -> int:
        """Close executions whose process died, from what Okta shows; never run them again."""
        stuck = await self.s.approvals.stuck_executing(older_than_seconds)
        for request in stuck:
            try:
                effect = await took_effect(self.s.okta, _operation(request))
            except OktaError:
                effect = None
            result = await self.s.approvals.reconcile(request.id, effect)
            if result.ok and result.request is not None:
                await self._refresh(result.request)
                await self._tell_requester(result.request)
        return len(stuck)

    # --- Slack messages -----------------------------------------------------------------------------

    async def _refresh(self, request: ApprovalRequest) -> None:
        if request.channel and request.message_ts:
            try:
                await self.s.slack.update(request.channel, request.message_ts, approval_message(request))
            except SlackApiError as exc:  # the state is in Redis; a stale message must not stop the flow
                log.warning("approval message %s not updated: %s", request.id, exc.response.get("error"))

    async def _tell_requester(self, request: ApprovalRequest) -> None:
        state = _STATE_LINES[request.state]
        detail = f"\n{escape(request.outcome_detail)}" if request.outcome_detail else ""
        text = f"Your request `{request.id}` (`{request.verb}` {escape(request.params.get('target_label') or '')}): {state}{detail}"
        try:
            await self.s.slack.dm(request.requester, Reply(text=text))
        except SlackApiError as exc:
            log.warning("requester DM for %s failed: %s", request.id, exc.response.get("error"))


def approval_message(request: ApprovalRequest) -> Reply:
    p = request.params
    target = escape(p.get("target_label") or request.target or "")
    group = f" in group *{escape(p['group_name'])}*" if p.get("group_name") else ""
    profile = " · ".join(escape(v) for v in (p.get("target_title"), p.get("target_department")) if v)
    status = p.get("target_status")
    facts = [
        f"*Requested by*\n<@{request.requester}>",
        f"*Action*\n`{request.verb}`{group}",
        f"*User*\n{target}" + (f"\n{profile}" if profile else ""),
        f"*Status when asked*\n{status_marker(status) if status else '—'}",
        f"*Needs*\n{request.required_approvals} × {escape(request.approver_role)}",
        "*Approved by*\n" + (", ".join(f"<@{a}>" for a in request.approvals) or "nobody yet"),
    ]
    state_line = _STATE_LINES[request.state]
    if request.state == ApprovalState.DENIED and request.closed_by:
        state_line += f" by <@{request.closed_by}>"
    if request.outcome_detail:
        state_line += f"\n{escape(request.outcome_detail)}"
    blocks: list[Block] = [
        HeaderBlock(text=f"Approval needed: {request.verb}"[:150]),
        SectionBlock(fields=[MarkdownTextObject(text=f) for f in facts]),
    ]
    if request.reason:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*Reason*\n{escape(request.reason)}")))
    blocks.append(SectionBlock(text=MarkdownTextObject(text=state_line)))
    if request.state == ApprovalState.PENDING:
        blocks.append(
            ActionsBlock(
                block_id=f"approval:{request.id}",
                elements=[
                    ButtonElement(text="Approve", action_id=APPROVE_ACTION, value=request.id, style="primary"),
                    ButtonElement(text="Deny", action_id=DENY_ACTION, value=request.id, style="danger"),
                ],
            )
        )
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Request `{request.id}` · asked {slack_date(request.created_at)} · expires {slack_date(request.deadline)}"
                )
            ]
        )
    )
    text = f"Approval {request.state.lower()}: {request.verb} {p.get('target_label') or request.target or ''}"
    return Reply(text=text, blocks=[b.to_dict() for b in blocks])


def _operation(request: ApprovalRequest) -> Operation:
    assert request.target_id is not None
    return Operation(verb=Verb(request.verb), user_id=request.target_id, group_id=request.params.get("group_id"))


def _refusal_text(result: TransitionResult) -> str:
    if result.refusal == Refusal.NOT_PENDING and result.request is not None:
        return f"This request is already {result.request.state.lower()}; nothing changed."
    return _REFUSALS.get(result.refusal, "That did not work.") if result.refusal else ""
