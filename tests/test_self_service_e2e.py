"""Employee self-service end to end: signed Slack requests (slash commands, the Home tab), the Okta
simulator answering the Okta Verify push as the employee's phone would, the Slack stand-in and a
real Redis. Pushes are polled every 10 ms, so no test waits on the 2-second production interval.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from typing import Any

import pytest
import yaml
from redis.asyncio import Redis
from slack_sdk.web.async_client import AsyncWebClient

from actions.push_check import PushTiming
from bot.assembly import assemble
from bot.server import BackgroundServer
from bot.slack_app import build_bolt_app
from bot.web import create_web_app
from commands.helpdesk import Helpdesk
from commands.self_service import RATE_PREFIX, SelfService
from oktaclient import OktaClient
from oktasim import OktaOrg
from policy import Policy, load_policy, parse_policy
from slacksim import (
    Message,
    SlackProfile,
    SlackUser,
    SlackView,
    SlackWorkspace,
)
from tests.chatops_support import (
    ERIN,
    EXAMPLE_POLICY,
    GARY,
    GINA,
    HOOK_SECRET,
    JIRA,
    LEE,
    NOBODY,
    ChatOps,
)
from tests.helpdesk_support import forged

SUE, ALEX_K, ALEX_G = "U0SUE000001", "U0ALEXK0001", "U0ALEXG0001"
LEE_LOGIN = "lee.locked@acme.example"
FAST = PushTiming(timeout=5.0, interval=0.01)

Start = Callable[..., AbstractAsyncContextManager[ChatOps]]


@asynccontextmanager
async def _running(
    ws: SlackWorkspace, slack_url: str, org: OktaOrg, okta: OktaClient, redis: Redis,
    *, policy: Policy | None = None, push: PushTiming = FAST,
) -> AsyncIterator[ChatOps]:
    """The bot exactly as `assemble` wires it, except for how long it waits on a push."""
    client = AsyncWebClient(token=ws.bot_token, base_url=f"{slack_url}/api/")
    bot = assemble(
        redis=redis, okta=okta, slack=client, policy=policy or load_policy(EXAMPLE_POLICY),
        signing_secret=ws.signing_secret, org_url=okta.org_url,
    )
    self_service = SelfService(bot.services, redis, push_timing=push)
    helpdesk = Helpdesk(
        bot.services, bot.handlers.approvals, self_service, bot.handlers.helpdesk.verifier, bot.handlers.access,
        bot.handlers.break_glass,
    )
    handlers = replace(bot.handlers, helpdesk=helpdesk)
    bolt = build_bolt_app(client, ws.signing_secret, handlers, bot.after_ack, redis)
    async with BackgroundServer(create_web_app(redis=redis, bolt=bolt, hook_secret=HOOK_SECRET, signing_secret=ws.signing_secret)) as server:
        yield ChatOps(bot=replace(bot, bolt=bolt, handlers=handlers), server=server, ws=ws, org=org, redis=redis)


@pytest.fixture
def start(ws, slack, okta_org, okta, redis) -> Start:  # type: ignore[no-untyped-def]
    def starting(**options: Any) -> AbstractAsyncContextManager[ChatOps]:
        return _running(ws, slack.url, okta_org, okta, redis, **options)

    return starting


@pytest.fixture
async def ops(start: Start) -> AsyncIterator[ChatOps]:
    async with start() as running:
        yield running


def _policy(**self_service: Any) -> Policy:
    data = yaml.safe_load(EXAMPLE_POLICY.read_text())
    data["self_service"].update(self_service)
    return parse_policy(yaml.safe_dump(data))


async def _final(ops: ChatOps, user: str) -> Message:
    """The employee's answer once it is final: past "working on it" and "check your phone"."""
    return await ops.reply_to(user, lambda m: ":iphone:" not in m.text)


async def _prompted(ops: ChatOps, user: str) -> Message:
    return await ops.reply_to(user, lambda m: ":iphone: Check your phone" in m.text)


def _pushes(org: OktaOrg) -> int:
    return sum(1 for r in org.requests if r.method == "POST" and r.path.endswith("/verify"))


def _status(org: OktaOrg, login: str) -> str:
    return str(org.get_user(login).status)


async def _audited(ops: ChatOps) -> list[tuple[str, str, str, str]]:
    entries = await ops.bot.services.recorder.audit.recent()
    return [(e.record.actor, e.record.verb, e.record.outcome, e.record.source) for e in entries]


async def _announced(ops: ChatOps, count: int = 1, channel: str = "helpdesk") -> list[str]:
    """The lines in `channel`, once there are at least `count`: they are posted after the answer,
    paced per channel, so that the answer never waits for them."""
    channel_id = ops.ws.channel_id(channel)
    for _ in range(count):  # bounded: each round waits for one more line to arrive
        if len(ops.ws.messages(channel)) >= count:
            break
        seen = {m.ts for m in ops.ws.messages(channel)}
        await ops.ws.wait_for_message(  # a channel line, not an ephemeral reply there
            lambda m, seen=seen: m.channel == channel_id and m.ephemeral_to is None and m.ts not in seen, timeout=10
        )
    return [m.text for m in ops.ws.messages(channel)]


def _edit_slack_user(ws: SlackWorkspace, user_id: str, **changes: Any) -> None:
    ws.add_user(ws.user(user_id).model_copy(update=changes))


# --- unlock: the account's status decides -------------------------------------------------------


@pytest.mark.parametrize("text", ["unlock", "unlock me"])
async def test_locked_out_employee_is_unlocked_once_they_approve_the_push(ops: ChatOps, text: str) -> None:
    response = await ops.command(LEE, text)
    assert response.status_code == 200  # Slack was answered while the push still waits on the phone
    prompt = await _prompted(ops, LEE)
    assert "approve the Okta Verify push" in prompt.text
    assert _status(ops.org, LEE_LOGIN) == "LOCKED_OUT"

    ops.org.answer_push(LEE_LOGIN, "SUCCESS")
    reply = await _final(ops, LEE)

    assert "Your Okta account is unlocked" in reply.text, reply.text
    assert _status(ops.org, LEE_LOGIN) == "ACTIVE"
    assert _pushes(ops.org) == 1
    assert (LEE, "unlock", "succeeded", "self-service") in await _audited(ops)
    assert any(f"<@{LEE}> self-service `unlock` → *succeeded*" in t for t in await _announced(ops))


async def test_active_employee_is_told_they_are_not_locked_without_a_push(ops: ChatOps) -> None:
    await ops.command(ERIN, "unlock")
    reply = await _final(ops, ERIN)
    assert "not locked" in reply.text and "/okta reset-password" in reply.text
    assert _pushes(ops.org) == 0
    assert (ERIN, "unlock", "refused", "self-service") in await _audited(ops)
    assert any(f"<@{ERIN}>" in t and "not locked" in t for t in await _announced(ops))


async def _deprovision(ops: ChatOps, login: str) -> None:
    await ops.bot.services.okta.deactivate_user(ops.org.get_user(login).id)


async def _lock_out(ops: ChatOps, login: str) -> None:
    ops.org.lock_out(login)


async def _as_seeded(ops: ChatOps, login: str) -> None:
    pass


@pytest.mark.parametrize(
    ("user", "login", "make", "said", "status"),
    [
        (SUE, "sue.suspended@acme.example", _as_seeded, "Your Okta account is suspended", "SUSPENDED"),
        # Deactivated in Okta, still active in Slack.
        (ALEX_K, "alex.kim@acme.example", _deprovision, "Your Okta account is deprovisioned", "DEPROVISIONED"),
        # Locked out, but enrolled in SMS only: nothing to push to.
        (ALEX_G, "alex.garcia@acme.example", _lock_out, "You have no Okta Verify push set up", "LOCKED_OUT"),
    ],
)
async def test_what_self_service_cannot_do_is_sent_to_the_helpdesk(
    ops: ChatOps, user: str, login: str, make: Callable[[ChatOps, str], Awaitable[None]], said: str, status: str
) -> None:
    await make(ops, login)
    await ops.command(user, "unlock")
    reply = await _final(ops, user)
    assert said in reply.text and "helpdesk" in reply.text, reply.text
    assert _status(ops.org, login) == status
    assert _pushes(ops.org) == 0
    assert (user, "unlock", "refused", "self-service") in await _audited(ops)


# --- the push ------------------------------------------------------------------------------------


async def test_rejected_push_refuses_and_alerts_security(ops: ChatOps) -> None:
    await ops.command(LEE, "unlock")
    await _prompted(ops, LEE)
    ops.org.answer_push(LEE_LOGIN, "REJECTED")
    reply = await _final(ops, LEE)

    assert "rejected" in reply.text and "nothing was changed" in reply.text
    assert _status(ops.org, LEE_LOGIN) == "LOCKED_OUT"
    alerts = await _announced(ops, channel="security-alerts")
    assert len(alerts) == 1 and f"<@{LEE}>" in alerts[0] and "*rejected*" in alerts[0]
    assert (LEE, "unlock", "refused", "self-service") in await _audited(ops)


async def test_push_that_okta_times_out_asks_to_try_again(ops: ChatOps) -> None:
    await ops.command(LEE, "unlock")
    await _prompted(ops, LEE)
    ops.org.advance_time(301)  # past Okta's five-minute push lifetime
    reply = await _final(ops, LEE)
    assert "not answered in time" in reply.text and "Try again" in reply.text
    assert _status(ops.org, LEE_LOGIN) == "LOCKED_OUT"


async def test_push_nobody_answers_is_given_up_after_the_bots_own_timeout(start: Start) -> None:
    async with start(push=PushTiming(timeout=0.2, interval=0.02)) as ops:
        await ops.command(LEE, "unlock")
        reply = await _final(ops, LEE)
        assert "not answered in time" in reply.text
        assert _status(ops.org, LEE_LOGIN) == "LOCKED_OUT"
        assert ops.org.pushes.transactions and all(t.result == "WAITING" for t in ops.org.pushes.transactions.values())


async def test_no_push_when_the_policy_turns_it_off(start: Start) -> None:
    async with start(policy=_policy(unlock={"enabled": True, "verify_push": False})) as ops:
        await ops.command(LEE, "unlock")
        reply = await _final(ops, LEE)
        assert "unlocked" in reply.text
        assert _pushes(ops.org) == 0


# --- who may ---------------------------------------------------------------------------------------


async def test_naming_someone_elses_account_goes_through_the_helpdesk_rules(ops: ChatOps) -> None:
    await ops.command(ERIN, f"unlock {LEE_LOGIN}")
    reply = await _final(ops, ERIN)
    assert "You need the *helpdesk* role" in reply.text, reply.text
    assert _status(ops.org, LEE_LOGIN) == "LOCKED_OUT"
    assert _pushes(ops.org) == 0
    audited = await _audited(ops)
    assert (ERIN, "unlock", "refused", "command") in audited
    assert not any(source == "self-service" for *_, source in audited)


@pytest.mark.parametrize(
    ("user", "said"),
    [
        (GARY, "Guest accounts cannot use self-service"),
        (GINA, "Guest accounts cannot use self-service"),
        (NOBODY, "No Okta account matches your Slack email `nobody@acme.example`"),
    ],
)
async def test_callers_without_an_own_okta_account_are_refused(ops: ChatOps, user: str, said: str) -> None:
    await ops.command(user, "unlock")
    reply = await _final(ops, user)
    assert said in reply.text
    assert (user, "unlock", "refused", "self-service") in await _audited(ops)
    assert _pushes(ops.org) == 0


async def test_a_bot_is_refused(ops: ChatOps) -> None:
    # Slack never lets a bot run a slash command: this one is forged with the signing secret, to
    # show the bot would still refuse rather than look up an account for it.
    request = forged(ops.ws, ops.ws.slash_command(ERIN, "unlock"), lambda f: f | {"user_id": JIRA, "user_name": "jira"})
    assert (await ops.ws.send(ops.url, request)).status_code == 200
    reply = await _final(ops, ERIN)  # the response_url was issued to the request's channel viewer
    assert "Bots have no Okta account" in reply.text
    assert (JIRA, "unlock", "refused", "self-service") in await _audited(ops)


async def test_an_unverified_slack_email_is_refused(ops: ChatOps) -> None:
    _edit_slack_user(ops.ws, LEE, is_email_confirmed=False)
    await ops.command(LEE, "unlock")
    reply = await _final(ops, LEE)
    assert "not verified" in reply.text
    assert _status(ops.org, LEE_LOGIN) == "LOCKED_OUT"
    assert _pushes(ops.org) == 0


@pytest.mark.parametrize(("attribute", "matched"), [("profile.login", True), ("profile.email", False)])
async def test_slack_email_is_matched_to_the_configured_okta_attribute(
    start: Start, attribute: str, matched: bool
) -> None:
    async with start(policy=_policy(email_attribute=attribute)) as ops:
        # Okta login = the work address Slack knows; Okta email = a different one.
        pat = ops.org.add_user("pat.doe@acme.example", "Pat", "Doe", email="pat.home@example.org")
        ops.org.enroll_factor(pat, "push")
        ops.org.lock_out(pat)
        profile = SlackProfile(real_name="Pat Doe", email="pat.doe@acme.example", team=ops.ws.team_id)
        ops.ws.add_user(SlackUser(id="U0PAT000001", team_id=ops.ws.team_id, name="pat", real_name="Pat Doe", profile=profile))
        ops.org.answer_push(pat.id, "SUCCESS")  # the phone says yes as soon as a push arrives

        await ops.command("U0PAT000001", "unlock", channel=ops.ws.dm_channel_id("U0PAT000001"))
        reply = await _final(ops, "U0PAT000001")

        if matched:
            assert "unlocked" in reply.text and _status(ops.org, pat.id) == "ACTIVE"
        else:
            assert "No Okta account matches" in reply.text and _status(ops.org, pat.id) == "LOCKED_OUT"


# --- limits and the other verb ------------------------------------------------------------------


async def test_fourth_use_within_the_window_is_refused(ops: ChatOps) -> None:
    for _ in range(3):
        await ops.command(ERIN, "unlock")
        assert "not locked" in (await _final(ops, ERIN)).text
    await ops.command(ERIN, "unlock")
    reply = await ops.reply_to(ERIN, lambda m: "times recently" in m.text)
    assert "used self-service 3 times" in reply.text
    assert 0 < await ops.redis.ttl(RATE_PREFIX + ERIN) <= 3600
    assert len([t for t in await _announced(ops, 4) if f"<@{ERIN}>" in t]) == 4  # every use, refusals included


async def test_reset_password_sends_okta_email_to_the_callers_own_account(ops: ChatOps) -> None:
    await ops.command(ERIN, "reset-password")
    await _prompted(ops, ERIN)
    ops.org.answer_push("erin.employee@acme.example", "SUCCESS")
    reply = await _final(ops, ERIN)
    assert "emailed you a password reset link" in reply.text
    assert _status(ops.org, "erin.employee@acme.example") == "RECOVERY"
    assert (ERIN, "reset-password", "succeeded", "self-service") in await _audited(ops)


# --- the Home tab --------------------------------------------------------------------------------


async def _home_shows(ops: ChatOps, user: str, text: str) -> SlackView:
    """The Home tab once the bot has published one containing `text`."""
    await ops.ws.wait_for(
        lambda c: c.method == "views.publish" and c.args.get("user_id") == user and text in json.dumps(c.args["view"])
    )
    home = ops.ws.home(user)
    assert home is not None
    return home


def _action_ids(home: SlackView) -> list[str]:
    return [e["action_id"] for b in home.view["blocks"] if b["type"] == "actions" for e in b["elements"]]


async def test_home_tab_shows_status_and_its_unlock_button_unlocks(ops: ChatOps) -> None:
    await ops.ws.send(ops.url, ops.ws.event(LEE, {"type": "app_home_opened"}))
    home = await _home_shows(ops, LEE, "Locked out")
    assert LEE_LOGIN in json.dumps(home.view)
    assert _action_ids(home) == ["self:unlock", "self:reset-password", "self:request"]  # and the request form

    response = await ops.ws.send(ops.url, ops.ws.block_action(LEE, "self:unlock", view=home))
    assert response.status_code == 200
    await _home_shows(ops, LEE, "Check your phone")
    ops.org.answer_push(LEE_LOGIN, "SUCCESS")
    home = await _home_shows(ops, LEE, "Your Okta account is unlocked")

    assert _status(ops.org, LEE_LOGIN) == "ACTIVE"
    assert "Active" in json.dumps(home.view) and "self:unlock" not in _action_ids(home)
    assert (LEE, "unlock", "succeeded", "self-service") in await _audited(ops)


async def test_home_tab_acts_on_the_clicker_whatever_the_button_says(ops: ChatOps) -> None:
    await ops.ws.send(ops.url, ops.ws.event(ERIN, {"type": "app_home_opened"}))
    home = await _home_shows(ops, ERIN, "Active")
    assert _action_ids(home) == ["self:reset-password", "self:request"]  # nothing to unlock
    ops.org.answer_push("erin.employee@acme.example", "SUCCESS")

    def naming_lee(fields: dict[str, str]) -> dict[str, str]:
        payload = json.loads(fields["payload"])
        payload["actions"][0]["value"] = LEE_LOGIN
        return fields | {"payload": json.dumps(payload)}

    # Home buttons carry no value; one that did (forged here) must not pick the account.
    await ops.ws.send(ops.url, forged(ops.ws, ops.ws.block_action(ERIN, "self:reset-password", view=home), naming_lee))
    await _home_shows(ops, ERIN, "emailed you a password reset link")

    assert _status(ops.org, "erin.employee@acme.example") == "RECOVERY"
    assert _status(ops.org, LEE_LOGIN) == "LOCKED_OUT"


async def test_home_tab_of_a_guest_explains_why_nothing_is_offered(ops: ChatOps) -> None:
    await ops.ws.send(ops.url, ops.ws.event(GARY, {"type": "app_home_opened"}))
    home = await _home_shows(ops, GARY, "Guest accounts cannot use self-service")
    assert _action_ids(home) == []
