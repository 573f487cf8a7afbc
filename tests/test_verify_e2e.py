"""`/okta verify <user>` end to end over real HTTP: the number challenge the agent reads out, the
simulated phone answering it (right number, wrong number, no answer until Okta times the push out),
no push factor, refusals, and the policy's `verification` rule in front of unlock, reset-password and
reset-mfa, with a clock the test moves for the verification window."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
import yaml

from actions.push_check import PushTiming
from actions.verifications import Verifications
from bot.server import BackgroundServer
from bot.slack_app import build_bolt_app
from bot.web import create_web_app
from commands.helpdesk import Helpdesk
from commands.verify import Verifier
from oktaclient.models import UserStatus
from oktasim import User
from policy import Policy, parse_policy
from slacksim import Message
from tests.chatops_support import ERIN, EXAMPLE_POLICY, HANA, HOOK_SECRET, ChatOps
from tests.helpdesk_support import ask, audited, new_user, running_bot

pytestmark = pytest.mark.asyncio(loop_scope="module")

FAST = PushTiming(timeout=30.0, interval=0.01)  # Okta's own five-minute push lifetime ends a push first
WINDOW = 600


class Clock:
    """The bot's clock for verification windows, moved by the tests."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


CLOCK = Clock()


def _policy() -> Policy:
    raw = yaml.safe_load(EXAMPLE_POLICY.read_text())
    raw["verification"] = {"before": ["unlock", "reset-password", "reset-mfa"], "within": f"{WINDOW}s"}
    return parse_policy(yaml.safe_dump(raw))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(redis_url: str) -> AsyncIterator[ChatOps]:
    """The whole bot with a policy that wants a verification before unlock, reset-password and
    reset-mfa, and the verifier on the test's clock (as assemble wires it otherwise)."""
    async with running_bot(redis_url, policy=_policy(), push_timing=FAST) as chatops:
        b, client = chatops.bot, chatops.bot.bolt.client
        verifier = Verifier(b.services, Verifications(chatops.redis, CLOCK), FAST)
        helpdesk = Helpdesk(
            b.services, b.handlers.approvals, b.handlers.helpdesk.self_service, verifier, b.handlers.access,
            b.handlers.break_glass,
        )
        handlers = replace(b.handlers, helpdesk=helpdesk)
        bolt = build_bolt_app(client, chatops.ws.signing_secret, handlers, b.after_ack, chatops.redis)
        web = create_web_app(redis=chatops.redis, bolt=bolt, hook_secret=HOOK_SECRET, signing_secret=chatops.ws.signing_secret)
        async with BackgroundServer(web) as server:
            yield replace(chatops, bot=replace(b, bolt=bolt, handlers=handlers), server=server)


async def _number_shown(bot: ChatOps, user: User) -> tuple[Message, int]:
    shown = await bot.ws.wait_for_message(
        lambda m: m.ephemeral_to == HANA and "Sent an Okta Verify push to" in m.text and user.login in m.text
    )
    found = re.search(r"pick \*(\d+)\*", shown.text)
    assert found is not None, shown.text
    return shown, int(found[1])


async def _verify(bot: ChatOps, user: User, answer: str | None, *, right: bool = True) -> Message:
    """`/okta verify <user>` by Hana; the phone answers once the number is shown (None: it never does)."""
    asked = asyncio.create_task(ask(bot, HANA, f"verify {user.login}"))
    _, number = await _number_shown(bot, user)
    if answer is None:
        bot.org.advance_time(301)  # Okta gives up on a push after five minutes
    else:
        bot.org.answer_push(user.login, answer, number=number if right else number % 99 + 1)
    return await asked


async def test_the_agent_reads_out_the_number_and_the_right_pick_verifies(bot: ChatOps) -> None:
    pat = new_user(bot.org)
    bot.org.enroll_factor(pat, "push")

    answer = await _verify(bot, pat, "SUCCESS")

    assert answer.text.startswith(":white_check_mark: *Verified*: Pat") and pat.login in answer.text
    record = await audited(bot, verb="verify", target=pat.login, outcome="succeeded")
    assert record.actor == HANA and "number challenge" in record.detail
    sent = [e for e in bot.org.log_events if e["eventType"] == "system.push.send_factor_verify_push"]
    assert any(t.get("id") == pat.id for e in sent for t in e["target"])


async def test_a_wrong_number_is_rejected_and_security_hears_of_it(bot: ChatOps) -> None:
    pat = new_user(bot.org)
    bot.org.enroll_factor(pat, "push")

    answer = await _verify(bot, pat, "SUCCESS", right=False)

    assert "*Not verified*" in answer.text and "rejected" in answer.text and "Do not make changes" in answer.text
    await audited(bot, verb="verify", target=pat.login, outcome="failed", detail="rejected")
    alerts = bot.ws.channel_id("security-alerts")
    await bot.ws.wait_for_message(lambda m: m.channel == alerts and "impersonating" in m.text and pat.login in m.text)


async def test_an_unanswered_push_times_out_on_oktas_clock(bot: ChatOps) -> None:
    pat = new_user(bot.org)
    bot.org.enroll_factor(pat, "push")

    answer = await _verify(bot, pat, None)

    assert "was not answered in time" in answer.text
    await audited(bot, verb="verify", target=pat.login, outcome="failed", detail="timed out")


async def test_no_push_factor_is_said_and_nothing_is_sent(bot: ChatOps) -> None:
    pat = new_user(bot.org)
    bot.org.enroll_factor(pat, "sms")

    answer = await ask(bot, HANA, f"verify {pat.login}")

    assert "has no active Okta Verify push factor" in answer.text
    await audited(bot, verb="verify", target=pat.login, outcome="failed", detail="no push factor")
    assert not any(t.get("id") == pat.id for e in bot.org.log_events if "push" in e["eventType"] for t in e["target"])


async def test_verify_is_refused_without_a_role(bot: ChatOps) -> None:
    answer = await ask(bot, ERIN, "verify lee.locked@acme.example")
    assert "You need the *helpdesk* or *security* role to run `verify`." in answer.text
    await audited(bot, actor=ERIN, verb="verify", outcome="refused")


async def test_unlock_waits_for_a_verification_within_the_window(bot: ChatOps) -> None:
    pat = new_user(bot.org, UserStatus.LOCKED_OUT)
    bot.org.enroll_factor(pat, "push")

    refused = await ask(bot, HANA, f"unlock {pat.login}")
    assert f"run `/okta verify {pat.login}` while they are on the call" in refused.text
    assert "counts for 10 minute(s)" in refused.text and pat.status == UserStatus.LOCKED_OUT
    await audited(bot, verb="unlock", target=pat.login, outcome="refused")

    await _verify(bot, pat, "SUCCESS")
    done = await ask(bot, HANA, f"unlock {pat.login}")
    assert done.text.endswith("unlocked.") and pat.status == UserStatus.ACTIVE

    bot.org.lock_out(pat)
    CLOCK.offset += timedelta(seconds=WINDOW + 1)  # the verification is now too old
    again = await ask(bot, HANA, f"unlock {pat.login}")
    assert "The policy requires verifying" in again.text and pat.status == UserStatus.LOCKED_OUT


async def test_a_rejected_verification_does_not_open_reset_password_or_reset_mfa(bot: ChatOps) -> None:
    pat = new_user(bot.org)
    bot.org.enroll_factor(pat, "push")
    await _verify(bot, pat, "REJECTED")

    for command in (f"reset-password {pat.login}", f"reset-mfa {pat.login} push"):
        refused = await ask(bot, HANA, command)
        assert f"`/okta verify {pat.login}`" in refused.text, command
    assert pat.status == UserStatus.ACTIVE and len(pat.factors) == 1
    # verbs the policy does not name go on as before
    assert (await ask(bot, HANA, f"expire-password {pat.login}")).text.endswith("next sign-in.")
