"""The Bolt app: Slack's slash command, buttons and modals in, acknowledged at once, handled after.

Every listener acks first (Slack's 3-second limit) and only then touches Okta or Redis: with
`process_before_response=False` Bolt answers Slack as soon as `ack()` is called while the listener
goes on. Parse errors and help need nothing slow, so they are the ack itself.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.models.blocks import InputBlock, PlainTextInputElement
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.payloads import BlockActions, SlashCommand, ViewSubmission
from bot.slack_port import EphemeralResponder, ResponseUrlResponder
from commands.approval_flow import APPROVE_ACTION, DENY_ACTION, ApprovalFlow
from commands.cards import ACTION_PREFIX, CARD_BLOCK_PREFIX
from commands.context import Invocation
from commands.grammar import Command, Login, OktaUserId, ParseError, lookup_verb, parse
from commands.helpdesk import Helpdesk
from commands.ports import Reply, Responder
from commands.slacktext import escape
from commands.verbs import help_text
from policy import Verb

log = logging.getLogger(__name__)

DENY_VIEW = "approval:deny"
DENY_REASON_BLOCK, DENY_REASON_INPUT = "reason", "reason_input"


@dataclass(frozen=True)
class Handlers:
    helpdesk: Helpdesk
    approvals: ApprovalFlow


def build_bolt_app(client: AsyncWebClient, signing_secret: str, handlers: Handlers, *, command: str = "/okta") -> AsyncApp:
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret,
        process_before_response=False,
    )

    @app.command(command)
    async def on_command(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        slash = SlashCommand.model_validate(body)
        parsed = parse(slash.text)
        if isinstance(parsed, ParseError):
            await ack(text=_parse_error_text(parsed, command))
            return
        if parsed.verb == Verb.HELP:
            await ack(text=help_text(parsed.topic))
            return
        await ack(text=f":hourglass_flowing_sand: Working on `{command} {escape(slash.text.strip())}`…")
        inv = Invocation(
            user_id=slash.user_id,
            respond=ResponseUrlResponder(respond),
            channel_id=slash.channel_id,
            trigger_id=slash.trigger_id,
        )
        await _reporting(inv.respond, handlers.helpdesk.run(inv, parsed), replace=True)

    @app.action(re.compile("^" + re.escape(ACTION_PREFIX)))
    async def on_verb_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        payload = BlockActions.model_validate(body)
        action = payload.actions[0]
        verb = lookup_verb(action.action_id.removeprefix(ACTION_PREFIX))
        value = action.chosen or ""
        if verb is None or not value:
            await respond(text="That button no longer works; run the command instead.", replace_original=False)
            return
        target = Login(login=value) if "@" in value else OktaUserId(id=value)
        inv = Invocation(
            user_id=payload.user.id,
            respond=ResponseUrlResponder(respond),
            channel_id=payload.channel_id,
            trigger_id=payload.trigger_id,
            source="button",
            on_card=(action.block_id or "").startswith(CARD_BLOCK_PREFIX),
        )
        await _reporting(inv.respond, handlers.helpdesk.run(inv, Command(verb=verb, target=target)))

    @app.action(APPROVE_ACTION)
    async def on_approve(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        payload = BlockActions.model_validate(body)
        inv = _button_invocation(payload, respond)
        await _reporting(inv.respond, handlers.approvals.approve(inv, payload.actions[0].chosen or ""))

    @app.action(DENY_ACTION)
    async def on_deny(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
        await ack()
        payload = BlockActions.model_validate(body)
        inv = _button_invocation(payload, respond)
        approval_id = payload.actions[0].chosen or ""
        # Refuse non-approvers at the click, not after they have typed a reason.
        if await handlers.approvals.decider(inv, approval_id, "deny") is None or payload.trigger_id is None:
            return
        metadata = json.dumps({"id": approval_id, "channel": payload.channel_id})
        await client.views_open(trigger_id=payload.trigger_id, view=_deny_view(metadata))

    @app.view(DENY_VIEW)
    async def on_deny_submitted(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        payload = ViewSubmission.model_validate(body)
        metadata = json.loads(payload.view.private_metadata or "{}")
        responder = EphemeralResponder(client, payload.user.id, metadata.get("channel"))
        inv = Invocation(user_id=payload.user.id, respond=responder, channel_id=metadata.get("channel"), source="button")
        reason = payload.view.text_value(DENY_REASON_BLOCK, DENY_REASON_INPUT)
        await _reporting(responder, handlers.approvals.deny(inv, metadata.get("id", ""), reason))

    return app


def _button_invocation(payload: BlockActions, respond: AsyncRespond) -> Invocation:
    return Invocation(
        user_id=payload.user.id,
        respond=ResponseUrlResponder(respond),
        channel_id=payload.channel_id,
        trigger_id=payload.trigger_id,
        source="button",
    )


async def _reporting(respond: Responder, work: Awaitable[None], *, replace: bool = False) -> None:
    """Run a handler; if it fails unexpectedly, tell the person instead of leaving "working on it"."""
    try:
        await work
    except Exception:
        ref = secrets.token_hex(4)
        log.exception("handler failed (ref %s)", ref)
        text = f":warning: Something went wrong on our side and nothing more will happen for this request (ref `{ref}`)."
        try:
            await respond(Reply(text=text), replace_original=replace)
        except Exception:
            log.exception("could not report failure ref %s", ref)


def _parse_error_text(error: ParseError, command: str) -> str:
    lines = [f":thinking_face: {error.message}"]
    if error.suggestion is not None:
        lines.append(f"Did you mean `{command} {error.suggestion.value}`?")
    lines.append(f"Example: `{command} {escape(error.example)}`  ·  `{command} help` lists every command.")
    return "\n".join(lines)


def _deny_view(metadata: str) -> dict[str, Any]:
    return View(
        type="modal",
        callback_id=DENY_VIEW,
        private_metadata=metadata,
        title="Deny request",
        submit="Deny",
        close="Back",
        blocks=[
            InputBlock(
                block_id=DENY_REASON_BLOCK,
                label="Why? The requester will see this.",
                element=PlainTextInputElement(action_id=DENY_REASON_INPUT, multiline=True, max_length=500),
                optional=True,
            )
        ],
    ).to_dict()

