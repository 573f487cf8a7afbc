"""What the alert pipeline needs from Slack: the `Sink` protocol, which the Slack port
(slackport.SlackPort) implements, pacing and Retry-After included.

Every alert message carries Slack message metadata naming its ledger key (an event uuid, or a
digest's key), so that after a crash a worker can find out whether a message went out before
posting it again (see alerts/publisher.py). Tests wrap the port in sinks that crash or hold posts.
"""

from __future__ import annotations

from typing import Any, Protocol

from slackport import Posted, Reply

METADATA_EVENT_TYPE = "okta_event"


def message_metadata(key: str) -> dict[str, Any]:
    return {"event_type": METADATA_EVENT_TYPE, "event_payload": {"uuid": key}}


class Sink(Protocol):
    async def post(self, channel: str, reply: Reply, *, metadata: dict[str, Any] | None = None) -> Posted:
        """Posts a message, paced. SlackError: not posted if `certain`, else maybe posted."""
        ...

    async def update(self, channel: str, ts: str, reply: Reply) -> None: ...

    async def find_posted(self, channel: str, metadata: dict[str, Any], oldest: float) -> Posted | None:
        """The message posted at or after `oldest` (epoch seconds) that carries `metadata`, if any."""
        ...
