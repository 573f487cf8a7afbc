"""Every command, click and decision lands in the audit stream; a one-line summary of each change
(and each refusal) also goes to the policy's audit channel when one is set."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from slack_sdk.errors import SlackApiError

from audit import AuditLog, AuditRecord
from commands.ports import Reply, SlackPort
from commands.slacktext import escape
from policy.verbs import OKTA_WRITE_VERBS

log = logging.getLogger(__name__)

# Outcomes worth a line in the audit channel: every refusal, and changes to Okta (done, failed or
# asked for). Look-ups, however they end, are only in the stream.
ANNOUNCED = frozenset({"succeeded", "failed", "refused", "requested"})
_CHANGES = frozenset(verb.value for verb in OKTA_WRITE_VERBS)


class Recorder:
    def __init__(self, audit: AuditLog, slack: SlackPort, channel: str | None = None) -> None:
        self.audit = audit
        self._slack = slack
        self._channel = channel

    async def record(self, record: AuditRecord) -> None:
        await self.audit.append(record)
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
