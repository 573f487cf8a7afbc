"""`/okta bulk-add-to-group <group> <user|@user-group> …` and `bulk-remove-from-group`: one batch of
up to BULK_MAX membership changes to one group, asked for once.

The group is resolved, Slack user groups are expanded to their members through the Slack port,
the count is checked (at most BULK_MAX users, after expansion), every user is resolved (one that
is not is reported as not found, the others go on), protected accounts are left out, then the policy
decides: one approval request for the whole batch (the batch waits in Redis, see actions/bulk.py),
or the batch runs at once with its progress message (actions/bulk_progress.py).
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from actions.bulk import Batch, Member, Tally, new_batch_id, without_protected
from actions.bulk_report import report_reply, summary
from actions.identity import Identity
from actions.invocation import Invocation
from approvals.flow import ApprovalFlow
from commands.context import Services
from commands.grammar import Command, Login, Name, OktaUserId, SlackUser, UserRef
from commands.targets import NotResolved
from oktaclient.models import Group
from policy import Verb
from policy.verbs import BULK_MAX
from slackport import Reply, SlackError
from slacktext import escape

RESOLVE_CONCURRENCY = 8  # users looked up at once; the Okta client paces them on the rate limits


class Audit(Protocol):
    async def __call__(
        self, inv: Invocation, identity: Identity | None, verb: Verb, target: str | None, outcome: str, detail: str = ""
    ) -> None: ...


class BulkChanges:
    def __init__(self, services: Services, approvals: ApprovalFlow, audit: Audit) -> None:
        self.s = services
        self.approvals = approvals
        self._audit = audit

    async def run(self, inv: Invocation, identity: Identity, command: Command) -> None:
        verb = command.verb
        assert command.group is not None  # the grammar requires one
        group = await self.s.resolver.group(command.group)
        if isinstance(group, NotResolved):
            await self._audit(inv, identity, verb, None, "unresolved", group.message.split("\n", 1)[0])
            await self._answer(inv, group.message)
            return
        name = group.profile.name
        if group.type not in (None, "OKTA_GROUP"):
            why = f"Okta manages the members of *{escape(name)}* itself ({escape(group.type)} group); they cannot be changed from Slack."
            await self._refuse(inv, identity, verb, name, why)
            return
        refs = await self._expand(inv, identity, command, name)
        if refs is None:
            return
        if len(refs) > BULK_MAX:
            why = (
                f"`{verb.value}` takes at most {BULK_MAX} users at once; with the members of the Slack user "
                f"group(s) that is {len(refs)}. Split the batch."
            )
            await self._refuse(inv, identity, verb, name, why)
            return
        batch = await without_protected(self.s.okta, self.s.policy, await self._batch(inv, verb, group, refs))
        if not batch.users:
            tally = Tally(total=batch.total, not_found=list(batch.not_found), failed=list(batch.refused))
            await self._audit(inv, identity, verb, name, "unchanged", f"no user to change: {summary(batch, tally)}")
            await inv.respond(report_reply(batch, tally), replace_original=inv.source == "command")
            return
        on_self = any(identity.is_okta_user(user.id) for user in batch.users)
        decision = self.s.policy.decide(verb, identity.roles, group_name=name, on_self=on_self)
        if decision.needs_approval:
            assert decision.approval is not None
            await self.approvals.request_batch(inv, batch, decision.approval)
            return
        await self._answer(inv, f":gear: Batch `{batch.id}` started: {len(batch.users)} users; its progress is posted here.")
        tally = await self.approvals.batch_run.run(batch, actor=inv.user_id, source="command")
        await self._answer(inv, f"Batch `{batch.id}` on *{escape(name)}* finished: {summary(batch, tally)}.")

    async def _expand(self, inv: Invocation, identity: Identity, command: Command, group_name: str) -> list[UserRef] | None:
        """The users named and the members of the Slack user groups named, each once, in order; None
        (answered) when a user group's members cannot be read."""
        refs: dict[UserRef, None] = dict.fromkeys(command.targets)
        for usergroup in command.usergroups:
            try:
                members = await self.s.slack.usergroup_members(usergroup)
            except SlackError as exc:
                why = f"I could not read the members of <!subteam^{usergroup}> (`{escape(exc.error)}`); nothing was changed."
                await self._audit(inv, identity, command.verb, group_name, "failed", why)
                await self._answer(inv, f":x: {why}")
                return None
            refs.update(dict.fromkeys(SlackUser(user_id=member) for member in members))
        return list(refs)

    async def _batch(self, inv: Invocation, verb: Verb, group: Group, refs: list[UserRef]) -> Batch:
        """Every reference resolved (a few at a time); one that names nobody, or several people, or
        the same person as another, is not found or counted once."""
        slots = asyncio.Semaphore(RESOLVE_CONCURRENCY)

        async def resolve(ref: UserRef) -> Member | str:
            async with slots:
                try:
                    user = await self.s.resolver.user(ref, verb.value)
                except SlackError:  # a mention of someone Slack does not know (any more)
                    return _typed(ref)
            return _typed(ref) if isinstance(user, NotResolved) else Member(id=user.id, login=user.profile.login)

        found = await asyncio.gather(*(resolve(ref) for ref in refs))
        users = {m.id: m for m in found if isinstance(m, Member)}
        return Batch(
            id=new_batch_id(),
            adding=verb == Verb.BULK_ADD_TO_GROUP,
            group_id=group.id,
            group_name=group.profile.name,
            users=tuple(users.values()),
            not_found=tuple(m for m in found if isinstance(m, str)),
            requester=inv.user_id,
            channel=inv.channel_id,
        )

    async def _refuse(self, inv: Invocation, identity: Identity, verb: Verb, target: str, why: str) -> None:
        await self._audit(inv, identity, verb, target, "refused", why)
        await self._answer(inv, f":no_entry: {why}")

    async def _answer(self, inv: Invocation, text: str) -> None:
        await inv.respond(Reply(text=text), replace_original=inv.source == "command")


def _typed(ref: UserRef) -> str:
    """A user reference as typed, for the "not found" list (a mention stays a mention)."""
    match ref:
        case Login(login=text) | OktaUserId(id=text) | Name(text=text):
            return text
        case SlackUser(user_id=user_id):
            return f"<@{user_id}>"
    raise AssertionError(f"unhandled user reference {ref!r}")

