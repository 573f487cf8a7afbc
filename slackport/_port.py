"""The Slack Web API port: every call the bot makes to Slack, commands, approvals and alerts alike.

What it guarantees, so callers do not each re-invent it:
- Posts and updates to a channel are paced per channel (Slack: about one a second) and a 429's
  Retry-After holds that channel only; other channels and replies to people go on.
- A few calls run at once, people first (`Priority`): replies, DMs and modals never queue behind
  channel announcements.
- `announce` queues a line for a channel and returns at once: the caller (a command being
  answered) never waits for a busy or throttled channel.
- Errors come out as `SlackError` only, with Slack's code, whether Slack certainly did not act,
  and whether trying again may help.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from slackport._errors import SlackError
from slackport._models import Posted, Priority, Reply, SlackPerson
from slackport._pacing import ChannelPacer
from slackport._slots import PrioritySlots

log = logging.getLogger(__name__)

_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{6,}")
MAX_RETRY_AFTER_S = 60.0  # a Retry-After beyond this is Slack asking to stop: give up, do not sleep an hour


class SlackPort:
    def __init__(
        self,
        client: AsyncWebClient,
        *,
        pacing_s: float = 1.0,
        burst: int = 3,
        max_retries: int = 3,
        concurrency: int = 8,
        backlog: int = 1000,
        lookup_pages: int = 10,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`client` must not retry 429s itself (no AsyncRateLimitErrorRetryHandler): the port does,
        per channel. `backlog`: announcements queued per channel at most (past it new ones are
        dropped, with a warning; each is also in the audit stream)."""
        self._client = client
        self._pacer = ChannelPacer(pacing_s, clock, burst=burst)
        self._max_retries = max_retries
        self._slots = PrioritySlots(concurrency)
        self._backlog = backlog
        self._lookup_pages = lookup_pages
        # channel name (or member id: their DM) -> id, learnt from posts and conversations.list
        self._ids: dict[str, str] = {}
        self._queues: dict[str, deque[Reply]] = {}
        self._lanes: set[asyncio.Task[None]] = set()

    # --- messages -------------------------------------------------------------------------------

    async def post(
        self, channel: str, reply: Reply, *, metadata: dict[str, Any] | None = None, priority: Priority = Priority.CHANNEL
    ) -> Posted:
        """Post to a channel (a name like `#alerts` or an id), paced. SlackError: not posted, or
        (certain=False) maybe posted."""
        extra: dict[str, Any] = {"metadata": metadata} if metadata else {}
        response = await self._call(
            "chat.postMessage",
            lambda: self._client.chat_postMessage(
                channel=channel, text=reply.text, blocks=reply.blocks or None,
                unfurl_links=False, unfurl_media=False, **extra,
            ),
            priority,
            self._ids.get(channel, channel),
        )
        posted = Posted(channel=response["channel"], ts=response["ts"])
        if channel not in self._ids:
            self._pacer.same_as(channel, posted.channel)
            self._ids[channel] = posted.channel
        return posted

    async def update(self, channel: str, ts: str, reply: Reply, *, priority: Priority = Priority.CHANNEL) -> None:
        await self._call(
            "chat.update",
            lambda: self._client.chat_update(channel=channel, ts=ts, text=reply.text, blocks=reply.blocks),
            priority,
            self._ids.get(channel, channel),
        )

    async def dm(self, user_id: str, reply: Reply) -> Posted:
        """A message in the bot's DM with a member, posted to the member's id: Slack opens the DM
        itself (no conversations.open, a Tier 3 call, ahead of a first DM) and answers its id, by
        which the DM is paced from then on (`post` learns it)."""
        return await self.post(user_id, reply, priority=Priority.PERSON)

    async def ephemeral(self, channel: str, user_id: str, reply: Reply) -> None:
        await self._call(
            "chat.postEphemeral",
            lambda: self._client.chat_postEphemeral(
                channel=channel, user=user_id, text=reply.text, blocks=reply.blocks or None
            ),
            Priority.PERSON,
        )

    def announce(self, channel: str, reply: Reply) -> None:
        """Queue a line for `channel` and return: it is posted in order, paced, in the background.
        A failure is logged; the caller has recorded what happened elsewhere (the audit stream)."""
        queue = self._queues.get(channel)
        if queue is None:
            queue = self._queues[channel] = deque()
            lane = asyncio.get_running_loop().create_task(self._announce_lane(channel, queue))
            self._lanes.add(lane)
            lane.add_done_callback(self._lanes.discard)
        if len(queue) >= self._backlog:  # the head may be posting: the newest gives way
            log.warning("announcements to %s back up past %d: this one is dropped", channel, self._backlog)
            return
        queue.append(reply)

    async def _announce_lane(self, channel: str, queue: deque[Reply]) -> None:
        """Posts the channel's queue in order. Slack being busy or down (429, 5xx, no answer) is waited
        out, the line kept at the head; a line Slack refuses outright is logged and dropped."""
        delay = 1.0
        try:
            while queue:
                try:
                    await self.post(channel, queue[0])
                except SlackError as exc:
                    if exc.retryable:
                        log.warning("announcement to %s not posted yet (%s); retrying in %.0f s", channel, exc.error, delay)
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, MAX_RETRY_AFTER_S)
                        continue
                    log.warning("announcement to %s refused by Slack (%s): dropped", channel, exc.error)
                queue.popleft()
                delay = 1.0
        finally:  # an empty lane ends; the channel's next announcement starts a new one
            del self._queues[channel]

    async def drain(self, timeout: float) -> int:
        """On shutdown: post the queued announcements, for `timeout` seconds at most; returns how
        many were left unposted."""
        if self._lanes:
            await asyncio.wait(set(self._lanes), timeout=timeout)
        left = sum(len(queue) for queue in self._queues.values())
        for lane in list(self._lanes):
            lane.cancel()
        if left:
            log.warning("shutdown: %d channel announcement(s) not posted (they are in the audit stream)", left)
        return left

    # --- views ----------------------------------------------------------------------------------

    async def open_modal(self, trigger_id: str, view: dict[str, Any]) -> None:
        await self._call("views.open", lambda: self._client.views_open(trigger_id=trigger_id, view=view), Priority.PERSON)

    async def publish_home(self, user_id: str, view: dict[str, Any]) -> None:
        await self._call(
            "views.publish", lambda: self._client.views_publish(user_id=user_id, view=view), Priority.PERSON
        )

    # --- people and channels ----------------------------------------------------------------------

    async def person(self, user_id: str) -> SlackPerson:
        response = await self._call("users.info", lambda: self._client.users_info(user=user_id), Priority.PERSON)
        return _person(response["user"], user_id)

    async def person_by_email(self, email: str) -> SlackPerson | None:
        """The member whose profile has this email (users.lookupByEmail), or None when Slack knows
        none (deactivated members are not found either)."""
        try:
            response = await self._call(
                "users.lookupByEmail", lambda: self._client.users_lookupByEmail(email=email), Priority.PERSON
            )
        except SlackError as exc:
            if exc.error == "users_not_found":
                return None
            raise
        return _person(response["user"], response["user"]["id"])

    async def usergroups_of(self, user_id: str) -> frozenset[str]:
        response = await self._call(
            "usergroups.list", lambda: self._client.usergroups_list(include_users=True), Priority.PERSON
        )
        return frozenset(g["id"] for g in response["usergroups"] if user_id in g.get("users", []))

    async def usergroup_members(self, usergroup_id: str) -> list[str]:
        """The member ids of a Slack user group (an `@team` mention carries its id)."""
        response = await self._call(
            "usergroups.users.list", lambda: self._client.usergroups_users_list(usergroup=usergroup_id), Priority.PERSON
        )
        users: list[str] = response["users"]
        return users

    async def find_posted(self, channel: str, metadata: dict[str, Any], oldest: float) -> Posted | None:
        """The message posted in `channel` at or after `oldest` (epoch seconds) that carries exactly
        this message `metadata`, if any: how a poster that died finds out whether it got through.
        Not found within the pages looked at is None: posting again risks a duplicate, not posting
        a loss, and the duplicate is preferred."""
        channel_id = await self.channel_id(channel)
        history = partial(
            self._client.conversations_history, channel=channel_id, oldest=f"{oldest:.6f}", include_all_metadata=True,
            limit=200,
        )
        async for response in self._pages("conversations.history", history):
            messages: list[dict[str, Any]] = response.get("messages", [])
            for message in messages:
                if message.get("metadata") == metadata:
                    return Posted(channel=channel_id, ts=message["ts"])
        return None

    async def channel_id(self, channel: str) -> str:
        """A channel's id from its name (`#name` or `name`); an id is returned as it is."""
        if _CHANNEL_ID.fullmatch(channel):
            return channel
        if channel in self._ids:
            return self._ids[channel]
        name = channel.removeprefix("#")
        listing = partial(
            self._client.conversations_list, types="public_channel,private_channel", exclude_archived=True, limit=1000
        )
        async for response in self._pages("conversations.list", listing):
            channels: list[dict[str, Any]] = response.get("channels", [])
            for conversation in channels:
                if conversation["name"] == name:
                    self._ids[channel] = conversation["id"]
                    return self._ids[channel]
        raise SlackError("conversations.list", "channel_not_found")

    async def _pages(
        self, method: str, fetch: Callable[..., Awaitable[AsyncSlackResponse]]
    ) -> AsyncIterator[AsyncSlackResponse]:
        """The pages of a cursor-paginated method, `lookup_pages` of them at most (logged when cut)."""
        cursor: str | None = None
        for _ in range(self._lookup_pages):
            response = await self._call(method, partial(fetch, cursor=cursor), Priority.CHANNEL)
            yield response
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return
        log.warning("%s: more than %d pages; looked no further", method, self._lookup_pages)

    # --- the one way out --------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        send: Callable[[], Awaitable[AsyncSlackResponse]],
        priority: Priority,
        channel: str | None = None,
    ) -> AsyncSlackResponse:
        """`send()` in a slot, paced for `channel` if given, retried after each 429's Retry-After."""
        for attempt in range(self._max_retries + 1):
            if channel is not None:
                await self._pacer.wait(channel)
            try:
                async with self._slots.take(priority):
                    return await send()
            except SlackApiError as exc:
                status = exc.response.status_code
                error = SlackError(method, exc.response.get("error") or f"http_{status}", status=status, certain=status < 500)
                retry_after = _retry_after(exc) if status == 429 else None
                if retry_after is None or retry_after > MAX_RETRY_AFTER_S or attempt == self._max_retries:
                    raise error from exc
                if channel is not None:  # later sends to the channel wait too
                    self._pacer.hold(channel, retry_after)
                else:
                    await asyncio.sleep(retry_after)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:  # the answer never came
                raise SlackError(method, "connection_error", certain=False) from exc
        raise AssertionError("unreachable")  # the loop returns or raises


def _retry_after(exc: SlackApiError) -> float | None:
    headers = exc.response.headers or {}
    raw = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(0.0, float(raw)) if raw is not None else 1.0
    except ValueError:
        return 1.0


def _person(user: dict[str, Any], user_id: str) -> SlackPerson:
    profile = user.get("profile", {})
    return SlackPerson(
        id=user["id"],
        name=user.get("real_name") or profile.get("real_name") or user.get("name", ""),
        email=profile.get("email"),
        # users.info reports the flag only when the app may see it; absent is not "unverified"
        email_verified=user.get("is_email_confirmed", True),
        is_bot=bool(user.get("is_bot")) or user_id == "USLACKBOT",
        is_restricted=bool(user.get("is_restricted")),
        is_ultra_restricted=bool(user.get("is_ultra_restricted")),
        deleted=bool(user.get("deleted")),
    )
