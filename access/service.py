"""The background service: every replica ends the grants due and sends the reminders due, each once,
and flags the unreviewed break-glass grants (once a day, whichever replica comes first)."""

from __future__ import annotations

import asyncio
import logging

from access.break_glass import BreakGlassGrants
from access.grants import Grants

log = logging.getLogger(__name__)


async def run_access(grants: Grants, glass: BreakGlassGrants | None = None, interval: float = 5.0) -> None:
    """Tick every `interval` seconds until cancelled; a failed tick (Redis away) is logged and retried."""
    while True:
        try:
            await asyncio.gather(grants.tick(), *([glass.flag_unreviewed()] if glass else []))
        except Exception:
            log.exception("time-bound access tick failed; retrying in %.0fs", interval)
        await asyncio.sleep(interval)
