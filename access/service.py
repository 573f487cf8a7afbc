"""The background service: every replica ends the grants due and sends the reminders due, each once."""

from __future__ import annotations

import asyncio
import logging

from access.grants import Grants

log = logging.getLogger(__name__)


async def run_access(grants: Grants, interval: float = 5.0) -> None:
    """Tick every `interval` seconds until cancelled; a failed tick (Redis away) is logged and retried."""
    while True:
        try:
            await grants.tick()
        except Exception:
            log.exception("time-bound access tick failed; retrying in %.0fs", interval)
        await asyncio.sleep(interval)
