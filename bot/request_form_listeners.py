"""The request form's listeners: its button (under `/okta request`'s listing) opens it; its
submission is read at once, answered on the fields that do not fit (within Slack's 3 seconds),
and otherwise run as the `/okta request` command it stands for, after the ack."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from actions.invocation import Invocation
from bot.payloads import BlockActions, FormChannel, ViewSubmission
from bot.responders import ResponseUrlResponder, form_invocation
from commands.grammar import Command
from commands.helpdesk import Helpdesk
from commands.request_form import (
    DURATION_BLOCK,
    DURATION_INPUT,
    GROUP_BLOCK,
    GROUP_INPUT,
    OPEN_ACTION,
    REASON_BLOCK,
    REASON_INPUT,
    VIEW,
    read_form,
)
from slackport import Responder, SlackPort

# slack_app's `then`: run the work after the ack, telling the person if it fails or is dropped
Then = Callable[..., None]


def register_request_form(app: AsyncApp, helpdesk: Helpdesk, slack: SlackPort, then: Then) -> None:
    form = helpdesk.timed.form

    @app.action(OPEN_ACTION)
    async def on_open(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        payload = BlockActions.model_validate(body)
        answer: Responder = ResponseUrlResponder(respond)
        inv = Invocation(
            user_id=payload.user.id, respond=answer, channel_id=payload.channel_id, trigger_id=payload.trigger_id, source="button"
        )
        # not queued behind other work: the form must open while Slack's trigger (3 s) is still valid
        then(answer, form.open(inv), bounded=False)

    @app.view(VIEW)
    async def on_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        payload = ViewSubmission.model_validate(body)
        view = payload.view
        read = read_form(
            helpdesk.s.policy,
            view.selected(GROUP_BLOCK, GROUP_INPUT),
            view.selected(DURATION_BLOCK, DURATION_INPUT),
            view.text_value(REASON_BLOCK, REASON_INPUT),
        )
        if not isinstance(read, Command):
            await ack(response_action="errors", errors=read)
            return
        await ack()
        where = FormChannel.model_validate_json(view.private_metadata or "{}")
        inv = form_invocation(slack, payload.user.id, where.channel)  # the submitter, never a value of the form
        then(inv.respond, helpdesk.run(inv, read))
