"""What the helpdesk end-to-end tests share: a bot running for a whole module, and reading its answers.

A command's answer is found through its own response_url: Slack shows the ack in place, and the
handler's reply replaces that message. So tests can share one running bot (whose start and stop
cost more than most tests) without mistaking one test's answer for another's.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode

from approvals.messages import REASON_BLOCK, REASON_INPUT, REQUEST_VIEW
from audit import AuditLog, AuditRecord
from bot.redis_client import connect_redis
from bot.server import BackgroundServer
from bot.settings import load_settings
from oktaclient import OktaClient
from oktaclient.models import UserStatus
from oktasim import OktaOrg, User, seed_demo_org
from oktasim import create_app as create_okta_app
from slacksim import Message, SlackRequest, SlackView, SlackWorkspace, demo_workspace
from slacksim import create_app as create_slack_app
from tests.chatops_support import ChatOps, run_chatops
from tests.conftest import SIM_API_TOKEN

WORKING = ":hourglass_flowing_sand:"
_numbers = itertools.count(1)


@asynccontextmanager
async def running_bot(redis_url: str, **options: Any) -> AsyncIterator[ChatOps]:
    """The whole bot (tests/chatops_support.py) on a fresh demo org and workspace, for a test module;
    `options` go to run_chatops (a policy, push timing)."""
    org, ws = seed_demo_org(), demo_workspace()
    org.add_api_token(SIM_API_TOKEN)
    client = connect_redis(load_settings(redis_url=redis_url))  # the bot's own, as in tests/conftest.py
    redis = client.redis
    await redis.flushdb()
    async with BackgroundServer(create_okta_app(org)) as okta_sim, BackgroundServer(create_slack_app(ws)) as slack:
        ws.base_url = slack.url
        async with OktaClient.from_api_token(okta_sim.url, SIM_API_TOKEN) as okta:
            async for chatops in run_chatops(ws=ws, slack_url=slack.url, org=org, okta=okta, redis=redis, **options):
                yield chatops
    await client.aclose()


def finished(message: Message) -> bool:
    """Neither the "working on it" ack nor a card showing an action under way."""
    return WORKING not in message.text and WORKING not in json.dumps(message.blocks)


async def send(chatops: ChatOps, request: SlackRequest) -> Message:
    """Send a signed request; the message its response_url reply ends up as (the ack, replaced)."""
    response = await chatops.ws.send(chatops.url, request)
    assert response.status_code == 200, response.text
    return await reply_in_place(chatops, request)


async def reply_in_place(chatops: ChatOps, request: SlackRequest) -> Message:
    ws = chatops.ws
    first = await ws.wait_for_message(lambda m: _answers(ws, request, m))
    return await ws.wait_for_message(lambda m: m.channel == first.channel and m.ts == first.ts and finished(m))


def _answers(ws: Any, request: SlackRequest, message: Message) -> bool:
    return any(p.response_id == request.response_id and p.ts == message.ts for p in ws.responses)


async def ask(chatops: ChatOps, user_id: str, text: str, channel: str = "helpdesk") -> Message:
    """`/okta <text>` from `user_id`: the final answer, which replaced the "working on it" ack."""
    return await send(chatops, chatops.ws.slash_command(user_id, text, channel=channel))


async def click(chatops: ChatOps, user_id: str, action_id: str, message: Message) -> Message:
    """Click a button on `message` as it is now: the message the click's reply ends up as (a card
    clicked on is updated in place)."""
    return await send(chatops, chatops.ws.block_action(user_id, action_id, message=message))


async def open_request_form(chatops: ChatOps, user_id: str) -> SlackView:
    """The approval request form the bot opened for `user_id`, once it is open."""
    ws = chatops.ws

    def the_form(call: Any) -> bool:
        if call.method != "views.open" or not call.ok:
            return False
        view = ws.view(call.result["view"]["id"])
        return view.user_id == user_id and view.callback_id == REQUEST_VIEW and not view.closed

    opened = await ws.wait_for(the_form)
    return ws.view(opened.result["view"]["id"])


async def request_approval(chatops: ChatOps, user_id: str, text: str) -> Message:
    """Run a command that needs approval and send its request form: the request in #approvals."""
    reason = f"ticket {next(_numbers)}"  # tells this request from earlier ones
    answer = await ask(chatops, user_id, text)
    assert "needs approval" in answer.text, answer.text
    form = await open_request_form(chatops, user_id)
    submission = chatops.ws.view_submission(user_id, form, {REASON_BLOCK: {REASON_INPUT: reason}})
    await chatops.ws.send(chatops.url, submission)
    approvals = chatops.ws.channel_id("approvals")
    return await chatops.ws.wait_for_message(lambda m: m.channel == approvals and reason in json.dumps(m.blocks))


def new_user(org: OktaOrg, status: UserStatus = UserStatus.ACTIVE, groups: tuple[str, ...] = ("Engineering",)) -> User:
    """An Okta user only the calling test knows of, so that tests sharing a bot cannot disturb each other."""
    n = next(_numbers)
    login = f"pat.tester{n}@acme.example"
    return org.add_user(
        login, "Pat", f"Tester{n}", status=status, groups=groups, title="Analyst", department="Engineering"
    )


def buttons(message: Message) -> dict[str, dict[str, Any]]:
    """The message's buttons by action_id."""
    return {
        e["action_id"]: e
        for block in message.blocks
        if block["type"] == "actions"
        for e in block["elements"]
        if e["type"] == "button"
    }


def mrkdwn(message: Message) -> str:
    """Every mrkdwn text of the message's blocks, in order, one per line."""
    texts: list[str] = []
    for block in message.blocks:
        parts = [block.get("text")] + list(block.get("fields") or []) + list(block.get("elements") or [])
        texts += [p["text"] for p in parts if isinstance(p, dict) and p.get("type") == "mrkdwn"]
    return "\n".join(texts)


async def audited(chatops: ChatOps, timeout: float = 5.0, **fields: str | None) -> AuditRecord:
    """The first audit record with these field values, now or once it is appended (handlers may
    audit after they answer)."""
    log = AuditLog(chatops.redis)
    deadline = time.monotonic() + timeout
    cursor = "0-0"
    while True:
        for entry in await log.since(cursor):
            if all(getattr(entry.record, name) == value for name, value in fields.items()):
                return entry.record
            cursor = entry.id
        left_ms = int((deadline - time.monotonic()) * 1000)
        assert left_ms > 0, f"no audit record with {fields}"
        await chatops.redis.xread({log.stream: cursor}, block=left_ms, count=1)  # until something is appended


async def audit_trail(chatops: ChatOps) -> list[AuditRecord]:
    return [entry.record for entry in await AuditLog(chatops.redis).since("0-0")]


async def audit_line(chatops: ChatOps, text: str) -> Message:
    """The one-line summary in #okta-audit, now or once posted."""
    channel = chatops.ws.channel_id("okta-audit")
    # lines are paced per channel as Slack asks (about one a second): a test that makes many waits
    return await chatops.ws.wait_for_message(lambda m: m.channel == channel and m.text == text, timeout=15)


def forged(ws: SlackWorkspace, real: SlackRequest, change: Callable[[dict[str, str]], dict[str, str]]) -> SlackRequest:
    """`real` with its form fields changed and signed again with the app's signing secret."""
    body = urlencode(change(dict(parse_qsl(real.body))))
    return real.model_copy(update={"body": body, "headers": {**real.headers, **ws.signer.headers(body)}})
