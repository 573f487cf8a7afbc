"""The App Home tab's listeners: the employee's own account page when they open the tab, and its
buttons (`self:unlock`, `self:reset-password`) run on the clicker's own account; `self:release`
ends one of the clicker's own time-bound grants (its value: the grant's id); `self:request` opens
the request form for the clicker.

Slack gives Home tab clicks no response_url, so every answer (the push prompt, the result) is the
tab republished with the answer on top. Like every listener, these return at once (Bolt acks the
event, the click is acked) and their work runs after (bot/after_ack.py): a click may wait a
minute on the employee's phone, so it is not bounded with the helpdesk's work.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable
from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncAck, AsyncApp

from access import Grants
from actions.invocation import Invocation
from bot.after_ack import AfterAck
from bot.payloads import ApprovalButton, BlockActions
from commands.home import HOME_ACTION_PREFIX, HOME_ACTIONS, HOME_RELEASE, HOME_REQUEST, Home, unavailable_view
from commands.request_form import RequestForm
from commands.self_service import SelfService
from slackport import Reply, SlackPort

log = logging.getLogger(__name__)


class HomePublisher:
    """A Responder for Home tab clicks: republishes the clicker's tab with the reply as its note."""

    def __init__(self, slack: SlackPort, home: Home, user_id: str) -> None:
        self._slack = slack
        self._home = home
        self.user_id = user_id

    async def __call__(self, reply: Reply, *, ephemeral: bool = True, replace_original: bool = False) -> None:
        await self.publish(reply.text)

    async def publish(self, note: str | None = None) -> None:
        await self._slack.publish_home(self.user_id, await self._home.view(self.user_id, note))

    async def guarded(self, work: Awaitable[None]) -> None:
        """Run `work`; if it fails unexpectedly, the tab says so (without Okta) instead of going stale."""
        try:
            await work
        except Exception:
            ref = secrets.token_hex(4)
            log.exception("home tab failed (ref %s)", ref)
            try:
                await self._slack.publish_home(self.user_id, unavailable_view(ref))
            except Exception:
                log.exception("could not report home tab failure ref %s", ref)


def register_home(
    app: AsyncApp,
    self_service: SelfService,
    slack: SlackPort,
    after_ack: AfterAck,
    grants: Grants | None = None,
    form: RequestForm | None = None,
) -> None:
    home = Home(self_service, grants)

    @app.event("app_home_opened")
    async def on_home_opened(event: dict[str, Any]) -> None:
        if event.get("tab") != "home":  # opening the Messages tab sends this event too
            return
        publisher = HomePublisher(slack, home, event["user"])
        after_ack.start(publisher.guarded(publisher.publish()))

    @app.action(re.compile("^" + re.escape(HOME_ACTION_PREFIX)))
    async def on_home_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        payload = BlockActions.model_validate(body)
        publisher = HomePublisher(slack, home, payload.user.id)  # the clicker, never the button's value
        action_id = payload.actions[0].action_id
        verb = HOME_ACTIONS.get(action_id)
        if action_id == HOME_RELEASE:
            try:
                grant_id = ApprovalButton.of(payload).id  # id-like, as an approval's: a forged one names no grant
            except ValidationError:
                grant_id = None
            if grant_id is not None:
                after_ack.start(publisher.guarded(_released(publisher, home, grant_id)))
                return
        if action_id == HOME_REQUEST and form is not None:  # the request form; a failure to open it is noted on the tab
            inv = Invocation(user_id=payload.user.id, respond=publisher, trigger_id=payload.trigger_id, source="button")
            after_ack.start(publisher.guarded(form.open(inv)), bounded=False)
            return
        if verb is None:  # a button from an older version of the tab, or a forged value
            note = "That button no longer exists; here is your account as it is now."
            after_ack.start(publisher.guarded(publisher.publish(note)))
            return
        inv = Invocation(user_id=payload.user.id, respond=publisher, source="button")
        after_ack.start(publisher.guarded(home.act(inv, verb)), bounded=False)


async def _released(publisher: HomePublisher, home: Home, grant_id: str) -> None:
    await publisher.publish(await home.release(publisher.user_id, grant_id))
