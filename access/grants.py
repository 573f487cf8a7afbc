"""Time-bound membership: give it, extend it, end it (released or expired) exactly once.

Okta is the source of truth. A grant never removes access it did not give: a member before the
grant stays one. A membership removed by hand before the end, or a group or user deleted meanwhile,
ends the grant cleanly with a note. A removal Okta refuses for now (429, 5xx, a broken connection)
is tried again with backoff; after `failures_before_alert` failures the security channel is told.

Ending takes the grant's lease (access/store.py), so any replica may run `tick()` and each removal
is made once, across replicas and restarts; a bot that was down removes everything overdue at its
first tick.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from access.clock import Clock, SystemClock
from access.duration import short_duration
from access.messages import (
    agent_message,
    ended_message,
    extended_message,
    granted_message,
    reminder_message,
    stuck_alert,
)
from access.models import Ending, Grant
from access.store import GrantStore
from audit import AuditRecord, Source
from oktaclient import OktaClient
from oktaclient.errors import OktaError, OktaNotFound
from oktaclient.models import Group, User
from policy import Policy, Verb
from slackport import Reply, SlackError, SlackPort

log = logging.getLogger(__name__)

SYSTEM = "system:access"  # the audit actor of a grant ending on time
FIRST_RETRY_S = 30.0
MAX_RETRY_S = 900.0
CONCURRENT_ENDINGS = 16  # removals in flight at once per replica (the Okta client paces them to the rate limits)


@dataclass(frozen=True)
class Given:
    grant: Grant
    extended: bool  # the user had an active grant in the group already: it now ends later
    okta_request_id: str | None = None


class Grants:
    def __init__(self, store: GrantStore, okta: OktaClient, slack: SlackPort, policy: Policy, clock: Clock | None = None) -> None:
        self.store = store
        self.okta = okta
        self.slack = slack
        self.policy = policy
        self.clock = clock or SystemClock()
        self._reminder = policy.access.reminder if policy.access else 900
        self._alert_after = policy.access.failures_before_alert if policy.access else 3

    # --- giving -------------------------------------------------------------------------------------

    async def give(
        self,
        *,
        user: User,
        group: Group,
        seconds: int,
        by: str,
        notify: str | None,
        reason: str,
        source: Source,
        approval_id: str = "",
        asked_by: str | None = None,
        break_glass: bool = False,
    ) -> Given:
        """Membership of `group` for `seconds`; an active grant for the same pair ends later instead
        (not for `break_glass`, taken unapproved: GrantConflict then, and for a member already).
        `by` gave it; `asked_by` asked for it (an approved request: the requester; default `by`).
        `notify`: the member's Slack id when known (a mention); None: found by their Okta email, and
        `asked_by` is told too, or alone when the member has no Slack account (then they get the reminders).
        Raises OktaError when Okta refuses the add (nothing is then kept)."""
        now = self.clock.now()
        asker = asked_by or by
        looked_up = notify is None
        found = await self._slack_member(user) if looked_up else None
        notify = notify or found or asker
        member = any([g.id == group.id async for g in self.okta.list_user_groups(user.id)])
        if member and break_glass:  # nothing to take, nothing to review
            raise GrantConflict(f"you are a member of {group.profile.name} already: there is nothing to take")
        grant = Grant(
            id=GrantStore.new_id(), user_id=user.id, login=user.profile.login, group_id=group.id,
            group_name=group.profile.name, notify=notify, granted_by=by, asked_by=asker, reason=reason,
            approval_id=approval_id, starts=now, ends=now + seconds, first_seconds=seconds, preexisting=member,
            break_glass=break_glass,
        )
        existing_id = await self.store.create(grant, self._remind_at(grant.ends, now))
        if existing_id is not None and break_glass:
            raise GrantConflict(f"you have time-bound access to {group.profile.name} already: `/okta access` shows until when")
        if existing_id is not None:
            existing = await self.store.get(existing_id)
            if existing is not None:  # never shortened: approved while a longer grant runs, it keeps its end
                ends = max(existing.ends, now + seconds)
                if await self._extend(existing, ends, by, source, by_self=False, approval_id=approval_id) == 1:
                    return Given(await self.store.get(existing_id) or existing, extended=True)
            raise GrantConflict("an earlier grant of this group to this user is ending right now: try again in a minute")
        request_id = None
        if not member:
            try:
                request_id = (await self.okta.add_user_to_group(group.id, user.id)).request_id
            except OktaError:
                await self.store.discard(grant)
                raise
        note = "already a member: the membership stays when this ends; " if member else ""
        asked = f"asked by <@{asker}>; " if asker != by else ""
        detail = f"time-bound: {group.profile.name} for {short_duration(seconds)} until {_iso(grant.ends)}; {asked}{note}{reason}"
        await self.store.recorder.record(self._record(grant, by, "succeeded", detail, source, Verb.ADD_TO_GROUP, request_id))
        await self._tell(grant.notify, granted_message(grant, now))
        if looked_up and found != asker:  # given by login: the agent learns who was told, or that nobody could be
            await self._tell(asker, agent_message(grant, found))
        return Given(grant, extended=False, okta_request_id=request_id)

    def _remind_at(self, ends: float, now: float) -> float:
        return max(now, ends - self._reminder)

    # --- extending ----------------------------------------------------------------------------------

    async def extend(self, grant: Grant, by: str, *, by_self: bool, source: Source) -> int:
        """Extend by the first duration, from now, capped by the policy. 1 done, 0 over or ending, -1 self-extension
        used (or none allowed: break-glass is never extended unapproved)."""
        if by_self and grant.break_glass:
            return -1
        now = self.clock.now()
        cap = self.policy.max_grant(grant.group_name) or grant.first_seconds
        ends = max(grant.ends, now + min(grant.first_seconds, cap))
        return await self._extend(grant, ends, by, source, by_self=by_self)

    async def _extend(
        self, grant: Grant, ends: float, by: str, source: Source, *, by_self: bool, approval_id: str = ""
    ) -> int:
        now = self.clock.now()
        if grant.ends <= now:
            return 0  # over already: the next tick ends it
        detail = f"time-bound: {grant.group_name} extended until {_iso(ends)}" + (" (the member's one self-extension)" if by_self else "")
        record = self._record(grant, by, "succeeded", detail, source, Verb.ADD_TO_GROUP, approval_id=approval_id)
        answer = await self.store.extend(grant, ends, self._remind_at(ends, now), by_self=by_self, record=record)
        if answer == 1 and (updated := await self.store.get(grant.id)) is not None:
            await self._tell(updated.notify, extended_message(updated, now))
        return answer

    # --- ending -------------------------------------------------------------------------------------

    async def release(self, grant_id: str, by: str, source: Source) -> bool | None:
        """End the grant now. True ended; False Okta refused for now (it is tried again); None: it
        was over already, or another caller is ending it."""
        now = self.clock.now()
        claimed = await self.store.claim(grant_id, now, due_only=False)
        if claimed is None:
            return None
        grant, token = claimed
        return await self._end(grant, token, Ending.RELEASED, by, source, now)

    async def tick(self, limit: int = 10_000) -> int:
        """Send the reminders due and end the grants due (overdue ones included); returns how many ended."""
        now = self.clock.now()
        # side by side: a burst of endings waiting on Okta's rate limits holds no reminder back
        ended, _ = await asyncio.gather(self._expire(now, limit), self._remind(now, limit))
        return ended

    async def _remind(self, now: float, limit: int) -> None:
        for grant_id in await self.store.reminders_due(now, limit):
            grant = await self.store.get(grant_id) if await self.store.take_reminder(grant_id) else None
            if grant is not None and grant.ends > now:  # one that is over (a bot that was down) is ended, not reminded
                await self._tell(grant.notify, reminder_message(grant, now))

    async def _expire(self, now: float, limit: int) -> int:
        slots = asyncio.Semaphore(CONCURRENT_ENDINGS)

        async def expire(grant_id: str) -> bool:
            async with slots:
                claimed = await self.store.claim(grant_id, now, due_only=True)
                if claimed is None:  # ended, extended, or being ended by another replica
                    return False
                return await self._end(*claimed, Ending.EXPIRED, SYSTEM, "access", now)

        ended = await asyncio.gather(*(expire(grant_id) for grant_id in await self.store.due(now, limit)))
        return sum(ended)

    async def _end(self, grant: Grant, token: str, ending: Ending, by: str, source: Source, now: float) -> bool:
        try:
            outcome, what, request_id = await self._remove(grant)
        except OktaError as exc:
            attempts = await self.store.postpone(grant, token, now + min(FIRST_RETRY_S * 2 ** grant.attempts, MAX_RETRY_S))
            log.warning("grant %s: removal failed (%d): %s", grant.id, attempts, type(exc).__name__)
            if attempts == self._alert_after and (channel := self.policy.access_alert_channel()):
                self.slack.announce(channel, stuck_alert(grant, attempts, str(exc)))
            return False
        how = "ended on time" if ending == Ending.EXPIRED else f"released early by <@{by}>"
        record = self._record(grant, by, outcome, f"time-bound: {grant.group_name} {how}; {what}", source, Verb.REMOVE_FROM_GROUP, request_id)
        ended = {"ended_at": repr(now), "ending": ending.value}
        if not await self.store.finish(grant, token, ended, record):
            return False  # the lease lapsed and another replica took over: it reports
        await self._tell(grant.notify, ended_message(grant, f"{how}; {what}"))
        return True

    async def _remove(self, grant: Grant) -> tuple[str, str, str | None]:
        """(audit outcome, what happened, Okta request id): the membership removed unless the grant did not give it."""
        if grant.preexisting:
            return "unchanged", "the membership stays: they were a member before the grant", None
        try:
            member = any([g.id == grant.group_id async for g in self.okta.list_user_groups(grant.user_id)])
        except OktaNotFound:
            return "unchanged", "the user no longer exists in Okta", None
        if not member:
            try:
                await self.okta.get_group(grant.group_id)
            except OktaNotFound:
                return "unchanged", "the group was deleted meanwhile", None
            return "unchanged", "the membership had already been removed in Okta", None
        try:
            outcome = await self.okta.remove_user_from_group(grant.group_id, grant.user_id)
        except OktaNotFound:  # the group or the user went between the two calls
            return "unchanged", "the group or user was deleted meanwhile", None
        return "succeeded", "membership removed", outcome.request_id

    async def _slack_member(self, user: User) -> str | None:
        """The grantee's Slack member id, by their Okta email (their login if none); None when Slack has none."""
        email = user.profile.email or user.profile.login
        try:
            person = await self.slack.person_by_email(email) if "@" in email else None
        except SlackError as exc:  # the grant still stands: whoever gave it is told instead
            log.warning("Slack lookup of a grantee failed: %s", exc.error)
            return None
        return None if person is None or person.deleted or person.is_bot else person.id

    # --- reading ------------------------------------------------------------------------------------

    async def active(self, user_id: str | None = None) -> list[Grant]:
        return await (self.store.active_of(user_id) if user_id else self.store.all_active())

    # --- helpers ------------------------------------------------------------------------------------

    def _record(
        self, grant: Grant, by: str, outcome: str, detail: str, source: Source, verb: Verb, request_id: str | None = None,
        approval_id: str = "",  # the request that approved this step, when not the grant's own
    ) -> AuditRecord:
        return AuditRecord(
            at=datetime.fromtimestamp(self.clock.now(), UTC), actor=by, verb=verb.value, target=grant.login, outcome=outcome,
            detail=detail, okta_request_id=request_id, approval_id=approval_id or grant.approval_id or None, source=source,
        )

    async def _tell(self, slack_user: str, reply: Reply) -> None:
        try:
            await self.slack.dm(slack_user, reply)
        except SlackError as exc:  # the grant stands; the trail and the audit channel have it
            log.warning("access DM to %s failed: %s", slack_user, exc.error)


class GrantConflict(Exception):
    """The grant cannot be made now (the pair's earlier grant is being ended; break-glass on access held
    already); its message is for the person."""


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")
