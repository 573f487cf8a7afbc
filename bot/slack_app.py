"""The Bolt app: Slack's slash command, buttons and modals in, acknowledged at once, handled after.

Every listener acks first (Slack's 3-second limit), hands its Okta and Redis work to
`AfterAck` and returns, and Bolt answers Slack as it returns (`process_before_response=True`).
Parse errors and help need nothing slow, so they are the ack itself.

Requests reach Bolt already verified (bot/web.py) and pass `ReplayGuard` first, so each delivery
is acted on once. Every payload and button value is read into a typed model; one that does not
read (a forged or outdated button) is answered "no longer valid", and no listener failure ever
becomes a 5xx that Slack would show as an error (`_on_error`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from access.break_glass_messages import REVIEW_ACTION
from access.messages import EXTEND_ACTION, RELEASE_ACTION
from actions.invocation import Invocation
from approvals.flow import ApprovalFlow
from approvals.messages import (
    APPROVE_ACTION,
    CANCEL_ACTION,
    DENY_ACTION,
    DENY_VIEW,
    REASON_BLOCK,
    REASON_INPUT,
    REQUEST_VIEW,
    Draft,
)
from bot.after_ack import AfterAck
from bot.home_listeners import register_home
from bot.metrics import COMMAND_SECONDS
from bot.payloads import Action, ApprovalButton, BlockActions, DenyMetadata, SlashCommand, ViewClosed, ViewSubmission
from bot.replay_guard import ReplayGuard
from bot.request_form_listeners import register_request_form
from bot.responders import ResponseUrlResponder, form_invocation
from commands.break_glass import BreakGlassCommand
from commands.cards import ACTION_PREFIX, CARD_BLOCK_PREFIX
from commands.grammar import Command, Login, OktaUserId, ParseError, parse
from commands.helpdesk import Helpdesk, is_self_service
from commands.timed_access import TimedAccess
from commands.verbs import help_text
from confirm import ACTION_PREFIX as WAS_THIS_YOU_PREFIX
from confirm import ACTIONS as WAS_THIS_YOU_ACTIONS
from confirm import WasThisYouFlow
from policy import Verb
from policy.verbs import BULK_VERBS
from slackport import Reply, Responder, SlackPort
from slacktext import escape, fit

log = logging.getLogger(__name__)

# Verbs that wait a minute for someone's phone (Okta Verify), like self-service: unbounded slots.
WAITING_VERBS = frozenset({Verb.VERIFY})
# A batch run at once (no approval needed) takes as long as Okta's rate limits make it: unbounded too.
LONG_VERBS = WAITING_VERBS | BULK_VERBS
ECHOED = 300  # characters of the command repeated in "working on it" (a batch can be 60,000)
# what a person is told of acked work when the process stops (a deploy, a scale-in) before it is done
NOT_STARTED = ":warning: The bot was restarting and did not get to this; nothing was done. Please try again."
CUT_SHORT = ":warning: The bot was restarting and stopped before it finished this, so it may be incomplete: check before trying again."
STALE_BUTTON = ":warning: This button is no longer valid; nothing was done. Run the command instead (`/okta help`)."
# what a user card's or an alert's button value may be: one token, a login or an Okta id, and for
# paged answers and factor buttons one more (`<user id> <page>`, `<user id> <factor id>`)
_BUTTON_VALUE = re.compile(r"[^\s\"“”<>]{1,255}( [^\s\"“”<>]{1,64})?")
# `okta:<verb>`, and `okta:<verb>:<n>` where one message has several buttons of a verb (Slack wants
# action_ids distinct within a block)
_BUTTON_VERB = re.compile(re.escape(ACTION_PREFIX) + r"([a-z-]{1,32})(:[0-9]{1,3})?")
_QUESTION_ID = re.compile(r"[0-9a-f]{16}")  # a "Was this you?" button's value


@dataclass(frozen=True)
class Handlers:
    helpdesk: Helpdesk
    approvals: ApprovalFlow
    access: TimedAccess
    slack: SlackPort  # for answers Slack gives no response_url for (forms, the Home tab)
    break_glass: BreakGlassCommand
    was_this_you: WasThisYouFlow | None = None  # when the policy has a `was_this_you` section


# Bolt also reads its configuration from the environment by itself: with SLACK_BOT_TOKEN set (as in
# every deployment) it warns at each start that the token "will be unused" (the client carries it),
# and SLACK_CLIENT_ID with SLACK_CLIENT_SECRET would switch it to multi-workspace OAuth installs. The
# bot's settings are its one source of configuration, so Bolt is built without seeing these.
_BOLT_ENVIRONMENT = ("SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_VERIFICATION_TOKEN")


@contextmanager
def _unseen_by_bolt() -> Iterator[None]:
    """Bolt's environment variables hidden for the (synchronous) construction of the app, then restored."""
    hidden = {name: os.environ.pop(name) for name in _BOLT_ENVIRONMENT if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(hidden)


def build_bolt_app(
    client: AsyncWebClient,
    signing_secret: str,
    handlers: Handlers,
    after_ack: AfterAck,
    redis: Redis,
    *,
    command: str = "/okta",
) -> AsyncApp:
    # Bolt's own signature check parses the body first and logs the bodies it refuses: the check
    # is made before Bolt instead, on the bounded raw body (bot/web.py). Socket Mode needs none.
    with _unseen_by_bolt():
        app = AsyncApp(
            client=client, signing_secret=signing_secret, process_before_response=True, request_verification_enabled=False
        )
    app.middleware(ReplayGuard(redis))

    def then(respond: Responder, work: Awaitable[None], *, replace: bool = False, bounded: bool = True) -> None:
        async def dropped() -> None:
            await respond(Reply(text=NOT_STARTED), replace_original=replace)

        after_ack.start(_reporting(respond, work, replace=replace), bounded=bounded, dropped=dropped)

    @app.error
    async def _on_error(error: Exception, body: dict[str, Any], respond: AsyncRespond | None) -> BoltResponse:
        """A listener that failed: Slack gets its 200 all the same (a 5xx shows the person an error
        with no explanation), the person gets a reason, the log gets one line."""
        if isinstance(error, ValueError):  # pydantic's ValidationError and JSON errors included
            log.warning("unreadable Slack payload (%s): %s", body.get("type") or "command", type(error).__name__)
            text = STALE_BUTTON
        else:
            ref = secrets.token_hex(4)
            log.error("listener failed (ref %s)", ref, exc_info=error)
            text = f":warning: Something went wrong on our side; nothing was done (ref `{ref}`)."
        if body.get("command"):
            return BoltResponse(status=200, body=text)  # the ack itself answers a slash command
        if respond is not None:
            after_ack.start(_quietly(respond(text=text, replace_original=False)), bounded=False)
        return BoltResponse(status=200, body="")

    @app.command(command)
    async def on_command(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        slash = SlashCommand.model_validate(body)
        parsed = parse(slash.text)
        if isinstance(parsed, ParseError):
            await ack(text=_parse_error_text(parsed, command))
            then(ResponseUrlResponder(respond), handlers.helpdesk.invalid(slash.user_id, slash.text, parsed))
            return
        if parsed.verb == Verb.HELP:
            await ack(text=help_text(parsed.topic))
            return
        await ack(text=f":hourglass_flowing_sand: Working on `{command} {fit(escape(slash.text.strip()), ECHOED)}`…")
        inv = Invocation(
            user_id=slash.user_id,
            respond=ResponseUrlResponder(respond),
            channel_id=slash.channel_id,
            trigger_id=slash.trigger_id,
        )
        # Self-service and verify may wait a minute for a phone (Okta Verify): they must not hold one
        # of the slots that bound the helpdesk's Okta and Redis work.
        work = _timed(parsed.verb, handlers.helpdesk.run(inv, parsed))
        then(inv.respond, work, replace=True, bounded=not (is_self_service(parsed) or parsed.verb in LONG_VERBS))

    @app.action(re.compile("^" + re.escape(ACTION_PREFIX)))
    async def on_verb_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        payload = BlockActions.model_validate(body)
        action = payload.actions[0]
        clicked = _user_button(action)
        if clicked is None:
            raise ValueError("not a user button")  # answered by _on_error
        inv = Invocation(
            user_id=payload.user.id,
            respond=ResponseUrlResponder(respond),
            channel_id=payload.channel_id,
            trigger_id=payload.trigger_id,
            source="button",
            on_card=(action.block_id or "").startswith(CARD_BLOCK_PREFIX),
        )
        then(inv.respond, _timed(clicked.verb, handlers.helpdesk.run(inv, clicked)))

    @app.action(APPROVE_ACTION)
    async def on_approve(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        payload = BlockActions.model_validate(body)
        inv = _button_invocation(payload, respond)
        then(inv.respond, handlers.approvals.approve(inv, ApprovalButton.of(payload).id))

    @app.action(DENY_ACTION)
    async def on_deny(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        payload = BlockActions.model_validate(body)
        inv = _button_invocation(payload, respond)
        # not queued behind other work: the form must open while Slack's trigger (3 s) is still valid
        then(inv.respond, handlers.approvals.ask_deny_reason(inv, ApprovalButton.of(payload).id), bounded=False)

    @app.view(DENY_VIEW)
    async def on_deny_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        payload = ViewSubmission.model_validate(body)
        metadata = DenyMetadata.model_validate_json(payload.view.private_metadata)
        inv = form_invocation(handlers.slack, payload.user.id, metadata.channel)
        reason = payload.view.text_value(REASON_BLOCK, REASON_INPUT)
        then(inv.respond, handlers.approvals.deny(inv, metadata.id, reason))

    @app.action(CANCEL_ACTION)
    async def on_cancel(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        payload = BlockActions.model_validate(body)
        inv = _button_invocation(payload, respond)
        # the button is `/okta cancel <id>` in one click: the same role check, audit and answers
        cancel = Command(verb=Verb.CANCEL, request_id=ApprovalButton.of(payload).id)
        then(inv.respond, handlers.helpdesk.run(inv, cancel))

    @app.view(REQUEST_VIEW)
    async def on_request_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        payload = ViewSubmission.model_validate(body)
        draft = Draft.model_validate_json(payload.view.private_metadata)
        inv = form_invocation(handlers.slack, payload.user.id, draft.channel_id)
        reason = payload.view.text_value(REASON_BLOCK, REASON_INPUT)
        then(inv.respond, handlers.approvals.submit(inv, draft, reason))

    @app.view_closed(REQUEST_VIEW)
    async def on_request_closed(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        payload = ViewClosed.model_validate(body)
        draft = Draft.model_validate_json(payload.view.private_metadata)
        inv = form_invocation(handlers.slack, payload.user.id, draft.channel_id)
        then(inv.respond, handlers.approvals.abandoned(inv, draft))

    @app.action(re.compile("^" + re.escape(WAS_THIS_YOU_PREFIX)))
    async def on_was_this_you(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """The employee's Yes/No, and the security role's follow-ups on an incident."""
        await ack()
        payload = BlockActions.model_validate(body)
        action = payload.actions[0]
        question = action.value or ""
        if handlers.was_this_you is None or action.action_id not in WAS_THIS_YOU_ACTIONS:
            raise ValueError("not a was-this-you button")  # answered by _on_error
        if not _QUESTION_ID.fullmatch(question):
            raise ValueError("not a question id")
        inv = _button_invocation(payload, respond)
        then(inv.respond, handlers.was_this_you.click(inv, action.action_id, question))

    @app.action(re.compile(f"^({re.escape(RELEASE_ACTION)}|{re.escape(EXTEND_ACTION)})$"))
    async def on_access_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """Release now / Extend, in the member's DMs; the value is the grant's id (id-like as an
        approval's: a forged one names no grant)."""
        await ack()
        payload = BlockActions.model_validate(body)
        inv = _button_invocation(payload, respond)
        grant_id = ApprovalButton.of(payload).id
        act = handlers.access.release if payload.actions[0].action_id == RELEASE_ACTION else handlers.access.extend
        then(inv.respond, act(inv, grant_id))

    @app.action(REVIEW_ACTION)
    async def on_review(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """Review, on a break-glass announcement or the daily flag; the value is the grant's id
        (id-like as an approval's: a forged one names no grant)."""
        await ack()
        payload = BlockActions.model_validate(body)
        inv = _button_invocation(payload, respond)
        then(inv.respond, handlers.break_glass.review(inv, ApprovalButton.of(payload).id))

    register_request_form(app, handlers.helpdesk, handlers.slack, then)
    register_home(app, handlers.helpdesk.self_service, handlers.slack, after_ack, handlers.access.grants, handlers.access.form)
    return app


def _user_button(action: Action) -> Command | None:
    """The command a user card's or an alert's button stands for, `/okta <verb> <user>` with the user
    an Okta id or a login; None for any other value or verb (a forged or outdated button)."""
    value = action.chosen or ""
    verb = _BUTTON_VERB.fullmatch(action.action_id)
    if not (verb and _BUTTON_VALUE.fullmatch(value)):
        return None
    clicked = parse(f"{verb[1]} {value}")
    if isinstance(clicked, ParseError) or clicked.group is not None:
        return None
    return clicked if isinstance(clicked.target, Login | OktaUserId) else None


async def _quietly(work: Awaitable[Any]) -> None:
    try:
        await work
    except Exception:
        log.warning("could not tell the person their button was invalid", exc_info=True)


def _button_invocation(payload: BlockActions, respond: AsyncRespond) -> Invocation:
    return Invocation(
        user_id=payload.user.id,
        respond=ResponseUrlResponder(respond),
        channel_id=payload.channel_id,
        trigger_id=payload.trigger_id,
        source="button",
    )


def _timed(verb: Verb, work: Awaitable[None]) -> Awaitable[None]:
    """`work`, observed from now (the command's arrival) until its reply."""
    arrived = time.perf_counter()

    async def timed() -> None:
        try:
            await work
        finally:
            COMMAND_SECONDS.labels(verb=verb.value).observe(time.perf_counter() - arrived)

    return timed()


async def _reporting(respond: Responder, work: Awaitable[None], *, replace: bool = False) -> None:
    """Run a handler; if it fails unexpectedly, or the process stops before it is done, tell the
    person instead of leaving "working on it"."""
    try:
        await work
    except asyncio.CancelledError:
        try:
            await respond(Reply(text=CUT_SHORT), replace_original=replace)
        except Exception:
            log.warning("could not tell the person their request was cut short", exc_info=True)
        raise
    except Exception:
        ref = secrets.token_hex(4)
        log.exception("handler failed (ref %s)", ref)
        text = f":warning: Something went wrong on our side and nothing more will happen for this request (ref `{ref}`)."
        try:
            await respond(Reply(text=text), replace_original=replace)
        except Exception:
            log.exception("could not report failure ref %s", ref)


def _parse_error_text(error: ParseError, command: str) -> str:
    # The message names the suggested verb already, and the example shows it in use.
    lines = [f":thinking_face: {error.message}"]
    lines.append(f"Example: `{command} {escape(error.example)}`  ·  `{command} help` lists every command.")
    return "\n".join(lines)

