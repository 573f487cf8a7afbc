"""Time-bound grants against the Okta simulator and the Slack stand-in over HTTP and a real Redis,
with a clock moved by hand (no sleeps): given, reminded, extended, released, ended exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from access import Grants
from access.grants import MAX_RETRY_S
from audit import AuditLog, AuditRecord
from oktaclient import OktaClient
from oktasim import OktaOrg
from slacksim import Message, SlackWorkspace
from tests.access_support import ManualClock, grants_on, removals
from tests.chatops_support import ERIN, HANA
from tests.conftest import SIM_API_TOKEN

ERIN_LOGIN = "erin.employee@acme.example"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def grants(redis, okta, ws, slack, clock) -> Grants:  # type: ignore[no-untyped-def]
    ws.rate_limits.enabled = False  # DMs and channel lines in quick succession; pacing is not under test
    return grants_on(redis, okta, ws, clock)


def member(org: OktaOrg, login: str, group: str) -> bool:
    return org.get_user(login).id in org.get_group(group).member_ids


async def give(grants: Grants, okta: OktaClient, group: str, seconds: int = 3600, login: str = ERIN_LOGIN, notify: str | None = ERIN):  # type: ignore[no-untyped-def]
    user = await okta.get_user(login)
    target = await anext(g async for g in okta.search_groups(f'profile.name eq "{group}"'))
    return await grants.give(user=user, group=target, seconds=seconds, by=HANA, notify=notify, reason="INC-42", source="command")


def dms(ws: SlackWorkspace, text: str, to: str = ERIN) -> list[Message]:
    return [m for m in ws.dms(to) if text in m.text]


async def trail(redis) -> list[AuditRecord]:  # type: ignore[no-untyped-def]
    return [e.record for e in await AuditLog(redis).since("0-0")]


async def test_a_grant_adds_reminds_before_the_end_and_removes_once_at_the_end(grants, okta, okta_org, ws, clock, redis) -> None:  # type: ignore[no-untyped-def]
    given = await give(grants, okta, "Finance")
    assert member(okta_org, ERIN_LOGIN, "Finance") and not given.extended
    granted = dms(ws, "is in *Finance* until")
    assert len(granted) == 1 and "Release now" in str(granted[0].blocks) and "Extend" not in str(granted[0].blocks)

    clock.advance(3600 - 15 * 60 - 1)
    assert await grants.tick() == 0 and not dms(ws, ":alarm_clock:")
    clock.advance(1)  # 15 minutes before the end (the example policy's reminder)
    await grants.tick()
    await grants.tick()  # a second tick reminds no one again
    reminders = dms(ws, ":alarm_clock:")
    assert len(reminders) == 1 and "Extend" in str(reminders[0].blocks) and "Release now" in str(reminders[0].blocks)
    assert member(okta_org, ERIN_LOGIN, "Finance")

    clock.advance(15 * 60)
    assert await grants.tick() == 1
    assert await grants.tick() == 0
    assert not member(okta_org, ERIN_LOGIN, "Finance")
    assert removals(okta_org) == 1
    assert len(dms(ws, "has ended: ended on time; membership removed")) == 1
    assert await grants.active() == []
    records = [(r.verb, r.outcome, r.actor, r.source) for r in await trail(redis)]
    assert records == [("add-to-group", "succeeded", HANA, "command"), ("remove-from-group", "succeeded", "system:access", "access")]
    audit = ws.channel_id("okta-audit")
    await ws.wait_for_message(lambda m: m.channel == audit and "`remove-from-group`" in m.text and "ended on time" in m.text)


async def test_a_grant_given_by_login_finds_the_member_in_slack_by_email_and_tells_the_agent(grants, okta, okta_org, ws, clock) -> None:  # type: ignore[no-untyped-def]
    given = await give(grants, okta, "Finance", notify=None)
    assert given.grant.notify == ERIN
    granted = dms(ws, "is in *Finance* until")
    assert len(granted) == 1 and "access:release" in str(granted[0].blocks)
    told = dms(ws, f"<@{ERIN}> was told by DM", to=HANA)
    assert len(told) == 1 and not dms(ws, "is in *Finance* until", to=HANA)
    clock.advance(3600 - 15 * 60)
    await grants.tick()
    assert len(dms(ws, ":alarm_clock:")) == 1 and not dms(ws, ":alarm_clock:", to=HANA)


async def test_a_grantee_without_a_slack_account_leaves_the_agent_told_and_reminded(grants, okta, okta_org, ws, clock) -> None:  # type: ignore[no-untyped-def]
    okta_org.add_user("no.slack@acme.example", "No", "Slack")
    given = await give(grants, okta, "Finance", login="no.slack@acme.example", notify=None)
    assert given.grant.notify == HANA
    assert len(dms(ws, "has no Slack account with their Okta email", to=HANA)) == 1
    assert len(dms(ws, "is in *Finance* until", to=HANA)) == 1
    clock.advance(3600 - 15 * 60)
    await grants.tick()
    assert len(dms(ws, ":alarm_clock:", to=HANA)) == 1


async def test_extend_moves_the_end_and_the_reminder_and_the_self_extension_is_once(grants, okta, okta_org, ws, clock) -> None:  # type: ignore[no-untyped-def]
    given = await give(grants, okta, "Finance", seconds=2 * 3600)
    clock.advance(3600)
    assert await grants.extend(given.grant, ERIN, by_self=True, source="button") == 1
    extended = await grants.store.get(given.grant.id)
    assert extended is not None and extended.ends == clock.now() + 2 * 3600 and extended.self_extended
    assert await grants.extend(extended, ERIN, by_self=True, source="button") == -1  # once only
    assert len(dms(ws, "now ends")) == 1

    clock.advance(3600 + 1)  # the first end has passed: nothing happens
    assert await grants.tick() == 0 and member(okta_org, ERIN_LOGIN, "Finance")
    clock.advance(3600)
    assert await grants.tick() == 1 and not member(okta_org, ERIN_LOGIN, "Finance")


async def test_giving_again_while_active_extends_the_grant_instead_of_adding_twice(grants, okta, okta_org) -> None:  # type: ignore[no-untyped-def]
    first = await give(grants, okta, "Finance", seconds=3600)
    second = await give(grants, okta, "Finance", seconds=4 * 3600)
    assert second.extended and second.grant.id == first.grant.id
    adds = [r for r in okta_org.requests if r.method == "PUT" and "/groups/" in r.path]
    assert len(adds) == 1 and len(await grants.active()) == 1


async def test_release_ends_now_and_a_replayed_click_changes_nothing(grants, okta, okta_org, ws) -> None:  # type: ignore[no-untyped-def]
    given = await give(grants, okta, "Finance")
    assert await grants.release(given.grant.id, ERIN, "button") is True
    assert await grants.release(given.grant.id, ERIN, "button") is None
    assert not member(okta_org, ERIN_LOGIN, "Finance") and removals(okta_org) == 1
    assert len(dms(ws, f"released early by <@{ERIN}>")) == 1
    assert await grants.tick() == 0


async def test_a_member_before_the_grant_stays_a_member_at_its_end(grants, okta, okta_org, ws, clock) -> None:  # type: ignore[no-untyped-def]
    # Erin is in Engineering already
    given = await give(grants, okta, "Engineering")
    assert given.grant.preexisting
    clock.advance(3600)
    assert await grants.tick() == 1
    assert member(okta_org, ERIN_LOGIN, "Engineering") and removals(okta_org) == 0
    assert len(dms(ws, "the membership stays: they were a member before the grant")) == 1


async def test_a_membership_removed_by_hand_or_a_deleted_group_ends_the_grant_with_a_note(grants, okta, okta_org, ws, clock, redis) -> None:  # type: ignore[no-untyped-def]
    await give(grants, okta, "Finance")
    await give(grants, okta, "Contractors")
    okta_org.get_group("Finance").member_ids.discard(okta_org.get_user(ERIN_LOGIN).id)  # an admin, in Okta's console
    del okta_org.directory.groups[okta_org.get_group("Contractors").id]
    clock.advance(3600)
    assert await grants.tick() == 2
    assert removals(okta_org) == 0
    assert len(dms(ws, "the membership had already been removed in Okta")) == 1
    assert len(dms(ws, "the group was deleted meanwhile")) == 1
    ends = [r for r in await trail(redis) if r.verb == "remove-from-group"]
    assert sorted(r.outcome for r in ends) == ["unchanged", "unchanged"]


@pytest.fixture
async def quick_okta(okta_sim) -> AsyncIterator[OktaClient]:  # type: ignore[no-untyped-def]
    """A client whose own retries wait 10 ms, not 0.5 s and more: the grants' retries are under test,
    on the test's clock."""
    async with OktaClient.from_api_token(okta_sim.url, SIM_API_TOKEN, backoff=0.01) as client:
        yield client


async def test_a_removal_okta_refuses_is_retried_with_backoff_and_security_is_told(redis, quick_okta, okta_org, ws, slack, clock) -> None:  # type: ignore[no-untyped-def]
    ws.rate_limits.enabled = False
    okta = quick_okta
    grants = grants_on(redis, okta, ws, clock)
    given = await give(grants, okta, "Finance")
    clock.advance(3600)
    group = given.grant.group_id
    for attempt in range(3):  # the client's own retries (3) and ours: every DELETE fails
        okta_org.inject_failure("DELETE", f"/api/v1/groups/{group}/users", status=503, times=4)
        assert await grants.tick() == 0
        assert member(okta_org, ERIN_LOGIN, "Finance")
        assert await grants.tick() == 0  # not before the backoff is over: no new call
        clock.advance(30 * 2**attempt)
    alerts = ws.channel_id("security-alerts")
    alert = await ws.wait_for_message(lambda m: m.channel == alerts and "did not end" in m.text)
    assert "Okta refused 3 times" in alert.text and given.grant.id in alert.text
    calls = removals(okta_org, group)
    assert await grants.tick() == 1  # Okta answers again
    assert removals(okta_org, group) == calls + 1 and not member(okta_org, ERIN_LOGIN, "Finance")


async def test_two_replicas_expiring_the_same_grants_remove_each_membership_once(redis, okta, okta_org, ws, slack, clock) -> None:  # type: ignore[no-untyped-def]
    ws.rate_limits.enabled = False
    first, second = grants_on(redis, okta, ws, clock), grants_on(redis, okta, ws, clock)
    users = [okta_org.add_user(f"temp{n}@acme.example", "Temp", f"User{n}") for n in range(20)]
    for user in users:
        await give(first, okta, "Finance", login=user.login)
    clock.advance(3600)
    ended = await asyncio.gather(first.tick(), second.tick(), first.tick(), second.tick())
    assert sum(ended) == 20
    assert removals(okta_org) == 20
    assert not any(user.id in okta_org.get_group("Finance").member_ids for user in users)


async def test_a_bot_back_after_the_end_removes_everything_overdue(redis, okta, okta_org, ws, slack, clock) -> None:  # type: ignore[no-untyped-def]
    ws.rate_limits.enabled = False
    before = grants_on(redis, okta, ws, clock)
    await give(before, okta, "Finance", seconds=600)
    await give(before, okta, "Sales", seconds=1800)
    clock.advance(3600)  # down for an hour: nobody ticked
    after = grants_on(redis, okta, ws, clock)  # a new process, the same Redis
    assert await after.tick() == 2
    assert not member(okta_org, ERIN_LOGIN, "Finance") and not member(okta_org, ERIN_LOGIN, "Sales")
    assert removals(okta_org) == 2
    assert not dms(ws, ":alarm_clock:") and len(dms(ws, "ended on time")) == 2  # ended, never reminded after the end


async def test_a_user_deleted_or_deactivated_in_okta_before_the_end_ends_the_grant_cleanly(grants, okta, okta_org, ws, clock, redis) -> None:  # type: ignore[no-untyped-def]
    gone = okta_org.add_user("gone.soon@acme.example", "Gone", "Soon")
    leaving = okta_org.add_user("leaving.soon@acme.example", "Leaving", "Soon")
    await give(grants, okta, "Finance", login=gone.login)
    await give(grants, okta, "Finance", login=leaving.login)
    await okta.deactivate_user(leaving.id)  # deactivated users keep their groups in Okta: the grant still removes it
    okta_org.directory.remove_user(gone)  # deleted, as an admin in Okta's console (memberships go with it)
    clock.advance(3600)
    assert await grants.tick() == 2
    assert leaving.id not in okta_org.get_group("Finance").member_ids and removals(okta_org) == 1
    ends = {r.target: r for r in await trail(redis) if r.verb == "remove-from-group"}
    assert ends[gone.login].outcome == "unchanged" and "no longer exists in Okta" in ends[gone.login].detail
    assert ends[leaving.login].outcome == "succeeded"
    # over for good: nothing is left to try again, and the security channel hears nothing
    assert await grants.active() == [] and await grants.store.due(clock.now() + 86400, 10) == []
    clock.advance(MAX_RETRY_S)
    assert await grants.tick() == 0 and removals(okta_org) == 1
    alerts = ws.channel_id("security-alerts")
    assert not [m for m in ws.messages(alerts) if "did not end" in m.text]
    assert len(dms(ws, "has ended: ended on time; the user no longer exists in Okta")) == 1  # told to whom it was given
