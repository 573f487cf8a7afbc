""" "Was this you?" end to end: the Okta simulator fires its event hooks over HTTP at the bot's receiver,
the flow's consumer group reads the alert stream, the employee is asked in the Slack stand-in and
clicks there; a real Redis holds every question; time moves by a clock the test controls."""

from __future__ import annotations

from typing import Any

from alerts.service import AlertService
from confirm.store import State
from oktaclient.models import UserStatus
from tests.chatops_support import ERIN, HANA, OSCAR, SAM
from tests.helpdesk_support import audit_trail, buttons, mrkdwn, new_user
from tests.test_security_attacks import reforged
from tests.wasthisyou_support import ALERTS_CHANNEL, ERIN_LOGIN, Scene, as_user, factor_enrolled, metric, scene

__all__ = ["scene"]  # the fixture


async def test_yes_is_recorded_and_marks_the_alert(scene: Scene) -> None:
    chatops, org = scene.chatops, scene.org
    before = metric("okc_was_this_you_questions_total", answer="yes")
    alerts = AlertService(
        chatops.redis, chatops.bot.slack, chatops.bot.services.policy, org_url="https://x", consumer_name="a"
    )
    async with scene.replica(), alerts:
        event = factor_enrolled(org, severity="WARN")  # WARN: the alert rules post it to #security-alerts
        question = await scene.question()
        assert "203.0.113.99" in mrkdwn(question) and "new sign-in factor" in question.text
        assert set(buttons(question)) == {"wty:yes", "wty:no"}
        alert = await chatops.ws.wait_for_message(lambda m: m.channel == ALERTS_CHANNEL and event["uuid"] in mrkdwn(m))
        await scene.click(ERIN, "wty:yes", question)
        await chatops.ws.wait_for_message(lambda m: m.ts == alert.ts and "Confirmed by the user" in mrkdwn(m))
        answered = await chatops.ws.wait_for_message(lambda m: m.ts == question.ts and "you confirmed" in m.text)
    assert not buttons(answered), "the answer replaces the buttons"
    assert scene.session_clears(org.get_user(ERIN_LOGIN).id) == 0
    outcomes = [(r.verb, r.outcome) for r in await audit_trail(chatops)]
    assert ("was-this-you", "asked") in outcomes and ("was-this-you", "yes") in outcomes
    assert metric("okc_was_this_you_questions_total", answer="yes") == before + 1


async def test_no_clears_sessions_once_and_opens_an_incident(scene: Scene) -> None:
    chatops, org, ws = scene.chatops, scene.org, scene.chatops.ws
    erin = org.get_user(ERIN_LOGIN)
    contained_before = metric("okc_was_this_you_containment_seconds_count")
    async with scene.replica():
        org.record_event("user.mfa.factor.deactivate", actor=erin, targets=[erin], message="Deactivate factor")
        question = await scene.question()
        click = ws.block_action(ERIN, "wty:no", message=question)
        second = ws.block_action(ERIN, "wty:no", message=question)  # a double click: both before the update
        assert (await ws.send(chatops.url, click)).status_code == 200
        incident = await scene.incident(lambda m: "says it wasn't them" in m.text or "wasn't them" in mrkdwn(m))
        told = await ws.wait_for_message(lambda m: m.ts == question.ts and "What to do now" in mrkdwn(m))
        assert (await ws.send(chatops.url, click)).status_code == 200  # the same delivery again
        assert (await ws.send(chatops.url, second)).status_code == 200
        await chatops.reply_to(ERIN, lambda m: "already answered" in m.text)
    assert scene.session_clears(erin.id) == 1
    assert "signed out everywhere" in mrkdwn(incident) and "user.mfa.factor.deactivate" in mrkdwn(incident)
    assert set(buttons(incident)) == {"wty:suspend", "wty:reset_factors", "wty:reset_password", "wty:resolve"}
    assert not buttons(told)
    assert metric("okc_was_this_you_containment_seconds_count") == contained_before + 1
    records = [(r.verb, r.outcome) for r in await audit_trail(chatops)]
    assert records.count(("clear-sessions", "succeeded")) == 1 and ("was-this-you", "no") in records


async def test_no_is_answered_at_once_while_the_incident_waits_its_turn_in_the_channel(scene: Scene) -> None:
    org, ws = scene.org, scene.chatops.ws
    async with scene.replica():
        factor_enrolled(org)
        question = await scene.question()
        ws.fail_next("chat.postMessage", status=429, retry_after=2, times=2, channel=ALERTS_CHANNEL)
        await scene.click(ERIN, "wty:no", question)
        securing = await ws.wait_for_message(lambda m: m.ts == question.ts and "securing your account" in m.text)
        assert not buttons(securing), "a second click has nothing to press"
        assert not [m for m in ws.messages(ALERTS_CHANNEL) if "wty:resolve" in buttons(m)], "the incident comes later"
        await scene.incident()
        told = await ws.wait_for_message(lambda m: m.ts == question.ts and "What to do now" in mrkdwn(m))
    assert not buttons(told) and scene.session_clears(org.get_user(ERIN_LOGIN).id) == 1


async def test_silence_escalates_when_the_window_closes(scene: Scene) -> None:
    org = scene.org
    before = metric("okc_was_this_you_questions_total", answer="timeout")
    async with scene.replica() as flow:
        factor_enrolled(org)
        question = await scene.question()
        assert await flow.sweep_once() == 0, "nothing is due before the deadline"
        scene.clock.advance(30 * 60 + 1)
        assert await flow.sweep_once() == 1
        incident = await scene.incident()
        assert await flow.sweep_once() == 0, "escalated once"
    assert "did not answer" in incident.text or "did not answer" in mrkdwn(incident)
    closed = scene.chatops.ws.message(question.channel, question.ts)
    assert "No answer in time" in closed.text and not buttons(closed)
    assert metric("okc_was_this_you_questions_total", answer="timeout") == before + 1
    assert scene.session_clears(org.get_user(ERIN_LOGIN).id) == 0


async def test_nobody_to_ask_escalates_at_once(scene: Scene) -> None:
    pat = new_user(scene.org)  # in Okta, not in Slack
    async with scene.replica():
        factor_enrolled(scene.org, pat.login)
        incident = await scene.incident(lambda m: "no Slack account" in mrkdwn(m))
    assert pat.login in mrkdwn(incident)


async def test_a_click_by_anyone_else_changes_nothing(scene: Scene) -> None:
    chatops, ws = scene.chatops, scene.chatops.ws
    async with scene.replica() as flow:
        factor_enrolled(scene.org)
        question = await scene.question()
        # Sam cannot see Erin's DM: this is the click forged, as if Slack had sent it
        forged = reforged(ws, ws.block_action(ERIN, "wty:no", message=question), as_user(SAM))
        assert (await ws.send(chatops.url, forged)).status_code == 200
        await ws.wait_for(lambda call: call.method == "response_url" and "sent to someone else" in str(call.args))
        [qid] = {b["value"] for b in buttons(question).values()}
        q = await flow.store.get(qid)
    assert q is not None and q.state is State.ASKING
    assert not [r for r in scene.org.requests if r.path.startswith("/api/v1/users/") and r.method in ("POST", "DELETE")]
    assert ("was-this-you", "refused") in [(r.verb, r.outcome) for r in await audit_trail(chatops)]


async def test_a_pending_question_survives_a_restart_and_still_times_out(scene: Scene) -> None:
    async with scene.replica("before"):
        factor_enrolled(scene.org)
        question = await scene.question()
    scene.clock.advance(31 * 60)  # the replica is gone while the deadline passes
    flow = scene.flow()
    assert await flow.sweep_once() == 1  # a new replica's sweeper, built from nothing but Redis
    await scene.incident(lambda m: "did not answer" in mrkdwn(m))
    assert "No answer in time" in scene.chatops.ws.message(question.channel, question.ts).text


async def test_push_bombing_asks_once_at_the_third_rejection(scene: Scene) -> None:
    chatops, org = scene.chatops, scene.org
    async with scene.replica():
        org.push_bomb(ERIN_LOGIN, 2)
        await org.hooks_idle()
        factor_sentinel = new_user(org)  # a later event for someone else: once it is handled, so are the pushes
        factor_enrolled(org, factor_sentinel.login)
        await scene.incident(lambda m: factor_sentinel.login in mrkdwn(m))
        assert not chatops.ws.dms(ERIN), "two rejections are not a burst"
        org.push_bomb(ERIN_LOGIN, 3)
        question = await scene.question()
        await org.hooks_idle()
    assert "Okta Verify pushes" in question.text
    assert len([m for m in chatops.ws.dms(ERIN) if "Was this you?" in m.text]) == 1, "one question per incident"


async def test_reported_by_the_employee_contains_at_once_and_security_follows_up(scene: Scene) -> None:
    chatops, org = scene.chatops, scene.org
    erin = org.get_user(ERIN_LOGIN)
    async with scene.replica():
        incident = await scene.reported()
        await chatops.ws.wait_for_message(
            lambda m: m.channel == chatops.ws.dm_channel_id(ERIN) and "you reported" in m.text
        )
        ws = chatops.ws  # Hana (helpdesk, not security) is not in the channel: her click, forged
        forged = reforged(ws, ws.block_action(SAM, "wty:suspend", message=incident), as_user(HANA))
        assert (await ws.send(chatops.url, forged)).status_code == 200
        await ws.wait_for(lambda call: call.method == "response_url" and "Only the security role" in str(call.args))
        assert erin.status is UserStatus.ACTIVE
        await scene.click(SAM, "wty:suspend", incident)
        await chatops.reply_to(SAM, lambda m: "Suspend: done" in m.text)
        await chatops.ws.wait_for_message(lambda m: m.ts == incident.ts and "account suspended by" in mrkdwn(m))
        await scene.click(SAM, "wty:resolve", incident)
        resolved = await chatops.ws.wait_for_message(lambda m: m.ts == incident.ts and "resolved by" in mrkdwn(m))
    assert erin.status is UserStatus.SUSPENDED
    assert scene.session_clears(erin.id) == 1
    assert not buttons(resolved)


OSCAR_LOGIN = "oscar.admin@acme.example"  # in Okta Admins: protected by the example policy


async def test_no_on_a_protected_account_changes_nothing_and_sends_security_to_the_admin_console(
    scene: Scene,
) -> None:
    chatops, org, ws = scene.chatops, scene.org, scene.chatops.ws
    oscar = org.get_user(OSCAR_LOGIN)
    async with scene.replica():
        factor_enrolled(org, OSCAR_LOGIN)
        question = await scene.question(OSCAR, OSCAR_LOGIN)
        await scene.click(OSCAR, "wty:no", question)
        incident = await scene.incident(lambda m: "protected account" in mrkdwn(m))
        told = await ws.wait_for_message(lambda m: m.ts == question.ts and "What to do now" in mrkdwn(m))
        # The buttons are not there; a stale or forged one is refused from Okta's state all the same.
        forged = reforged(ws, ws.block_action(SAM, "wty:resolve", message=incident), as_action("wty:suspend"))
        assert (await ws.send(chatops.url, forged)).status_code == 200
        await chatops.reply_to(SAM, lambda m: "protected account" in m.text and "Okta admin console" in m.text)
    assert "not contained (protected account)" in mrkdwn(incident) and "Okta admin console" in mrkdwn(incident)
    assert set(buttons(incident)) == {"wty:resolve"}, "nothing to change from Slack"
    assert "may not change" in mrkdwn(told) and "signed out" not in mrkdwn(told)
    assert oscar.status is UserStatus.ACTIVE and scene.session_clears(oscar.id) == 0
    assert not [r for r in org.requests if r.path.startswith(f"/api/v1/users/{oscar.id}/") and r.method != "GET"]
    records = [(r.verb, r.outcome, r.target) for r in await audit_trail(chatops)]
    assert ("was-this-you", "refused", OSCAR_LOGIN) in records and ("suspend", "refused", OSCAR_LOGIN) in records
    assert not [r for r in records if r[0] == "clear-sessions"]


async def test_a_follow_up_checks_protection_when_clicked_not_when_the_incident_was_posted(scene: Scene) -> None:
    chatops, org, erin = scene.chatops, scene.org, scene.org.get_user(ERIN_LOGIN)
    async with scene.replica():
        incident = await scene.reported()
        assert "wty:suspend" in buttons(incident)
        org.add_member("Okta Admins", erin)  # protected from now on
        await scene.click(SAM, "wty:suspend", incident)
        await chatops.reply_to(SAM, lambda m: "protected account" in m.text)
        refreshed = await chatops.ws.wait_for_message(
            lambda m: m.ts == incident.ts and "Protected account" in mrkdwn(m)
        )
    assert erin.status is UserStatus.ACTIVE
    assert set(buttons(refreshed)) == {"wty:resolve"}


def as_action(action_id: str) -> Any:
    def change(payload: dict[str, Any]) -> None:
        payload["actions"][0]["action_id"] = action_id

    return change
