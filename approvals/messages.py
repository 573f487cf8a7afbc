"""The Slack side of an approval that people read and fill in: the request message in the approvals
channel (updated at every step), the request and deny forms, the status lines of DMs, the words
for each refusal. Everything is built within Slack's limits (slackport.blockkit)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from access.duration import short_duration
from actions.bulk import Batch
from actions.describe import status_marker
from approvals.models import ApprovalRequest, ApprovalState, Refusal, TransitionResult
from policy import ApprovalRule, Verb
from slackport import Reply
from slackport import blockkit as bk
from slackport.blockkit import ActionsBlock, Block, InputBlock, PlainTextInputElement, View
from slacktext import capped, escape, fit, fit_plain, slack_date

APPROVE_ACTION = "approval:approve"
DENY_ACTION = "approval:deny"
CANCEL_ACTION = "approval:cancel"
REQUEST_VIEW = "approval:request"
DENY_VIEW = "approval:deny"
REASON_BLOCK, REASON_INPUT = "reason", "reason_input"
# A batch waits in the BatchStore while its request form is open, then for as long as the request may.
BATCH_FORM_SECONDS = 3600
_BATCH_PREVIEW = 20  # logins of a batch shown to approvers (all of them are in the final report)

_STATE_LINES = {
    ApprovalState.PENDING: ":hourglass_flowing_sand: Waiting for approval",
    ApprovalState.EXECUTING: ":gear: Approved: running in Okta",
    ApprovalState.SUCCEEDED: ":white_check_mark: Approved and done",
    ApprovalState.FAILED: ":x: Approved, but it failed",
    ApprovalState.DENIED: ":no_entry_sign: Denied",
    ApprovalState.EXPIRED: ":alarm_clock: Expired: nobody decided in time",
    ApprovalState.CANCELLED: ":leftwards_arrow_with_hook: Cancelled",
}

REFUSALS = {
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


def approval_message(request: ApprovalRequest) -> Reply:
    p = request.params
    group = _object(p)
    profile = " · ".join(escape(v) for v in (p.get("target_title"), p.get("target_department")) if v)
    status = p.get("target_status")
    who = f"*Users*\n{p['users_preview']}" if "batch_id" in p else f"*User*\n{target_label(request)}"
    facts = [
        f"*Requested by*\n<@{request.requester}>",
        f"*Action*\n`{request.verb}`{group}",
        who + (f"\n{profile}" if profile else ""),
        f"*Status when asked*\n{status_marker(status) if status else '—'}",
        f"*Needs*\n{request.required_approvals} × {escape(request.approver_role)}",
        f"*Approved by*\n{approvers_line(request)}",
    ]
    blocks: list[Block] = [bk.header(f"Approval request: {request.verb}"), bk.fields(facts)]
    if request.reason:
        blocks.append(bk.section(f"*Reason*\n{escape(request.reason)}"))
    blocks.append(bk.section(status_line(request)))
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


def batch_params(batch: Batch, *, includes_requester: bool) -> dict[str, Any]:
    """A batch request's params: its id (the users are in the BatchStore), its group, and what
    approvers read: how many users, the first logins, who was not found."""
    logins = [escape(user.login) for user in batch.users]
    preview = f"{len(logins)} user{'s' if len(logins) != 1 else ''}: " + capped(logins, 1000, sep=", ", at_most=_BATCH_PREVIEW)
    if batch.not_found:
        preview += f"\n{len(batch.not_found)} not found, left out"
    if batch.refused:
        preview += f"\n{len(batch.refused)} protected, left out"
    return {
        "batch_id": batch.id,
        "group_id": batch.group_id,
        "group_name": batch.group_name,
        "target_label": f"{len(batch.users)} user{'s' if len(batch.users) != 1 else ''}",
        "users_preview": preview,
        "includes_requester": includes_requester,
    }


def requested_reply(draft: Draft, rule: ApprovalRule, request: ApprovalRequest) -> Reply:
    """What the requester sees once the request is posted, with a button to take it back."""
    n = rule.required_approvals
    text = (
        f":raised_hand: `{draft.verb}` on {draft.label} needs {n} approval{'s' if n > 1 else ''} "
        f"by *{escape(rule.approver_role)}*: request `{request.id}` is posted in {escape(rule.channel)}. "
        f"I'll DM you when it is decided."
    )
    return bk.reply(text, [bk.section(text), ActionsBlock(elements=[bk.button("Cancel request", CANCEL_ACTION, request.id)])])


def _object(params: dict[str, Any]) -> str:
    """What the action is on besides the user: a group, or (reset-mfa) a factor."""
    if params.get("group_name"):
        timed = f" for *{short_duration(int(params['grant_seconds']))}*" if params.get("grant_seconds") else ""
        return f" in group *{escape(params['group_name'])}*{timed}"
    if params.get("factor_label"):
        return f": *{escape(params['factor_label'])}*"
    return ""


def request_form(draft: Draft, rule: ApprovalRule) -> dict[str, Any]:
    n = rule.required_approvals
    group = _object(draft.params)
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
_SHOWN_ONLY = ("target_label", "target_title", "target_department", "users_preview")


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


def status_line(request: ApprovalRequest) -> str:
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


def approvers_line(request: ApprovalRequest) -> str:
    return ", ".join(f"<@{a.by}> {slack_date(a.at)}" for a in request.approved) or "nobody yet"


def target_label(request: ApprovalRequest) -> str:
    """The target as described when asked (already escaped mrkdwn)."""
    return str(request.params.get("target_label") or escape(request.target or request.target_id or ""))


def _duration(seconds: int) -> str:
    return f"{seconds // 3600} h" if seconds % 3600 == 0 else f"{round(seconds / 60)} min"


def refusal_text(result: TransitionResult) -> str:
    if result.refusal == Refusal.NOT_PENDING and result.request is not None:
        return f"This request is already {result.request.state.lower()}; nothing changed."
    return REFUSALS.get(result.refusal, "That did not work.") if result.refusal else ""
