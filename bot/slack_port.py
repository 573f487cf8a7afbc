"""The Slack Web API behind the handlers' ports (commands/ports.py), with slack_sdk's AsyncWebClient.

Retries on Slack's 429 are the client's (its rate-limit retry handler); answers to one person go
through Bolt's `respond` (response_url) or, where Slack gives none (modal submissions),
chat.postEphemeral.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from commands.ports import Posted, Reply, SlackPerson


class WebApiSlackPort:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def post(self, channel: str, reply: Reply) -> Posted:
        response = await self._client.chat_postMessage(channel=channel, text=reply.text, blocks=reply.blocks or None)
        return Posted(channel=response["channel"], ts=response["ts"])

    async def update(self, channel: str, ts: str, reply: Reply) -> None:
        await self._client.chat_update(channel=channel, ts=ts, text=reply.text, blocks=reply.blocks)

    async def dm(self, user_id: str, reply: Reply) -> None:
        opened = await self._client.conversations_open(users=user_id)
        await self.post(opened["channel"]["id"], reply)

    async def open_modal(self, trigger_id: str, view: dict[str, Any]) -> None:
        await self._client.views_open(trigger_id=trigger_id, view=view)

    async def person(self, user_id: str) -> SlackPerson:
        user = (await self._client.users_info(user=user_id))["user"]
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

    async def usergroups_of(self, user_id: str) -> frozenset[str]:
        groups = (await self._client.usergroups_list(include_users=True))["usergroups"]
        return frozenset(g["id"] for g in groups if user_id in g.get("users", []))


class ResponseUrlResponder:
    """Answers through the interaction's response_url (Bolt's `respond`)."""

    def __init__(self, respond: AsyncRespond) -> None:
        self._respond = respond

    async def __call__(self, reply: Reply, *, ephemeral: bool = True, replace_original: bool = False) -> None:
        await self._respond(
            text=reply.text,
            blocks=reply.blocks or None,
            response_type="ephemeral" if ephemeral else "in_channel",
            replace_original=replace_original,
        )


class EphemeralResponder:
    """Answers with chat.postEphemeral in a channel (modal submissions have no response_url),
    or by DM when there is no channel."""

    def __init__(self, client: AsyncWebClient, user_id: str, channel: str | None) -> None:
        self._client = client
        self._user_id = user_id
        self._channel = channel

    async def __call__(self, reply: Reply, *, ephemeral: bool = True, replace_original: bool = False) -> None:
        if self._channel is None:
            await WebApiSlackPort(self._client).dm(self._user_id, reply)
            return
        await self._client.chat_postEphemeral(
            channel=self._channel, user=self._user_id, text=reply.text, blocks=reply.blocks or None
        )
