"""The life of an approval request as people see it: ask (with a reason form), decide, run the
approved action once, report.

The state machine and its atomicity are the store's (approvals/store.py, Lua on Redis); what
people read is approvals/messages.py. This module decides who may do what at each step, from
fresh Okta state (the requester may still ask, the approvers still hold their role, the target is
not protected now), runs the approved operation, and keeps the request message and the
requester's DMs in step with the state.
"""

from __future__ import annotations

import json
import logging
from typing import Any, NamedTuple

from access import Grants
from actions.bulk import Batch, BatchStore, without_protected
from actions.bulk_progress import BatchRun
from actions.bulk_report import summary
from actions.describe import describe
from actions.identity import Identities, Identity
from actions.invocation import Invocation
from actions.okta_errors import explain
from actions.operations import EFFECTS, Operation, perform, took_effect
from approvals.lease import LeaseLost, holding
from approvals.messages import (
    BATCH_FORM_SECONDS,
    REFUSALS,
    Draft,
    approval_message,
    approvers_line,
    batch_params,
    deny_form,
    refusal_text,
    request_form,
    requested_reply,
    status_line,
    target_label,
)
from approvals.models import ApprovalRequest, ApprovalState, Claim, Refusal, TransitionResult
from approvals.store import ApprovalStore
from audit import AuditRecord
from audit.recorder import now
from oktaclient import OktaClient
from oktaclient.errors import OktaError, OktaNotFound, OktaTransportError
from oktaclient.models import Group, Outcome, User
from policy import ApprovalRule, Policy, Verb
from policy.verbs import BULK_VERBS
from slackport import Reply, SlackError, SlackPort
from slackport import blockkit as bk
from slacktext import capped, escape, slack_date

log = logging.getLogger(__name__)


class Attempt(NamedTuple):
    """How running an approved action went, as `ApprovalStore.finish` records it."""

    succeeded: bool
    detail: str
    okta_request_id: str | None = None


class ApprovalFlow:
    def __init__(
        self,
        store: ApprovalStore,
        okta: OktaClient,
        slack: SlackPort,
        policy: Policy,
        identities: Identities,
        *,
        batches: BatchStore,
        grants: Grants | None = None,  # runs approved time-bound memberships
    ) -> None:
        self.grants = grants
        self.store = store
        self.okta = okta
        self.slack = slack
        self.policy = policy
        self.identities = identities
        self.recorder = store.recorder
        self.batches = batches  # a batch request's users: its form and params carry only the batch id
        self.batch_run = BatchRun(okta, slack, self.recorder)

    # --- asking -------------------------------------------------------------------------------------

    async def request(
        self,
        inv: Invocation,
        op: Operation,
        user: User,
        group: Group | None,
        rule: ApprovalRule,
        *,
        factor: str | None = None,
        grant_seconds: int | None = None,
        reason: str | None = None,
    ) -> None:
        """Ask for a reason in the request form; the request is posted when it is sent (`submit`).
        `factor`: for reset-mfa, which factor (or "every factor"), as approvers should read it.
        `grant_seconds`: the membership is time-bound (access/); `reason`: given already, no form."""
        draft = Draft(
            verb=op.verb,
            target=user.profile.login,
            target_id=user.id,
            params={
                "group_id": op.group_id,
                "group_name": group.profile.name if group else None,
                **({"factor_id": op.factor_id} if op.factor_id else {}),
                **({"factor_label": factor} if factor else {}),
                "target_label": describe(user),
                "target_status": str(user.status),
                "target_title": user.profile.title,
                "target_department": user.profile.department,
                **({"grant_seconds": grant_seconds} if grant_seconds else {}),
            },
            channel_id=inv.channel_id,
        )
        if reason:
            await self._post(inv, draft, rule, reason)
            return
        await self._ask(inv, draft, rule)

    async def request_batch(self, inv: Invocation, batch: Batch, rule: ApprovalRule) -> None:
        """One request for a whole batch (saved in the BatchStore for as long as it may wait)."""
        await self.batches.save(batch, ttl=rule.expiry_seconds + BATCH_FORM_SECONDS)
        draft = Draft(
            verb=Verb.BULK_ADD_TO_GROUP if batch.adding else Verb.BULK_REMOVE_FROM_GROUP,
            target=batch.group_name,
            target_id=batch.group_id,
            params=batch_params(batch, includes_requester=await self._includes(inv.user_id, batch)),
            channel_id=inv.channel_id,
        )
        await self._ask(inv, draft, rule)

    async def _includes(self, user_id: str, batch: Batch) -> bool:
        identity = await self.identities.of(user_id)
        return any(identity.is_okta_user(user.id) for user in batch.users)

    async def _ask(self, inv: Invocation, draft: Draft, rule: ApprovalRule) -> None:
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
        identity = await self.identities.of(inv.user_id)
        # roles can change while a form is open, and another replica may run another policy
        on_self = identity.is_okta_user(draft.target_id) or bool(draft.params.get("includes_requester"))
        decision = self.policy.decide(draft.verb, identity.roles, group_name=draft.params.get("group_name"), on_self=on_self)
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
        request = await self.store.create(
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
        message = approval_message(request)
        try:
            posted = await self.slack.post(rule.channel, message)
        except SlackError as exc:  # e.g. the bot is not in the channel: no approver would ever see it
            await self.store.cancel(request.id, inv.user_id)  # rather than leave it pending unseen
            error = exc.error
            text = f":x: I could not post to {escape(rule.channel)} (`{error}`), so nothing was requested. Tell your Slack admin."
            await inv.respond(Reply(text=text), replace_original=inv.source == "command")
            return
        await self.store.attach_message(request.id, posted.channel, posted.ts)
        # a click or the sweeper may have got there before the message was attached, unseen
        await self._refresh(request.id, shown=message)
        await inv.respond(requested_reply(draft, rule, request), replace_original=inv.source == "command")

    async def list_pending(self, inv: Invocation) -> None:
        pending = await self.store.pending()
        if not pending:
            text = "No approval requests are pending."
        else:
            lines = [
                f"• `{r.id}` <@{r.requester}> `{r.verb}` {target_label(r)} "
                f"({len(r.approvals)}/{r.required_approvals} approvals, expires {slack_date(r.deadline)})"
                for r in pending
            ]
            title = f"*{len(pending)} pending approval request(s)*\n"
            text = title + capped(lines, bk.MESSAGE_TEXT - len(title))
        await inv.respond(Reply(text=text), replace_original=inv.source == "command")

    async def cancel(self, inv: Invocation, approval_id: str) -> None:
        result = await self.store.cancel(approval_id, inv.user_id)
        if await self._settle(inv, result):
            await inv.respond(Reply(text=f"Request `{approval_id}` is cancelled."), replace_original=inv.source == "command")

    # --- deciding -----------------------------------------------------------------------------------

    async def decider(self, inv: Invocation, approval_id: str, verb: str) -> tuple[Identity, ApprovalRequest] | None:
        """The clicker and the request, when the clicker may decide it: they hold the request's
        approver role now (read fresh from Okta, not from the identity cache) and the request is not
        about their own account."""
        identity = await self.identities.of(inv.user_id, fresh=True)
        request = await self.store.get(approval_id)
        if request is None:
            await inv.respond(Reply(text=REFUSALS[Refusal.NOT_FOUND]))
            return None
        if request.approver_role not in identity.roles:
            await self._audit_refusal(inv, identity, verb, request.target, f"not an {request.approver_role}", approval_id)
            await inv.respond(
                Reply(text=f":no_entry: Only holders of the *{escape(request.approver_role)}* role can decide this request.")
            )
            return None
        if identity.is_okta_user(request.target_id):
            await self._audit_refusal(inv, identity, verb, request.target, "the request is about them", approval_id)
            await inv.respond(Reply(text=f":no_entry: {REFUSALS[Refusal.TARGET_DECISION]}"))
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
        result = await self.store.approve(approval_id, inv.user_id, approver_okta_id=identity.okta_user_id)
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
        if verb in BULK_VERBS:
            return await self._batch_no_longer_allowed(request, approvers=approvers)
        requester = await self.identities.of(request.requester, fresh=True)
        on_self = requester.is_okta_user(request.target_id)
        group = request.params.get("group_name")
        if not self.policy.decide(verb, requester.roles, group_name=group, on_self=on_self).allowed:
            return f"<@{request.requester}> may no longer run `{verb.value}`"
        assert request.target_id is not None  # every request names its target
        user = await self.okta.get_user(request.target_id)
        groups = [g.profile.name async for g in self.okta.list_user_groups(user.id)]
        if self.policy.is_protected(user.profile.login, groups):
            return f"{describe(user)} is now a protected account"
        return await self._approvers_stale(request) if approvers else None

    async def _batch_no_longer_allowed(self, request: ApprovalRequest, *, approvers: bool) -> str | None:
        """For a batch: the group still exists and the requester may still change it, asked with
        the group's name now (a renamed group may have become privileged). The users are checked
        when it runs: a protected one is left out, a deleted one is not found."""
        assert request.target_id is not None  # a batch request names its group
        try:
            group = await self.okta.get_group(request.target_id)
        except OktaNotFound:
            return f"the group *{escape(request.target or request.target_id)}* no longer exists"
        requester = await self.identities.of(request.requester, fresh=True)
        on_self = bool(request.params.get("includes_requester"))
        if not self.policy.decide(request.verb, requester.roles, group_name=group.profile.name, on_self=on_self).allowed:
            return f"<@{request.requester}> may no longer run `{request.verb}`"
        return await self._approvers_stale(request) if approvers else None

    async def _approvers_stale(self, request: ApprovalRequest) -> str | None:
        for approver in request.approvals:
            if request.approver_role not in (await self.identities.of(approver, fresh=True)).roles:
                return f"<@{approver}> no longer holds the *{escape(request.approver_role)}* role"
        return None

    async def _stop(self, request: ApprovalRequest, why: str) -> None:
        """End a pending request that can no longer run: FAILED, with the reason on its message."""
        result = await self.store.fail_pending(request.id, why)
        if result.ok and result.request is not None:
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
        result = await self.store.deny(approval_id, inv.user_id, reason, approver_okta_id=identity.okta_user_id)
        if await self._settle(inv, result):
            assert result.request is not None
            await self._tell_requester(result.request)

    async def _settle(self, inv: Invocation, result: TransitionResult) -> bool:
        """Show what a click changed; answer a refusal. True when the transition happened."""
        changed = result.ok or result.refusal == Refusal.EXPIRED  # a call past the deadline expires it
        if changed and result.request is not None:
            await self._refresh(result.request.id)
        if result.ok:
            return True
        await inv.respond(Reply(text=refusal_text(result)), replace_original=inv.source == "command")
        if result.refusal == Refusal.EXPIRED and result.request is not None:
            await self._tell_requester(result.request)
        return False

    async def _execute(self, request: ApprovalRequest, executor: str) -> None:
        """Run the approved action (or batch) under its execution lease, then record how it ended."""
        run = self._run_batch(request) if Verb(request.verb) in BULK_VERBS else self._attempt(request)
        try:
            attempt = await holding(self.store, request.id, executor, run)
        except LeaseLost:  # the lease ran out (this replica stalled) and a sweeper settles it instead
            log.warning("approval %s: execution taken over by another replica; its outcome is theirs", request.id)
            return
        finished = await self.store.finish(request.id, *attempt, executor=executor)
        await self._finished(request, finished)

    async def _attempt(self, request: ApprovalRequest) -> Attempt:
        op = _operation(request)
        effect = EFFECTS[op.verb]
        label = target_label(request)
        sent = False
        try:
            # authorisation decided again right before the change, from Okta as it is now
            stale = await self._no_longer_allowed(request, approvers=True)
            if stale is not None:
                return Attempt(False, f"Not run: {stale}.")
            sent = True
            outcome = await self._perform(request, op)
        except OktaError as exc:
            # no answer to the write: a slow Okta may have carried it out all the same
            if sent and isinstance(exc, OktaTransportError) and await self._took_effect(request):
                return Attempt(True, f"{label}: {effect.past} (Okta answered too late, but shows it done)")
            return Attempt(False, explain(exc, f"{effect.working} {label}"), getattr(exc, "request_id", None))
        return Attempt(True, f"{label}: {effect.past}", outcome.request_id)

    async def _run_batch(self, request: ApprovalRequest) -> Attempt:
        """Run an approved batch once, with its progress message: succeeded when no change failed
        (not found and unchanged users are not failures), failed otherwise."""
        try:
            stale = await self._batch_no_longer_allowed(request, approvers=True)
            batch = await self.batches.load(str(request.params.get("batch_id")))
            if stale is None and (batch is None or batch.requester != request.requester):
                stale = "the batch is no longer stored (it expired)"
            if stale is not None or batch is None:
                return Attempt(False, f"Not run: {stale}.")
            batch = await without_protected(self.okta, self.policy, batch)
            tally = await self.batch_run.run(batch, actor=request.requester, source="approval", approval_id=request.id)
        except OktaError as exc:
            action = f"Running the batch on group *{escape(request.target or '')}*"
            return Attempt(False, explain(exc, action), getattr(exc, "request_id", None))
        return Attempt(not tally.failed, summary(batch, tally))

    async def _perform(self, request: ApprovalRequest, op: Operation) -> Outcome:
        seconds = request.params.get("grant_seconds")
        if seconds is None:
            return await perform(self.okta, op)
        if self.grants is None or op.group_id is None:  # never a lasting membership in place of a time-bound one
            raise RuntimeError("a time-bound membership was approved, but time-bound access is not running")
        # `request` is the requester's own membership: they are told. An agent's add-to-group is the
        # member's, found in Slack by their Okta email; the agent hears of it as the one who asked.
        own = request.verb == Verb.REQUEST.value
        given = await self.grants.give(
            user=await self.okta.get_user(op.user_id), group=await self.okta.get_group(op.group_id), seconds=int(seconds),
            by=request.executed_by or request.requester, asked_by=request.requester,
            notify=request.requester if own else None, reason=request.reason, source="approval", approval_id=request.id,
        )
        return Outcome(request_id=given.okta_request_id)

    async def _finished(self, request: ApprovalRequest, finished: TransitionResult) -> None:
        if finished.ok:  # refused: a reconciliation took over (and showed and told) meanwhile
            assert finished.request is not None
            await self._refresh(request.id)
            await self._tell_requester(finished.request)

    # --- housekeeping (the sweeper) ------------------------------------------------------------------

    async def expired(self, request: ApprovalRequest) -> None:
        """The sweeper expired this request: show it and tell the requester."""
        await self._refresh(request.id)
        await self._tell_requester(request)

    async def reconcile(self, claim: Claim) -> None:
        """The sweeper took over an execution whose lease ran out (its replica died or stopped):
        settle it from what Okta shows, never run it again, and show and tell the outcome."""
        request = claim.request
        try:
            effect = await holding(self.store, request.id, claim.executor, self._took_effect(request))
        except LeaseLost:  # this sweeper stalled past its own lease: the next claim settles it
            return
        result = await self.store.reconcile(request.id, effect, executor=claim.executor)
        if result.ok and result.request is not None:
            await self._refresh(request.id)
            await self._tell_requester(result.request)

    async def _took_effect(self, request: ApprovalRequest) -> bool | None:
        try:
            return await took_effect(self.okta, _operation(request))
        except OktaError:  # after the client's retries: Okta does not tell now
            return None

    # --- Slack --------------------------------------------------------------------------------------

    async def _open_form(self, trigger_id: str, view: dict[str, Any]) -> bool:
        try:
            await self.slack.open_modal(trigger_id, view)
        except SlackError as exc:  # most often expired_trigger_id: Slack allows 3 seconds after the click
            log.info("form not opened: %s", exc.error)
            return False
        return True

    async def _refresh(self, approval_id: str, shown: Reply | None = None) -> None:
        """Make the approval message show the request as it stands in Redis.

        Replicas refresh concurrently and Slack applies updates as they arrive, so an update with
        an older state can land after a newer one. Hence: read, update, read again, and update again
        while the state moved on meanwhile; whichever update lands last, its writer then sees the
        final state. `shown` is what the message shows already, if known.
        """
        while (request := await self.store.get(approval_id)) and request.channel and request.message_ts:
            message = approval_message(request)
            if message == shown:
                return
            try:
                await self.slack.update(request.channel, request.message_ts, message)
            except SlackError as exc:  # the state is in Redis; a stale message must not stop the flow
                log.warning("approval message %s not updated: %s", approval_id, exc.error)
                return
            shown = message

    async def _tell_requester(self, request: ApprovalRequest) -> None:
        text = f"Your request `{request.id}` (`{request.verb}` {target_label(request)}): {status_line(request)}"
        if request.state == ApprovalState.PENDING:
            text += f"\nApproved by {approvers_line(request)}"
        try:
            await self.slack.dm(request.requester, Reply(text=text))
        except SlackError as exc:
            log.warning("requester DM for %s failed: %s", request.id, exc.error)

    async def _audit_refusal(
        self, inv: Invocation, identity: Identity, verb: str, target: str | None, why: str, approval_id: str | None = None
    ) -> None:
        record = AuditRecord(
            at=now(), actor=inv.user_id, actor_email=identity.email, verb=verb, target=target,
            outcome="refused", detail=why, approval_id=approval_id, source="approval",
        )
        await self.recorder.record(record)


def _operation(request: ApprovalRequest) -> Operation:
    assert request.target_id is not None
    verb = Verb(request.verb)
    return Operation(
        # `request <group>` (an employee's own time-bound membership) is an add once approved
        verb=Verb.ADD_TO_GROUP if verb == Verb.REQUEST else verb,
        user_id=request.target_id,
        group_id=request.params.get("group_id"),
        factor_id=request.params.get("factor_id"),
    )
