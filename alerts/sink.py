"""Where alert messages go: the `Sink` protocol, and its Slack implementation.

Every message carries Slack message metadata naming its ledger key (an event uuid, or a digest's
key), so that after a crash a worker can find out whether a message went out before posting it
again (see alerts/publisher.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from alerts.pacing import ChannelPacer

log = logging.getLogger(__name__)

METADATA_EVENT_TYPE = "okta_event"
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{6,}")


def message_metadata(key: str) -> dict[str, Any]:
    return {"event_type": METADATA_EVENT_TYPE, "event_payload": {"uuid": key}}


@dataclass(frozen=True)
class Posted:
    channel_id: str
    ts: str


class PostRejected(Exception):
    """Slack answered and did not post the message (e.g. channel_not_found, or 429 after the retries)."""


class Sink(Protocol):
    async def post(self, channel: str, text: str, blocks: Sequence[Block], metadata: dict[str, Any]) -> Posted:
        """Posts a message. PostRejected: certainly not posted; any other error: outcome unknown."""
        ...

    async def update(self, channel_id: str, ts: str, text: str, blocks: Sequence[Block]) -> None: ...

    async def find_posted(self, channel: str, key: str, oldest: float) -> Posted | None:
        """The message posted at or after `oldest` (epoch seconds) whose metadata names `key`, if any."""
        ...


class SlackSink:
    """Posts with an AsyncWebClient, paced per channel; a 429 is retried after its Retry-After."""

    def __init__(self, client: AsyncWebClient, *, pacer: ChannelPacer | None = None, lookup_pages: int = 10) -> None:
        if not any(isinstance(h, AsyncRateLimitErrorRetryHandler) for h in client.retry_handlers):
            client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))
        self._client = client
        self._pacer = pacer or ChannelPacer()
        self._lookup_pages = lookup_pages
        self._ids: dict[str, str] = {}  # channel name -> id, learnt from posts and conversations.list

    async def post(self, channel: str, text: str, blocks: Sequence[Block], metadata: dict[str, Any]) -> Posted:
        await self._pacer.wait(self._ids.get(channel, channel))
        try:
            response = await self._client.chat_postMessage(
                channel=channel, text=text, blocks=blocks, metadata=metadata, unfurl_links=False, unfurl_media=False
            )
        except SlackApiError as exc:
            if exc.response.status_code >= 500:  # Slack may or may not have posted it
                raise
            raise PostRejected(str(exc.response.get("error"))) from exc
        posted = Posted(response["channel"], response["ts"])
        self._ids[channel] = posted.channel_id
        return posted

    async def update(self, channel_id: str, ts: str, text: str, blocks: Sequence[Block]) -> None:
        await self._pacer.wait(channel_id)
        await self._client.chat_update(channel=channel_id, ts=ts, text=text, blocks=blocks)

    async def find_posted(self, channel: str, key: str, oldest: float) -> Posted | None:
        channel_id = await self._channel_id(channel)
        cursor: str | None = None
        for _ in range(self._lookup_pages):
            response = await self._client.conversations_history(
                channel=channel_id, oldest=f"{oldest:.6f}", include_all_metadata=True, limit=200, cursor=cursor
            )
            messages: list[dict[str, Any]] = response.get("messages", [])
            for message in messages:
                metadata = message.get("metadata") or {}
                if (
                    metadata.get("event_type") == METADATA_EVENT_TYPE
                    and metadata.get("event_payload", {}).get("uuid") == key
                ):
                    return Posted(channel_id, message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        # Not conclusive. Posting again risks a duplicate, not posting risks a lost alert: prefer the duplicate.
        log.warning(
            "message %s not found in the last %d pages of %s; posting it again", key, self._lookup_pages, channel
        )
        return None

    async def _channel_id(self, channel: str) -> str:
        """conversations.history wants an id; a route may name the channel."""
        if _CHANNEL_ID.fullmatch(channel):
            return channel
        if channel in self._ids:
            return self._ids[channel]
        name = channel.removeprefix("#")
        pages = await self._client.conversations_list(
            types="public_channel,private_channel", exclude_archived=True, limit=1000
        )
        async for page in pages:
            for conversation in page.get("channels", []):
                if conversation["name"] == name:
                    self._ids[channel] = conversation["id"]
                    return self._ids[channel]
        raise LookupError(f"no channel named {channel!r}")
