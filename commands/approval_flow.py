"""Destructive actions on more than one person's word: request, decide, run once, report.

The state machine and its atomicity live in approvals/ (Lua on Redis); this module is the Slack
side: the request form (an optional reason), the request message in the approvals channel (updated
at every step), the approver checks that need roles, running the approved action once, and telling
the requester by DM.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import BaseModel, ConfigDict
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from approvals import ApprovalRequest, ApprovalState, Refusal, TransitionResult
from audit import AuditRecord
from commands import blockkit as bk
from commands.cards import status_marker
from commands.context import Invocation, Services
from commands.identity import Identity
from commands.okta_errors import explain
from commands.operations import EFFECTS, Operation, perform, took_effect
from commands.ports import Reply
from commands.recording import now
from commands.targets import describe
from oktaclient.errors import OktaError
from oktaclient.models import Group, User
from policy import ApprovalRule, Verb
from slacktext import capped, escape, fit, fit_plain, slack_date

log = logging.getLogger(__name__)

APPROVE_ACTION = "approval:approve"
DENY_ACTION = "approval:deny"
CANCEL_ACTION = "approval:cancel"
REQUEST_VIEW = "approval:request"
DENY_VIEW = "approval:deny"
REASON_BLOCK, REASON_INPUT = "reason", "reason_input"

_STATE_LINES = {
    ApprovalState.PENDING: ":hourglass_flowing_sand: Waiting for approval",
    ApprovalState.EXECUTING: ":gear: Approved: running in Okta",
    ApprovalState.SUCCEEDED: ":white_check_mark: Approved and done",
    ApprovalState.FAILED: ":x: Approved, but it failed",
    ApprovalState.DENIED: ":no_entry_sign: Denied",
    ApprovalState.EXPIRED: ":alarm_clock: Expired: nobody decided in time",
    ApprovalState.CANCELLED: ":leftwards_arrow_with_hook: Cancelled",
}

_REFUSALS = {
    Refusal.NOT_FOUND: "That approval request does not exist (any more).",
    Refusal.SELF_APPROVAL: "You asked for this, so you cannot approve it: another approver must.",
    Refusal.ALREADY_APPROVED_BY_YOU: "You have already approved this request; it needs another approver.",
    Refusal.EXPIRED: "This request expired before you clicked; the requester can ask again.",
    Refusal.NOT_REQUESTER: "Only the person who asked can cancel a request.",
    Refusal.TARGET_DECISION: "This request is about your own Okta account, so you cannot decide it: another approver must.",
}


class Draft(BaseModel):
    """An action waiting for its requester to send the request form. It travels as the form's
    private_metadata: only the app can set that, and Slack hands it back with the submission."""

    model_config = ConfigDict(frozen=True)

    verb: Verb
    target: str  # the login
    target_id: str
    params: dict[str, Any]  # ApprovalRequest.params: the group and the user's card summary
    channel_id: str | None = None  # where it was asked: the answer to the form goes there

    @property
    def label(self) -> str:
        return str(self.params.get("target_label") or escape(self.target))


class ApprovalFlow:
    def __init__(self, services: Services) -> None:
        self.s = services

    # --- asking -------------------------------------------------------------------------------------

    async def request(self, inv: Invocation, op: Operation, user: User, group: Group | None, rule: ApprovalRule) -> None:
        """Ask for a reason in the request form; the request is posted when it is sent (`submit`)."""
        draft = Draft(
            verb=op.verb,
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
            channel_id=inv.channel_id,
        )
        if inv.trigger_id and await self._open_form(inv.trigger_id, request_form(draft, rule)):
            if inv.source == "command":  # replaces "working on it", which would otherwise stay on screen
                text = f":memo: `{draft.verb}` on {draft.label} needs approval: send the form to ask for it."
                await inv.respond(Reply(text=text), replace_original=True)
            return
        # No form: Slack gave no trigger, or its 3-second trigger ran out while Okta was asked. The
        # command itself says what is wanted, so it is requested without a reason.
        await self._post(inv, draft, rule, reason="")

    async def submit(self, inv: Invocation, draft: Draft, reason: str) -> None:
        """The request form was sent: post the request, if the requester may still ask for it."""
        identity = await self.s.identities.of(inv.user_id)
        # roles can change while a form is open, and another replica may run another policy
        on_self = identity.is_okta_user(draft.target_id)
        decision = self.s.policy.decide(draft.verb, identity.roles, group_name=draft.params.get("group_name"), on_self=on_self)
        if decision.approval is None:
            why = f"the policy no longer has you request `{draft.verb}` this way"
            await self._audit_refusal(inv, identity, draft.verb, draft.target, why)
            await inv.respond(Reply(text=f":no_entry: Nothing was requested: {why}. Run the command again."))
            return
        await self._post(inv, draft, decision.approval, reason)

    async def abandoned(self, inv: Invocation, draft: Draft) -> None:
        """The request form was closed unsent."""
        text = f"Nothing was requested: you closed the form for `{draft.verb}` on {draft.label}."
        await inv.respond(Reply(text=text))

    async def _post(self, inv: Invocation, draft: Draft, rule: ApprovalRule, reason: str) -> None:
        request = await self.s.approvals.create(
            requester=inv.user_id,
            verb=draft.verb.value,
            target=draft.target,
            target_id=draft.target_id,
            params=draft.params,
            reason=reason,
            required_approvals=rule.required_approvals,
            approver_role=rule.approver_role,
            expires_in=rule.expiry_seconds,
        )
        self.s.recorder.approval_transition(request.state)
        message = approval_message(request)
        try:
            posted = await self.s.slack.post(rule.channel, message)
        except SlackApiError as exc:  # e.g. the bot is not in the channel: no approver would ever see it
            await self.s.approvals.cancel(request.id, inv.user_id)  # rather than leave it pending unseen
            error = exc.response.get("error")
            text = f":x: I could not post to {escape(rule.channel)} (`{error}`), so nothing was requested. Tell your Slack admin."
            await inv.respond(Reply(text=text), replace_original=inv.source == "command")
            return
        await self.s.approvals.attach_message(request.id, posted.channel, posted.ts)
        # a click or the sweeper may have got there before the message was attached, unseen
        await self._refresh(request.id, shown=message)
        n = rule.required_approvals
        text = (
            f":raised_hand: `{draft.verb}` on {draft.label} needs {n} approval{'s' if n > 1 else ''} "
            f"by *{escape(rule.approver_role)}*: request `{request.id}` is posted in {escape(rule.channel)}. "
            f"I'll DM you when it is decided."
        )
        cancel = ButtonElement(text="Cancel request", action_id=CANCEL_ACTION, value=request.id)
        blocks = [SectionBlock(text=MarkdownTextObject(text=text)), ActionsBlock(elements=[cancel])]
        await inv.respond(Reply(text=text, blocks=[b.to_dict() for b in blocks]), replace_original=inv.source == "command")

    async def list_pending(self, inv: Invocation) -> None:
        pending = await self.s.approvals.pending()
        if not pending:
            text = "No approval requests are pending."
        else:
            lines = [
                f"• `{r.id}` <@{r.requester}> `{r.verb}` {_label(r)} "
                f"({len(r.approvals)}/{r.required_approvals} approvals, expires {slack_date(r.deadline)})"
                for r in pending
            ]
            title = f"*{len(pending)} pending approval request(s)*\n"
            text = title + capped(lines, bk.MESSAGE_TEXT - len(title))
        await inv.respond(Reply(text=text), replace_original=inv.source == "command")

    async def cancel(self, inv: Invocation, approval_id: str) -> None:
        result = await self.s.approvals.cancel(approval_id, inv.user_id)
        if await self._settle(inv, result):
            await inv.respond(Reply(text=f"Request `{approval_id}` is cancelled."), replace_original=inv.source == "command")

    # --- deciding -----------------------------------------------------------------------------------

    async def decider(self, inv: Invocation, approval_id: str, verb: str) -> tuple[Identity, ApprovalRequest] | None:
        """The clicker and the request, when the clicker may decide it: they hold the request's
        approver role now (read fresh from Okta, not from the identity cache) and the request is not
        about their own account."""
        identity = await self.s.identities.of(inv.user_id, fresh=True)
        request = await self.s.approvals.get(approval_id)
        if request is None:
            await inv.respond(Reply(text=_REFUSALS[Refusal.NOT_FOUND]))
            return None
        if request.approver_role not in identity.roles:
            await self._audit_refusal(inv, identity, verb, request.target, f"not an {request.approver_role}", approval_id)
            await inv.respond(
                Reply(text=f":no_entry: Only holders of the *{escape(request.approver_role)}* role can decide this request.")
            )
            return None
        if identity.is_okta_user(request.target_id):
            await self._audit_refusal(inv, identity, verb, request.target, "the request is about them", approval_id)
            await inv.respond(Reply(text=f":no_entry: {_REFUSALS[Refusal.TARGET_DECISION]}"))
            return None
        return identity, request

    async def approve(self, inv: Invocation, approval_id: str) -> None:
        decided = await self.decider(inv, approval_id, "approve")
        if decided is None:
            return
        identity, request = decided
        if request.state == ApprovalState.PENDING:
            try:
                stale = await self._no_longer_allowed(request, approvers=False)
            except OktaError as exc:
                await inv.respond(Reply(text=f":x: {explain(exc, 'Checking the request against Okta')} Nothing changed."))
                return
            if stale is not None:
                await self._stop(request, stale)
                await inv.respond(Reply(text=f":no_entry: This request can no longer run: {stale}."))
                return
        result = await self.s.approvals.approve(approval_id, inv.user_id, approver_okta_id=identity.okta_user_id)
        if not await self._settle(inv, result):
            return
        assert result.request is not None
        if result.execute:
            assert result.executor is not None
            await self._execute(result.request, result.executor)
        else:  # one of several approvals: the requester hears how far it got
            await self._tell_requester(result.request)

    async def _no_longer_allowed(self, request: ApprovalRequest, *, approvers: bool) -> str | None:
        """Why the request may no longer run, from Okta's state now (mrkdwn), or None.

        The policy is asked again with fresh roles: the requester may still run the verb, the
        target is not protected now; with `approvers`, each approver still holds the approver role.
        """
        verb = Verb(request.verb)
        requester = await self.s.identities.of(request.requester, fresh=True)
        on_self = requester.is_okta_user(request.target_id)
        group = request.params.get("group_name")
        if not self.s.policy.decide(verb, requester.roles, group_name=group, on_self=on_self).allowed:
            return f"<@{request.requester}> may no longer run `{verb.value}`"
        assert request.target_id is not None  # every request names its target
        user = await self.s.okta.get_user(request.target_id)
        groups = [g.profile.name async for g in self.s.okta.list_user_groups(user.id)]
        if self.s.policy.is_protected(user.profile.login, groups):
            return f"{describe(user)} is now a protected account"
        for approver in request.approvals if approvers else ():
            if request.approver_role not in (await self.s.identities.of(approver, fresh=True)).roles:
                return f"<@{approver}> no longer holds the *{escape(request.approver_role)}* role"
        return None

    async def _stop(self, request: ApprovalRequest, why: str) -> None:
        """End a pending request that can no longer run: FAILED, with the reason on its message."""
        result = await self.s.approvals.fail_pending(request.id, why)
        if result.ok and result.request is not None:
            self.s.recorder.approval_transition(result.request.state)
            await self._refresh(request.id)
            await self._tell_requester(result.request)

    async def ask_deny_reason(self, inv: Invocation, approval_id: str) -> None:
        """Deny opens a form for the reason; non-approvers are refused at the click, before typing."""
        if await self.decider(inv, approval_id, "deny") is None:
            return
        metadata = json.dumps({"id": approval_id, "channel": inv.channel_id})
        if inv.trigger_id is None or not await self._open_form(inv.trigger_id, deny_form(metadata)):
            # Unlike a request, a denial is final: without the form (whose Back undoes a misclick)
            # nothing is decided.
            await inv.respond(Reply(text="Slack did not let me open the deny form in time; nothing changed. Click *Deny* again."))

    async def deny(self, inv: Invocation, approval_id: str, reason: str = "") -> None:
        decided = await self.decider(inv, approval_id, "deny")
        if decided is None:
            return
        identity, _ = decided
        result = await self.s.approvals.deny(approval_id, inv.user_id, reason, approver_okta_id=identity.okta_user_id)
        if await self._settle(inv, result):
            assert result.request is not None
            await self._tell_requester(result.request)

    async def _settle(self, inv: Invocation, result: TransitionResult) -> bool:
        """Show what a click changed; answer a refusal. True when the transition happened."""
        changed = result.ok or result.refusal == Refusal.EXPIRED  # a call past the deadline expires it
        if changed and result.request is not None:
            if result.request.state != ApprovalState.PENDING:  # a first of N approvals changes no state
                self.s.recorder.approval_transition(result.request.state)
            await self._refresh(result.request.id)
        if result.ok:
            return True
        await inv.respond(Reply(text=_refusal_text(result)), replace_original=inv.source == "command")
        if result.refusal == Refusal.EXPIRED and result.request is not None:
            await self._tell_requester(result.request)
        return False

    async def _execute(self, request: ApprovalRequest, executor: str) -> None:
        op = _operation(request)
        effect = EFFECTS[op.verb]
        label = _label(request)
        try:
            # authorisation decided again right before the change, from Okta as it is now
            stale = await self._no_longer_allowed(request, approvers=True)
            if stale is not None:
                finished = await self.s.approvals.finish(request.id, False, f"Not run: {stale}.", executor=executor)
                await self._finished(request, finished)
                return
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
        await self._finished(request, finished)

    async def _finished(self, request: ApprovalRequest, finished: TransitionResult) -> None:
        if finished.ok:  # refused: a reconciliation took over (and showed and told) meanwhile
            assert finished.request is not None
            self.s.recorder.approval_transition(finished.request.state)
            await self._refresh(request.id)
            await self._tell_requester(finished.request)

    # --- housekeeping (the sweeper and start-up) ----------------------------------------------------

    async def expired(self, request: ApprovalRequest) -> None:
        """The sweeper expired this request: show it and tell the requester."""
        self.s.recorder.approval_transition(request.state)
        await self._refresh(request.id)
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
                self.s.recorder.approval_transition(result.request.state)
                await self._refresh(request.id)
                await self._tell_requester(result.request)
        return len(stuck)

    # --- Slack --------------------------------------------------------------------------------------

    async def _open_form(self, trigger_id: str, view: dict[str, Any]) -> bool:
        try:
            await self.s.slack.open_modal(trigger_id, view)
        except SlackApiError as exc:  # most often expired_trigger_id: Slack allows 3 seconds after the click
            log.info("form not opened: %s", exc.response.get("error"))
            return False
        return True

    async def _refresh(self, approval_id: str, shown: Reply | None = None) -> None:
        """Make the approval message show the request as it stands in Redis.

        Replicas refresh concurrently and Slack applies updates as they arrive, so an update with
        an older state can land after a newer one. Hence: read, update, read again, and update again
        while the state moved on meanwhile; whichever update lands last, its writer then sees the
        final state. `shown` is what the message shows already, if known.
        """
        while (request := await self.s.approvals.get(approval_id)) and request.channel and request.message_ts:
            message = approval_message(request)
            if message == shown:
                return
            try:
                await self.s.slack.update(request.channel, request.message_ts, message)
            except SlackApiError as exc:  # the state is in Redis; a stale message must not stop the flow
                log.warning("approval message %s not updated: %s", approval_id, exc.response.get("error"))
                return
            shown = message

    async def _tell_requester(self, request: ApprovalRequest) -> None:
        text = f"Your request `{request.id}` (`{request.verb}` {_label(request)}): {_status(request)}"
        if request.state == ApprovalState.PENDING:
            text += f"\nApproved by {_approvers(request)}"
        try:
            await self.s.slack.dm(request.requester, Reply(text=text))
        except SlackApiError as exc:
            log.warning("requester DM for %s failed: %s", request.id, exc.response.get("error"))

    async def _audit_refusal(
        self, inv: Invocation, identity: Identity, verb: str, target: str | None, why: str, approval_id: str | None = None
    ) -> None:
        record = AuditRecord(
            at=now(), actor=inv.user_id, actor_email=identity.email, verb=verb, target=target,
            outcome="refused", detail=why, approval_id=approval_id, source="approval",
        )
        await self.s.recorder.record(record)


# --- Block Kit ------------------------------------------------------------------------------------


def approval_message(request: ApprovalRequest) -> Reply:
    p = request.params
    group = f" in group *{escape(p['group_name'])}*" if p.get("group_name") else ""
    profile = " · ".join(escape(v) for v in (p.get("target_title"), p.get("target_department")) if v)
    status = p.get("target_status")
    facts = [
        f"*Requested by*\n<@{request.requester}>",
        f"*Action*\n`{request.verb}`{group}",
        f"*User*\n{_label(request)}" + (f"\n{profile}" if profile else ""),
        f"*Status when asked*\n{status_marker(status) if status else '—'}",
        f"*Needs*\n{request.required_approvals} × {escape(request.approver_role)}",
        f"*Approved by*\n{_approvers(request)}",
    ]
    blocks: list[Block] = [bk.header(f"Approval request: {request.verb}"), bk.fields(facts)]
    if request.reason:
        blocks.append(bk.section(f"*Reason*\n{escape(request.reason)}"))
    blocks.append(bk.section(_status(request)))
    if request.state == ApprovalState.PENDING:
        blocks.append(
            ActionsBlock(
                block_id=f"approval:{request.id}",
                elements=[
                    bk.button("Approve", APPROVE_ACTION, request.id, style="primary"),
                    bk.button("Deny", DENY_ACTION, request.id, style="danger"),
                    # on everyone's screen (a message is the same for all); only the requester may use it
                    bk.button("Cancel", CANCEL_ACTION, request.id),
                ],
            )
        )
    context = f"Request `{request.id}` · asked {slack_date(request.created_at)} · expires {slack_date(request.deadline)}"
    if request.state == ApprovalState.PENDING:
        context += " · only the requester can cancel"
    blocks.append(bk.context(context))
    text = f"Approval {request.state.lower()}: {request.verb} {p.get('target_label') or request.target or ''}"
    return bk.reply(text, blocks)


def request_form(draft: Draft, rule: ApprovalRule) -> dict[str, Any]:
    n = rule.required_approvals
    group = f" in group *{escape(draft.params['group_name'])}*" if draft.params.get("group_name") else ""
    summary = (
        f"`{draft.verb}` on {draft.label}{group} needs {n} approval{'s' if n > 1 else ''} by "
        f"*{escape(rule.approver_role)}* in {escape(rule.channel)}, within {_duration(rule.expiry_seconds)}. "
        "Closing this form requests nothing."
    )
    return _reason_form(
        REQUEST_VIEW, _draft_metadata(draft), "Request approval", "Request", "Cancel",
        "Reason (optional): the approvers and the audit trail see it", intro=summary, notify_on_close=True,
    )


# Draft params shown to people only: cut when the draft would not fit a view's private_metadata.
_SHOWN_ONLY = ("target_label", "target_title", "target_department")


def _draft_metadata(draft: Draft) -> str:
    """The draft as private_metadata (3,000 characters at most): the display-only params are cut, as
    often as needed, never what the action or the policy depends on (verb, target, ids, group)."""
    metadata = draft.model_dump_json()
    keep = bk.PRIVATE_METADATA
    while len(metadata) > bk.PRIVATE_METADATA and keep > 1:
        keep //= 2
        params = {**draft.params} | {k: fit(str(draft.params[k]), keep) for k in _SHOWN_ONLY if draft.params.get(k)}
        metadata = draft.model_copy(update={"params": params}).model_dump_json()
    return metadata


def deny_form(metadata: str) -> dict[str, Any]:
    return _reason_form(DENY_VIEW, metadata, "Deny request", "Deny", "Back", "Why? The requester will see this.")


def _reason_form(
    callback_id: str, metadata: str, title: str, submit: str, close: str, label: str,
    *, intro: str | None = None, notify_on_close: bool = False,
) -> dict[str, Any]:
    """A modal asking for an optional reason (block REASON_BLOCK, input REASON_INPUT)."""
    blocks: list[Block] = [bk.section(intro)] if intro else []
    blocks.append(
        InputBlock(
            block_id=REASON_BLOCK,
            label=fit_plain(label, bk.INPUT_LABEL),
            element=PlainTextInputElement(action_id=REASON_INPUT, multiline=True, max_length=500),
            optional=True,
        )
    )
    return View(
        type="modal", callback_id=callback_id, private_metadata=metadata, title=fit_plain(title, bk.MODAL_TITLE),
        submit=fit_plain(submit, bk.MODAL_TITLE), close=fit_plain(close, bk.MODAL_TITLE),
        notify_on_close=notify_on_close, blocks=blocks,
    ).to_dict()


def _status(request: ApprovalRequest) -> str:
    """Where the request stands, by whom and since when (mrkdwn): the message's status line and the DM's."""
    line = _STATE_LINES[request.state]
    if request.state == ApprovalState.FAILED and request.started_at is None:  # stopped while pending
        line = ":x: Stopped: it no longer passes the policy"
    match request.state:
        case ApprovalState.PENDING:
            line += f": {len(request.approved)} of {request.required_approvals}"
        case ApprovalState.EXECUTING if request.started_at:
            line += f" since {slack_date(request.started_at)}…"
        case ApprovalState.DENIED | ApprovalState.CANCELLED if request.closed_by:
            line += f" by <@{request.closed_by}>"
    if request.state.terminal and request.closed_at:
        line += f" {slack_date(request.closed_at)}"
    if request.reconciled:
        line += " (the bot restarted while it ran: checked in Okta, never run twice)"
    if not request.outcome_detail:
        return line
    # a deny reason is what the approver typed; every other detail is already mrkdwn (escaped)
    detail = escape(request.outcome_detail) if request.state == ApprovalState.DENIED else request.outcome_detail
    return f"{line}\n>{detail}"


def _approvers(request: ApprovalRequest) -> str:
    return ", ".join(f"<@{a.by}> {slack_date(a.at)}" for a in request.approved) or "nobody yet"


def _label(request: ApprovalRequest) -> str:
    """The target as described when asked (already escaped mrkdwn)."""
    return str(request.params.get("target_label") or escape(request.target or request.target_id or ""))


def _duration(seconds: int) -> str:
    return f"{seconds // 3600} h" if seconds % 3600 == 0 else f"{round(seconds / 60)} min"


def _operation(request: ApprovalRequest) -> Operation:
    assert request.target_id is not None
    return Operation(verb=Verb(request.verb), user_id=request.target_id, group_id=request.params.get("group_id"))


def _refusal_text(result: TransitionResult) -> str:
    if result.refusal == Refusal.NOT_PENDING and result.request is not None:
        return f"This request is already {result.request.state.lower()}; nothing changed."
    return _REFUSALS.get(result.refusal, "That did not work.") if result.refusal else ""
