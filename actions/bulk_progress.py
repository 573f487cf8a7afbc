"""Running a batch with people watching: a progress message posted where the batch was asked for (or
by DM where the bot may not post), updated at most every `interval` seconds while it runs, replaced
by the final report; and the batch in the audit trail, one record per user plus one for the batch.

Per-user records go to the trail only (`/okta history <user>` and an export find them); the batch's
own record goes through the recorder, so the audit channel gets one line per batch, not 500.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from actions.bulk import Batch, Tally, run_batch
from actions.bulk_report import failed_reply, progress_reply, report_reply, summary
from actions.okta_errors import explain
from audit import AuditRecord
from audit.record import Source
from audit.recorder import Recorder, now
from oktaclient import OktaClient
from oktaclient.errors import OktaError
from slackport import Posted, Reply, SlackError, SlackPort

log = logging.getLogger(__name__)

UPDATE_INTERVAL = 3.0  # seconds between progress updates at most: Slack allows ~1 update/s per channel


class BatchRun:
    def __init__(
        self,
        okta: OktaClient,
        slack: SlackPort,
        recorder: Recorder,
        *,
        interval: float = UPDATE_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._okta = okta
        self._slack = slack
        self._recorder = recorder
        self._interval = interval
        self._clock = clock

    async def run(self, batch: Batch, *, actor: str, source: Source, approval_id: str | None = None) -> Tally:
        """Run `batch` once, showing its progress and its report. Raises the client's typed errors
        when the group's members cannot be read (nothing was changed then)."""
        message = await self._post(batch, progress_reply(batch, Tally(total=batch.total)))
        shown_at = self._clock()
        updating = asyncio.Lock()

        async def progress(tally: Tally) -> None:
            nonlocal shown_at
            if message is None or updating.locked() or self._clock() - shown_at < self._interval:
                return  # the workers never wait for Slack: a due update is skipped while one is on its way
            async with updating:
                shown_at = self._clock()
                await self._show(message, progress_reply(batch, tally))

        try:
            tally = await run_batch(self._okta, batch, progress)
        except OktaError as exc:
            why = explain(exc, "Reading the group's members")
            await self._show(message, failed_reply(batch, why))
            raise
        async with updating:  # the last progress update lands before the report, never after it
            await self._show(message, report_reply(batch, tally))
        await self._audit(batch, tally, actor, source, approval_id)
        return tally

    async def _post(self, batch: Batch, reply: Reply) -> Posted | None:
        if batch.channel:
            try:
                return await self._slack.post(batch.channel, reply)
            except SlackError as exc:  # e.g. a channel the bot is not in: a slash command works there
                log.info("batch %s progress not posted in its channel: %s", batch.id, exc.error)
        try:
            return await self._slack.dm(batch.requester, reply)
        except SlackError as exc:  # the batch runs all the same; its report is in the trail
            log.warning("batch %s progress not shown: %s", batch.id, exc.error)
            return None

    async def _show(self, message: Posted | None, reply: Reply) -> None:
        if message is None:
            return
        try:
            await self._slack.update(message.channel, message.ts, reply)
        except SlackError as exc:  # a stale progress line must not stop the batch
            log.warning("batch progress not updated: %s", exc.error)

    async def _audit(self, batch: Batch, tally: Tally, actor: str, source: Source, approval_id: str | None) -> None:
        verb = "bulk-add-to-group" if batch.adding else "bulk-remove-from-group"
        context = f"batch {batch.id}, group {batch.group_name}"
        outcomes = (
            *((login, "succeeded", context) for login in tally.done),
            *((login, "unchanged", context) for login in tally.unchanged),
            *((login, "failed", f"{why} ({context})") for login, why in tally.failed),
        )
        for login, outcome, detail in outcomes:  # the trail only: one channel line for the batch, below
            await self._recorder.audit.append(
                AuditRecord(at=now(), actor=actor, verb=verb, target=login, outcome=outcome, detail=detail,
                            approval_id=approval_id, source=source)
            )
        outcome = "succeeded" if not tally.failed else "failed"
        await self._recorder.record(
            AuditRecord(at=now(), actor=actor, verb=verb, target=batch.group_name, outcome=outcome,
                        detail=f"batch {batch.id}: {summary(batch, tally)}", approval_id=approval_id, source=source)
        )
