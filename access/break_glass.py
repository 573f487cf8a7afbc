"""Break-glass: the on-call takes an opted-in group for themselves at once, unapproved, for an hour at
most; it is announced loudly with a Review button, an approver of the group reviews it afterwards
(once, never the taker), and the grants nobody has reviewed are flagged once a day.

The grant itself is an ordinary time-bound grant (grants.py), so its DM, reminder, release, expiry
and audit are those of every grant; only it is never extended without approval.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum

from access.break_glass_messages import break_glass_alert, reviewed_alert, unreviewed_flag
from access.grants import Given, Grants
from access.models import Grant
from audit import AuditRecord
from oktaclient.models import Group, User
from policy import Verb
from policy.access import BreakGlass
from slackport import Posted, Reply, SlackError

log = logging.getLogger(__name__)


class Review(StrEnum):
    REVIEWED = "reviewed"
    ALREADY = "already reviewed"
    OWN = "taken by the reviewer"  # who took it never reviews it
    NOT_APPROVER = "not an approver of the group"
    UNKNOWN = "no such break-glass grant"


class BreakGlassGrants:
    def __init__(self, grants: Grants) -> None:
        self.grants = grants
        self.store = grants.store
        self.policy = grants.policy

    async def take(self, *, user: User, group: Group, seconds: int, by: str, reason: str, rule: BreakGlass) -> Given:
        """The on-call (`by`, whose Okta account is `user`) takes `group` now for at most the rule's
        duration, announced for review. GrantConflict when they hold it already (a grant, or a member);
        OktaError when Okta refuses the add (nothing is kept, nothing announced)."""
        given = await self.grants.give(
            user=user, group=group, seconds=min(seconds, rule.max_duration), by=by, notify=by,
            reason=f"break-glass: {reason}", source="command", break_glass=True,
        )
        channel = self.policy.break_glass_channel(rule)  # the policy refuses a rule with none
        posted = await self._post(channel, break_glass_alert(given.grant, self.reviewer_role(group.profile.name))) if channel else None
        if posted is not None:
            await self.store.announced(given.grant.id, posted.channel, posted.ts)
        return given

    def reviewer_role(self, group_name: str) -> str:
        """The group's approvers review its break-glass."""
        rule = self.policy.access_group(group_name)
        return (rule.approval.approver_role if rule else None) or self.policy.approvals.approver_role

    async def review(self, grant_id: str, by: str, roles: Iterable[str], by_okta_id: str | None) -> tuple[Review, Grant | None]:
        """An approver of the group (`roles`: the clicker's, read afresh) reviews a break-glass grant,
        once; never the one who took it (by Slack account or by Okta account). Marks the announcement."""
        grant = await self.store.get(grant_id)
        if grant is None or not grant.break_glass:
            return Review.UNKNOWN, None
        if by in (grant.granted_by, grant.notify) or by_okta_id == grant.user_id:
            return Review.OWN, grant
        if self.reviewer_role(grant.group_name) not in set(roles):
            return Review.NOT_APPROVER, grant
        now = self.grants.clock.now()
        record = AuditRecord(
            at=datetime.fromtimestamp(now, UTC), actor=by, verb=Verb.BREAK_GLASS.value, target=grant.login, outcome="reviewed",
            detail=f"break-glass: {grant.group_name} taken by <@{grant.granted_by}> (grant {grant.id}) reviewed", source="button",
        )
        if await self.store.review(grant.id, by, now, record) != 1:
            return Review.ALREADY, grant
        if grant.announced:
            channel, ts = grant.announced.split(" ", 1)
            try:
                await self.grants.slack.update(channel, ts, reviewed_alert(grant, by, now))
            except SlackError as exc:  # reviewed all the same: the trail has it
                log.warning("could not mark the break-glass announcement reviewed: %s", exc.error)
        return Review.REVIEWED, grant

    async def flag_unreviewed(self) -> int:
        """Once a day (UTC), by one replica across restarts: the break-glass grants taken before that day
        that nobody has reviewed, listed in each group's break-glass channel. How many were flagged."""
        now = self.grants.clock.now()
        today = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        if not await self.store.owes_review(today.timestamp()) or not await self.store.flag_day(today.date().isoformat()):
            return 0
        owed = await self.store.unreviewed(today.timestamp())
        by_channel: dict[str, list[Grant]] = {}
        for grant in owed:
            rule = self.policy.access_group(grant.group_name)
            glass = rule.break_glass if rule else None  # a rule removed since: the access alert channel
            channel = self.policy.break_glass_channel(glass) if glass else self.policy.access_alert_channel()
            if channel is not None:
                by_channel.setdefault(channel, []).append(grant)
        for channel, grants in by_channel.items():
            await self._post(channel, unreviewed_flag(grants))
        return len(owed)

    async def _post(self, channel: str, reply: Reply) -> Posted | None:
        try:
            return await self.grants.slack.post(channel, reply)
        except SlackError as exc:  # the trail has the grant; the daily flag lists it while unreviewed
            log.warning("break-glass post to %s failed: %s", channel, exc.error)
            return None
