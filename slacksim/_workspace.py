"""SlackWorkspace: one fake Slack workspace: its directory, what happened in it (as copies), waiting
for what happens next, fault injection and change notifications; what its users do comes from
`RequestBuilders`, and the state itself lives in `WorkspaceState`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from slacksim._errors import SlackError
from slacksim._models import ChangeEvent, Message, RecordedCall, SlackChannel, SlackUser, SlackView, Usergroup
from slacksim._requests import RequestBuilders
from slacksim._socket import DisconnectReason


class SlackWorkspace(RequestBuilders):
    """`SlackWorkspace(team_id=..., bot_token=..., signing_secret=..., app_token=...)`; tokens and
    secrets are random unless given. `demo_workspace()` is the seeded one."""

    # directory set-up

    def add_user(self, user: SlackUser) -> SlackUser:
        self._users[user.id] = user
        return user

    def add_channel(self, channel: SlackChannel) -> SlackChannel:
        self._channels[channel.id] = channel
        return channel

    def add_usergroup(self, group: Usergroup) -> Usergroup:
        self._usergroups[group.id] = group
        return group

    # reading state (copies)

    def user(self, user_id: str) -> SlackUser:
        return self._users[user_id].model_copy(deep=True)

    def user_by_email(self, email: str) -> SlackUser | None:
        found = next((u for u in self._users.values() if (u.profile.email or "").lower() == email.lower()), None)
        return None if found is None else found.model_copy(deep=True)

    def channel_id(self, name_or_id: str) -> str:
        """A channel's id from its name ('approvals' or '#approvals') or id; KeyError if there is none."""
        try:
            return self._resolve_channel(name_or_id, names=True).id
        except SlackError:
            raise KeyError(f"no channel {name_or_id!r}") from None

    def dm_channel_id(self, user_id: str) -> str:
        """The bot's DM with a user (opened if need be), as conversations.open would answer."""
        return self._open_dm(user_id).id

    def usergroup(self, group_id: str) -> Usergroup:
        return self._usergroups[group_id].model_copy(deep=True)

    def users(self) -> list[SlackUser]:
        return [u.model_copy(deep=True) for u in self._users.values()]

    def channels(self) -> list[SlackChannel]:
        return [c.model_copy(deep=True) for c in self._channels.values()]

    def usergroups(self) -> list[Usergroup]:
        return [g.model_copy(deep=True) for g in self._usergroups.values()]

    def dismiss(self, view_id: str) -> None:
        """The user closes the modal on their side; the app hears of it only if the view asked
        (then send `view_closed(...)` as well)."""
        self._close_view(self._views[view_id])

    def messages(self, channel: str) -> list[Message]:
        """The channel's messages as they stand now (edits applied, deletions gone), oldest first."""
        cid = self.channel_id(channel)
        return [m.model_copy(deep=True) for m in self._messages if m.channel == cid and _visible(m, None)]

    def dms(self, user_id: str) -> list[Message]:
        return self.messages(self.dm_channel_id(user_id))

    def ephemerals(self, user_id: str) -> list[Message]:
        """Ephemeral messages shown to the user (replaced ones in their latest form), oldest first."""
        return [m.model_copy(deep=True) for m in self._messages if _visible(m, user_id)]

    def message(self, channel: str, ts: str) -> Message:
        return self._find_message(self.channel_id(channel), ts).model_copy(deep=True)

    @property
    def views(self) -> list[SlackView]:
        """Every modal opened (or pushed), in order, with its current content and whether it is closed."""
        return [v.model_copy(deep=True) for v in self._views.values() if v.type == "modal"]

    def view(self, view_id: str) -> SlackView:
        return self._views[view_id].model_copy(deep=True)

    def home(self, user_id: str) -> SlackView | None:
        """The App Home view last published for the user."""
        view_id = self._homes.get(user_id)
        return None if view_id is None else self.view(view_id)

    # awaiting, fault injection, change notifications

    async def wait_for(self, predicate: Callable[[RecordedCall], bool], timeout: float = 5.0) -> RecordedCall:
        """The first recorded call (already made, or made later) that matches."""

        def check() -> RecordedCall | None:
            return next((c for c in self.calls if predicate(c)), None)

        return await self._waiters.until(check, timeout, self._describe_calls)

    async def wait_for_message(self, predicate: Callable[[Message], bool], timeout: float = 5.0) -> Message:
        """The first current message (channel, DM or ephemeral) that matches, now or after a later change."""

        def check() -> Message | None:
            found = next((m for m in self._messages if not m.deleted and predicate(m)), None)
            return None if found is None else found.model_copy(deep=True)

        return await self._waiters.until(check, timeout, self._describe_calls)

    def fail_next(
        self,
        method: str,
        *,
        status: int | None = None,
        error: str | None = None,
        retry_after: int = 1,
        times: int = 1,
        delay: float = 0.0,
        channel: str | None = None,
    ) -> None:
        """The next `times` calls of `method` ("*": any; "response_url": posts to response_urls), or
        with `channel` (a name or an id) only those to that channel, fail:
        HTTP 429 with Retry-After and error "ratelimited", another HTTP status (error "fatal_error"), or
        HTTP 200 with `{"ok": false, "error": error}` (e.g. "channel_not_found"). With `delay`, the answer
        comes that many seconds late; a delay alone answers late but carries the call out, as when a
        client times out on a call Slack did carry out."""
        target = None if channel is None else self.channel_id(channel)
        self._faults.add(
            method, status=status, error=error, retry_after=retry_after, times=times, delay=delay, channel=target
        )

    async def socket_disconnect(self, reason: DisconnectReason = "refresh_requested", *, close: bool = False) -> int:
        """Slack's `disconnect` message on every open Socket Mode connection; with `close` the
        connections are dropped as well (else the app is trusted to replace them, as Slack gives it a
        few seconds to). Returns how many connections had been opened: pass it to `socket_connected`
        as `after` to await the app's new one."""
        return await self._sockets.disconnect(reason, close=close)

    def subscribe(self) -> asyncio.Queue[ChangeEvent]:
        queue: asyncio.Queue[ChangeEvent] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[ChangeEvent]) -> None:
        self._subscribers.remove(queue)

    def _describe_calls(self) -> str:
        seen = [f"{c.method}({_brief(c.args)}) -> {c.status} {c.error or 'ok'}" for c in self.calls[-20:]]
        return f"{len(self.calls)} calls seen" + ("".join(f"\n  {s}" for s in seen) if seen else "")


def _visible(message: Message, ephemeral_to: str | None) -> bool:
    return not message.deleted and message.ephemeral_to == ephemeral_to


def _brief(args: dict[str, Any]) -> str:
    shown = [f"{k}={v!r}"[:60] for k, v in args.items() if k in ("channel", "user", "text", "ts", "view_id", "email")]
    return ", ".join(shown)
