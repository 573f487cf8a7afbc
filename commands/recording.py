"""Every command, click and decision lands in the audit stream; a one-line summary of each change
(and each refusal) also goes to the policy's audit channel when one is set."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Protocol

from slack_sdk.errors import SlackApiError

from audit import AuditLog, AuditRecord
from commands.ports import Reply, SlackPort
from policy.verbs import OKTA_WRITE_VERBS
from slacktext import escape

log = logging.getLogger(__name__)

# Outcomes worth a line in the audit channel: every refusal, and changes to Okta (done, failed or
# asked for). Look-ups, however they end, are only in the stream.
ANNOUNCED = frozenset({"succeeded", "failed", "refused", "requested"})
_CHANGES = frozenset(verb.value for verb in OKTA_WRITE_VERBS)


class Observer(Protocol):
    """Counts what happens (the bot plugs metrics in here; commands/ does not know Prometheus)."""

    def command(self, record: AuditRecord) -> None: ...

    def approval(self, state: str) -> None: ...


class _NotObserved:
    def command(self, record: AuditRecord) -> None:
        pass

    def approval(self, state: str) -> None:
        pass


class Recorder:
    def __init__(
        self, audit: AuditLog, slack: SlackPort, channel: str | None = None, observer: Observer | None = None
    ) -> None:
        self.audit = audit
        self._slack = slack
        self._channel = channel
        self._observer = observer or _NotObserved()

    def approval_transition(self, state: str) -> None:
        """An approval request entered `state` (its audit records are written by the store's scripts)."""
        self._observer.approval(state)

    async def record(self, record: AuditRecord) -> None:
        await self.audit.append(record)
        self._observer.command(record)
        if self._channel and _announced(record):
            target = f" on `{escape(record.target)}`" if record.target else ""
            detail = f": {escape(record.detail)}" if record.detail else ""
            line = f"<@{record.actor}> `{record.verb}`{target} → *{record.outcome}*{detail} ({record.source})"
            try:
                await self._slack.post(self._channel, Reply(text=line))
            except SlackApiError as exc:  # the stream has it; a missing summary line must not fail the action
                log.warning("audit channel post failed: %s", exc.response.get("error"))


def _announced(record: AuditRecord) -> bool:
    return record.outcome in ANNOUNCED and (record.outcome == "refused" or record.verb in _CHANGES)


def now() -> datetime:
    return datetime.now(UTC)
