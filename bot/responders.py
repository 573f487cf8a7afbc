"""Answers to the person who acted (commands.Invocation.respond), as Slack allows for each kind of
request: the interaction's response_url (Bolt's `respond`), or, for modal submissions that have
none, an ephemeral message in the channel (a DM when there is no channel)."""

from __future__ import annotations

import aiohttp
from slack_bolt.context.respond.async_respond import AsyncRespond

from actions.invocation import Invocation
from slackport import Reply, SlackError, SlackPort


class ResponseUrlResponder:
    """Answers through the interaction's response_url (Bolt's `respond`)."""

    def __init__(self, respond: AsyncRespond) -> None:
        self._respond = respond

    async def __call__(self, reply: Reply, *, ephemeral: bool = True, replace_original: bool = False) -> None:
        """Raises SlackError when the response_url cannot be reached (a refusal, e.g. of a sixth reply,
        is Slack's to show: nothing is raised)."""
        try:
            await self._respond(
                text=reply.text,
                blocks=reply.blocks or None,
                response_type="ephemeral" if ephemeral else "in_channel",
                replace_original=replace_original,
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SlackError("response_url", "connection_error", certain=False) from exc


class EphemeralResponder:
    """Answers with chat.postEphemeral in a channel (modal submissions have no response_url),
    or by DM when there is no channel."""

    def __init__(self, slack: SlackPort, user_id: str, channel: str | None) -> None:
        self._slack = slack
        self._user_id = user_id
        self._channel = channel

    async def __call__(self, reply: Reply, *, ephemeral: bool = True, replace_original: bool = False) -> None:
        if self._channel is None:
            await self._slack.dm(self._user_id, reply)
        else:
            await self._slack.ephemeral(self._channel, self._user_id, reply)


def form_invocation(slack: SlackPort, user_id: str, channel: str | None) -> Invocation:
    """Someone who sent or closed a form: Slack gives no response_url for that."""
    return Invocation(user_id=user_id, respond=FormAnswer(slack, user_id, channel), channel_id=channel, source="button")


class FormAnswer:
    """Answers a form's author ephemerally in the channel the form came from, or by DM where the bot
    may not post (a slash command works in channels the bot was never invited to)."""

    def __init__(self, slack: SlackPort, user_id: str, channel: str | None) -> None:
        self._there = EphemeralResponder(slack, user_id, channel)
        self._dm = EphemeralResponder(slack, user_id, None)

    async def __call__(self, reply: Reply, *, ephemeral: bool = True, replace_original: bool = False) -> None:
        try:
            await self._there(reply)
        except SlackError:
            await self._dm(reply)
