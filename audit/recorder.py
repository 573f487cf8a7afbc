"""The one recorder: everything the bot does or refuses, direct or through an approval, passes here.

Each record is appended to the audit stream (the trail), counted by the observer (the bot plugs
Prometheus in) and, for changes to Okta and refusals, summarised in one line in the policy's audit
channel. Approval transitions append their records atomically inside the store's Lua scripts;
the store then hands what was written to `recorded`, so those records take the same path from
there on (channel, metrics) as the ones appended here.

The channel line is announced (queued per channel by the Slack port) rather than awaited: a slow
or throttled audit channel never delays the answer to the person who acted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Protocol

from audit.log import AuditLog
from audit.record import AuditRecord
from policy.verbs import OKTA_WRITE_VERBS
from slackport import Reply, SlackPort
from slacktext import escape

log = logging.getLogger(__name__)

# Outcomes worth a line in the audit channel: every refusal, and changes to Okta (done, failed or
# asked for). Look-ups, however they end, are only in the stream.
ANNOUNCED = frozenset({"succeeded", "failed", "refused", "requested"})
_CHANGES = frozenset(verb.value for verb in OKTA_WRITE_VERBS)


class Observer(Protocol):
    """Counts what is recorded (the bot plugs metrics in here; audit/ does not know Prometheus)."""

    def record(self, record: AuditRecord) -> None: ...


class Recorder:
    def __init__(
        self,
        audit: AuditLog,
        slack: SlackPort | None = None,
        channel: str | None = None,
        observer: Observer | None = None,
    ) -> None:
        if channel and slack is None:
            raise ValueError("an audit channel needs the Slack port")
        self.audit = audit
        self._slack = slack
        self._channel = channel
        self._observer = observer

    async def record(self, record: AuditRecord) -> None:
        """Append `record` to the trail, then count and announce it."""
        await self.audit.append(record)
        self.recorded([record])

    def recorded(self, records: Iterable[AuditRecord]) -> None:
        """Records already in the trail (written by a Lua script with the transition they describe):
        count and announce them."""
        for record in records:
            if self._observer is not None:
                self._observer.record(record)
            if self._slack is not None and self._channel and announced(record):
                self._slack.announce(self._channel, Reply(text=audit_line(record)))


def announced(record: AuditRecord) -> bool:
    return record.outcome in ANNOUNCED and (record.outcome == "refused" or record.verb in _CHANGES)


def audit_line(record: AuditRecord) -> str:
    target = f" on `{escape(record.target)}`" if record.target else ""
    detail = f": {escape(record.detail)}" if record.detail else ""
    approval = f", request `{record.approval_id}`" if record.approval_id else ""
    return f"{_who(record.actor)} `{escape(record.verb)}`{target} → *{record.outcome}*{detail} ({record.source}{approval})"


def _who(actor: str) -> str:
    # a Slack member is mentioned; the bot's own steps ("system:sweeper") are named as they are
    return f"<@{actor}>" if not actor.startswith("system:") else f"`{escape(actor)}`"


def now() -> datetime:
    return datetime.now(UTC)
