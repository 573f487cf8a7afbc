"""The "Was this you?" flow: an Okta event worth asking about -> a question to the employee by DM
-> "Yes" (recorded, the alert marked), "No" (containment at once, an incident for the security
role), or silence (escalated). Every state change is a script in confirm/store.py; this module does
the work each state calls for, and that work may be done again by the sweeper after a crash, so
each step checks what is already done (containment steps are kept per step).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable

import redis.asyncio as aioredis
from pydantic import ValidationError

from actions.identity import Identities
from actions.invocation import Invocation
from actions.operations import Operation, perform, took_effect
from alerts.format import AlertMessage, render_event
from alerts.ledger import Ledger
from audit.record import AuditRecord, Source
from audit.recorder import Recorder, now
from confirm import messages
from confirm.accounts import UNREACHABLE, SlackAccounts
from confirm.observe import ANSWERS, CONTAINMENT, Answer
from confirm.signals import Detector
from confirm.store import NewEvent, Question, QuestionStore, State
from oktaclient import OktaClient
from oktaclient.errors import OktaError, OktaTransportError
from oktaclient.models import LogEvent
from policy import Policy, Verb
from policy.was_this_you import WasThisYou
from slackport import Reply, SlackError, SlackPort

log = logging.getLogger(__name__)

VERB = "was-this-you"  # the audit records' verb for questions and answers
SYSTEM = "system:was-this-you"
# The containment steps and follow-ups, as the operations they are.
_VERBS = {
    "clear_sessions": Verb.CLEAR_SESSIONS, "reset_factors": Verb.RESET_MFA, "expire_password": Verb.EXPIRE_PASSWORD,
    "suspend": Verb.SUSPEND, "reset_password": Verb.RESET_PASSWORD,
}  # fmt: skip


class WasThisYouFlow:
    def __init__(
        self,
        redis: aioredis.Redis,
        okta: OktaClient,
        slack: SlackPort,
        policy: Policy,
        identities: Identities,
        recorder: Recorder,
        *,
        org_url: str,
        clock: Callable[[], float] = time.time,
        lease_s: float = 60.0,
    ) -> None:
        if policy.was_this_you is None:
            raise ValueError("the policy has no 'was_this_you' section")
        self.rules: WasThisYou = policy.was_this_you
        self._policy = policy
        self.store = QuestionStore(redis, lease_s=lease_s)
        self._detector = Detector(redis, self.rules)
        self._alerts = Ledger(redis, stale_ms=60_000)  # read only: where each event's alert was posted
        self._accounts = SlackAccounts(redis, okta, slack)
        self._okta = okta
        self._slack = slack
        self._identities = identities
        self._recorder = recorder
        self._org_url = org_url
        self._clock = clock
        self._answered: set[asyncio.Task[None]] = set()  # the work of answers (strong references)

    # --- events in --------------------------------------------------------------------------------

    async def on_event(self, event: LogEvent) -> None:
        """One event from the alert stream (at least once): asks, contains or joins an open incident."""
        suspicion = await self._detector.examine(event)
        if suspicion is None:
            return
        subject = suspicion.subject
        assert subject.id is not None  # the detector only suspects events about a known user
        new = NewEvent(
            question_id=secrets.token_hex(8),
            uuid=event.uuid,
            json=event.model_dump_json(exclude_unset=True),
            signal=suspicion.signal.value,
            okta_id=subject.id,
            login=subject.alternateId or subject.id,
            event_at=event.published.timestamp(),
        )
        opened = await self.store.open(new, now=self._clock(), window_s=self.rules.incident_window)
        if opened.outcome == "work" and opened.state is not None:
            await self._work(opened.question_id, opened.state, opened.fence)
        elif opened.outcome == "joined":
            await self._refresh_incident(opened.question_id)

    # --- clicks -----------------------------------------------------------------------------------

    async def click(self, inv: Invocation, action_id: str, question_id: str) -> None:
        if action_id in (messages.YES, messages.NO):
            await self._answer(inv, question_id, "yes" if action_id == messages.YES else "no")
        else:
            await self._follow_up(inv, question_id, action_id.removeprefix(messages.ACTION_PREFIX))

    async def _answer(self, inv: Invocation, question_id: str, answer: str) -> None:
        answered = await self.store.answer(question_id, inv.user_id, answer, now=self._clock())
        if answered.outcome == "foreign":
            await self._record(inv.user_id, "refused", source="button", detail="a question sent to someone else")
            await inv.respond(messages.refused("This question was sent to someone else."))
            return
        if answered.outcome != "ok" or answered.state is None:
            await inv.respond(messages.refused("This question is already answered or closed."))
            return
        q = await self.store.get(question_id)
        assert q is not None
        ANSWERS.count(Answer.YES if answer == "yes" else Answer.NO)
        await self._record(inv.user_id, answer, q, source="button")
        # In a task of its own: the click's handler slot is not held while the incident waits its
        # turn in the security channel (paced), which under a burst of "No"s would hold up the
        # containment of the clicks behind it. A failure leaves the work to the lease's sweeper.
        task = asyncio.get_running_loop().create_task(self._work_or_log(question_id, answered.state, answered.fence))
        self._answered.add(task)
        task.add_done_callback(self._answered.discard)
        if answer == "no":  # told at once: the outcome comes after containment and the paced incident post
            try:
                await inv.respond(messages.securing(), ephemeral=False, replace_original=True)
            except SlackError as exc:  # the outcome still comes, by chat.update
                log.warning("was-this-you %s: employee not told we are on it (%s)", question_id, exc.error)

    async def _work_or_log(self, question_id: str, state: State, fence: int) -> None:
        try:
            await self._work(question_id, state, fence)
        except Exception:  # its lease runs out and the sweeper takes it over
            log.exception("was-this-you question %s: %s not finished", question_id, state)

    async def drain(self, timeout: float) -> None:
        """On shutdown: lets the work of answers given so far finish, `timeout` at most (what is cut
        short is the sweeper's once its lease runs out)."""
        if self._answered:
            _, late = await asyncio.wait(set(self._answered), timeout=timeout)
            for task in late:
                task.cancel()

    async def _follow_up(self, inv: Invocation, question_id: str, action: str) -> None:
        identity = await self._identities.of(inv.user_id, fresh=True)
        if self.rules.security_role not in identity.roles:
            await self._record(
                inv.user_id, "refused", source="button", detail=f"{action}: not {self.rules.security_role}"
            )
            await inv.respond(messages.refused(f"Only the {self.rules.security_role} role can do this."))
            return
        q = await self.store.get(question_id)
        if q is None:
            await inv.respond(messages.refused("This incident is closed."))
            return
        if action != "resolve" and await self._protected(q):  # read now: the buttons may predate it
            await self._record(inv.user_id, "refused", q, source="button", verb=_verb_name(action),
                               detail="protected account")  # fmt: skip
            await inv.respond(messages.refused(messages.PROTECTED_REFUSAL.format(login=q.login)))
            await self._refresh_incident(question_id)
            return
        outcome, who = await self.store.follow_up(question_id, action, inv.user_id)
        if outcome == "done":
            await inv.respond(messages.refused(f"<@{who}> has done this already."))
            return
        if outcome == "closed":
            await inv.respond(messages.refused("This incident is closed."))
            return
        if action == "resolve":
            await self._record(inv.user_id, "resolved", q, source="button")
            await inv.respond(Reply(text=":white_check_mark: Incident marked resolved."))
        else:
            result = await self._run_step(action, q)
            await self._record(inv.user_id, "succeeded" if result == "ok" else "failed", q, source="button",
                               verb=_verb_name(action), detail=result if result != "ok" else "")  # fmt: skip
            done = f":white_check_mark: {messages.FOLLOW_UPS[action][0]}: done." if result == "ok" else result
            await inv.respond(Reply(text=done))
        await self._refresh_incident(question_id)

    # --- the work of each state ---------------------------------------------------------------------

    async def sweep_once(self) -> int:
        """Questions past their deadline escalate; work whose worker died is taken over. Returns how many."""
        claimed = await self.store.take_due(self._clock())
        for item in claimed:
            try:
                await self._work(item.question_id, item.state, item.fence)
            except Exception:  # the others still go; this one comes round again when its lease ends
                log.exception("was-this-you question %s: %s not finished", item.question_id, item.state)
        return len(claimed)

    async def run_sweeper(self, interval_s: float = 5.0) -> None:
        while True:
            try:
                await self.sweep_once()
            except Exception:
                log.exception("was-this-you sweep failed; retrying in %.0f s", interval_s)
            await asyncio.sleep(interval_s)

    async def _work(self, question_id: str, state: State, fence: int) -> None:
        q = await self.store.get(question_id)
        if q is None or q.state is not state:
            return
        events = await self._events(question_id)
        if not events:
            return
        if state is State.NEW:
            with contextlib.suppress(_Superseded):
                await self._ask(q, events, fence)
        elif state is State.CONFIRMING:
            await self._confirm(q, events, fence)
        elif state is State.CONTAINING:
            await self._contain(q, events, fence)
        elif state is State.ESCALATING:
            await self._escalate(q, events, fence)

    async def _ask(self, q: Question, events: list[LogEvent], fence: int) -> None:
        person_id = await self._accounts.of(q.okta_id, q.login)
        # A DM claimed under an earlier fence and not recorded: its worker died while sending it, and
        # it may be in Slack. At most one DM: none is sent again (the deadline still escalates).
        unsure = q.dm is None and q.dm_claim != ""
        if person_id is not None and q.dm is None and not unsure:
            person_id = await self._send_question(q, events, fence, person_id)
        if person_id is None:
            moved = await self.store.advance(
                q.id, fence, State.NEW, to=State.ESCALATING, keep_due=True, reason="no_slack_account", answer="timeout"
            )
            if moved:
                await self._escalate(await self._reread(q), events, fence)
            return
        deadline = self._clock() + self.rules.answer_within
        if await self.store.advance(q.id, fence, State.NEW, to=State.ASKING, due=deadline, deadline=deadline):
            note = "; the DM may not have reached them (a restart while sending it)" if unsure else ""
            await self._record(SYSTEM, "asked", q, detail=f"{q.signal}; asked <@{person_id}>{note}")

    async def _send_question(self, q: Question, events: list[LogEvent], fence: int, person_id: str) -> str | None:
        """Sends the question; returns whom it went to. A member whom the DM no longer reaches (an
        account kept in confirm/accounts.py since deactivated, say) is looked up afresh, once: None
        when Slack knows nobody by the email now."""
        try:
            await self._send_to(q, events, fence, person_id)
            return person_id
        except SlackError as exc:
            if not (exc.certain and exc.error in UNREACHABLE):
                raise
        found = await self._accounts.of(q.okta_id, q.login, fresh=True)
        if found is not None:
            await self._send_to(q, events, fence, found)
        return found

    async def _send_to(self, q: Question, events: list[LogEvent], fence: int, person_id: str) -> None:
        """Claims the DM (whom it is for, under this fence), sends it, notes where it went. A click
        that comes before the question is recorded as asked finds it open (store: answer)."""
        if not await self.store.advance(q.id, fence, State.NEW, keep_due=True, slack_id=person_id, dm_claim=fence):
            raise _Superseded
        try:
            dm = await self._slack.dm(person_id, messages.question(q, events[0]))
        except SlackError as exc:
            if exc.certain:  # nothing was sent: the claim goes, and the next attempt sends it
                await self.store.advance(q.id, fence, State.NEW, keep_due=True, dm_claim="")
            raise
        await self.store.note(q.id, dm_channel=dm.channel, dm_ts=dm.ts)

    async def _confirm(self, q: Question, events: list[LogEvent], fence: int) -> None:
        marked = False
        for event in reversed(events):
            found = await self._alerts.posted(event.uuid)
            if found is not None:
                alert = render_event(event, self._org_url)
                mark = messages.confirmed_mark(q.slack_id)
                with contextlib.suppress(SlackError):  # gone or too old to edit: the note below instead
                    await self._slack.update(*found, AlertMessage(alert.text, [*alert.blocks, mark]).reply)
                    marked = True
                break
        if not marked:
            await self._slack.post(self.rules.channel, messages.confirmed_note(q, events[0]))
        await self._tell_employee(q, messages.confirmed_dm(q, events[0]))
        await self.store.advance(q.id, fence, State.CONFIRMING, to=State.CONFIRMED)

    async def _contain(self, q: Question, events: list[LogEvent], fence: int) -> None:
        pending = [step.value for step in self.rules.containment if step.value not in q.steps]
        if pending and await self._protected(q):  # from Okta's state now, before any change
            pending = []
            await self._record(SYSTEM, "refused", q, detail=f"{q.signal}: protected account, not contained from Slack")
        for step in pending:  # a step done before a crash is not in `pending`: never twice
            if step in q.started:  # begun under an earlier fence, which died inside the Okta call
                result = await self._settle(step, q)
            elif await self.store.advance(
                q.id, fence, State.CONTAINING, keep_due=True, extra={f"start:{step}": str(fence)}
            ):
                result = await self._run_step(step, q)
            else:
                return  # another worker took over
            done = {f"done:{step}": result}
            if not await self.store.advance(q.id, fence, State.CONTAINING, keep_due=True, extra=done):
                return  # another worker took over
            outcome = "succeeded" if result == "ok" else "failed"
            await self._record(SYSTEM, outcome, q, verb=_verb_name(step), detail="" if result == "ok" else result)
        q = await self._reread(q)
        if not q.protected:
            CONTAINMENT.add(max(0.0, self._clock() - q.event_at))
        if q.answer == "reported":
            ANSWERS.count(Answer.NO)
            await self._record(SYSTEM, "reported", q, source="hook")
        await self._post_incident(q, events, fence, State.CONTAINING)
        if not q.slack_id:
            person = await self._accounts.of(q.okta_id, q.login)
            q = q if person is None else await self._with_slack_id(q, fence, person)
        await self._tell_employee(q, messages.contained_dm(q, events[0]))
        await self.store.advance(q.id, fence, State.CONTAINING, to=State.CONTAINED)

    async def _escalate(self, q: Question, events: list[LogEvent], fence: int) -> None:
        with contextlib.suppress(OktaError):  # so that the incident says so; a click checks again anyway
            await self._protected(q)
        await self._post_incident(q, events, fence, State.ESCALATING)
        await self._tell_employee(q, messages.timed_out_dm(q, events[0]))
        if await self.store.advance(q.id, fence, State.ESCALATING, to=State.ESCALATED):
            ANSWERS.count(Answer.TIMEOUT)
            await self._record(SYSTEM, "timeout" if q.reason != "no_slack_account" else "no-slack-account", q)

    # --- helpers ------------------------------------------------------------------------------------

    async def _protected(self, q: Question) -> bool:
        """Whether the policy protects the account, from Okta's state now (remembered on the question
        once true). An Okta error is raised: nothing is changed on an account not known unprotected."""
        if q.protected:
            return True
        user = await self._okta.get_user(q.okta_id)
        groups = [g.profile.name async for g in self._okta.list_user_groups(q.okta_id)]
        if not self._policy.is_protected(user.profile.login, groups):
            return False
        await self.store.note(q.id, protected="1")
        return True

    async def _settle(self, step: str, q: Question) -> str:
        """A step whose worker died inside its Okta call: 'ok' if Okta shows it done, else it runs now
        (clearing sessions leaves nothing to read back, and doing it again is harmless)."""
        if await took_effect(self._okta, Operation(_VERBS[step], q.okta_id)):
            log.info("was-this-you %s on %s: done before a restart, per Okta", step, q.okta_id)
            return "ok"
        return await self._run_step(step, q)

    async def _run_step(self, step: str, q: Question) -> str:
        """'ok', or what went wrong (Okta's summary). No answer at all (OktaTransportError) is raised:
        whether it took effect is unknown, so the step is settled by whoever takes the work over."""
        try:
            await perform(self._okta, Operation(_VERBS[step], q.okta_id))
        except OktaTransportError:
            raise
        except OktaError as exc:
            log.warning("was-this-you %s on %s failed: %s", step, q.okta_id, type(exc).__name__)
            return str(exc)[:200] or type(exc).__name__
        return "ok"

    async def _post_incident(self, q: Question, events: list[LogEvent], fence: int, state: State) -> None:
        q = await self._reread(q)
        reply = messages.incident(q, events, self._org_url)
        if q.incident is not None:
            await self._slack.update(*q.incident, reply)
            return
        posted = await self._slack.post(self.rules.channel, reply)
        await self.store.advance(
            q.id, fence, state, keep_due=True, incident_channel=posted.channel, incident_ts=posted.ts
        )

    async def _refresh_incident(self, question_id: str) -> None:
        q = await self.store.get(question_id)
        if q is not None and q.incident is not None:
            await self._slack.update(*q.incident, messages.incident(q, await self._events(q.id), self._org_url))

    async def _tell_employee(self, q: Question, reply: Reply) -> None:
        """The question's DM becomes the outcome (its buttons go); without one, a new DM if we can."""
        try:
            if q.dm is not None:
                await self._slack.update(*q.dm, reply)
            elif q.slack_id:
                await self._slack.dm(q.slack_id, reply)
        except SlackError as exc:  # the outcome stands; the employee misses a message
            log.warning("was-this-you %s: employee not told (%s)", q.id, exc.error)

    async def _with_slack_id(self, q: Question, fence: int, slack_id: str) -> Question:
        await self.store.advance(q.id, fence, q.state, keep_due=True, slack_id=slack_id)
        return await self._reread(q)

    async def _reread(self, q: Question) -> Question:
        fresh = await self.store.get(q.id)
        return fresh if fresh is not None else q

    async def _events(self, question_id: str) -> list[LogEvent]:
        events = []
        for raw in await self.store.events(question_id):
            with contextlib.suppress(ValidationError):
                events.append(LogEvent.model_validate_json(raw))
        return events

    async def _record(
        self,
        actor: str,
        outcome: str,
        q: Question | None = None,
        *,
        source: Source = "hook",
        verb: str = VERB,
        detail: str = "",
    ) -> None:
        detail = detail or (f"{q.signal}, question {q.id}" if q else "")
        target = q.login if q else None
        await self._recorder.record(
            AuditRecord(at=now(), actor=actor, verb=verb, target=target, outcome=outcome, detail=detail, source=source)
        )


class _Superseded(Exception):
    """Another worker holds the question now (a newer fence): this one stops."""


def _verb_name(step: str) -> str:
    return _VERBS[step].value
