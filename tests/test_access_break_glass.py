"""Break-glass grants against the Okta simulator and the Slack stand-in over HTTP and a real Redis,
with a clock moved by hand: what the grant path does differently for them (never extended unapproved,
no Extend in the reminder, kept until reviewed), and refusals that leave nothing behind."""

from __future__ import annotations

import pytest

from access import BreakGlassGrants, GrantConflict, Review
from access.store import PREFIX
from oktaclient import OktaClient
from oktasim import OktaOrg
from policy.access import BreakGlass
from tests.access_support import ManualClock, grants_on, removals
from tests.chatops_support import BEATRIZ, SAM

SAM_LOGIN = "sam.security@acme.example"


@pytest.fixture
async def glass(redis, okta, ws, slack) -> BreakGlassGrants:  # type: ignore[no-untyped-def]
    ws.rate_limits.enabled = False  # the announcement and DMs in quick succession; pacing is not under test
    return BreakGlassGrants(grants_on(redis, okta, ws, ManualClock()))


def advance(glass: BreakGlassGrants, seconds: float) -> None:
    clock = glass.grants.clock
    assert isinstance(clock, ManualClock)
    clock.advance(seconds)


def rule(glass: BreakGlassGrants) -> BreakGlass:
    engineering = glass.policy.access_group("Engineering")
    assert engineering is not None and engineering.break_glass is not None  # policy/example.yaml opts it in
    return engineering.break_glass


async def take(glass: BreakGlassGrants, okta: OktaClient, group: str = "Engineering", seconds: int = 3600):  # type: ignore[no-untyped-def]
    user = await okta.get_user(SAM_LOGIN)
    target = await anext(g async for g in okta.search_groups(f'profile.name eq "{group}"'))
    return await glass.take(user=user, group=target, seconds=seconds, by=SAM, reason="INC-1 prod down", rule=rule(glass))


def additions(org: OktaOrg) -> int:
    return sum(1 for r in org.requests if r.method == "PUT" and "/groups/" in r.path and "/users/" in r.path)


async def test_the_rules_longest_duration_caps_what_is_asked(glass, okta) -> None:  # type: ignore[no-untyped-def]
    given = await take(glass, okta, seconds=4 * 3600)
    assert given.grant.ends - given.grant.starts == 3600


async def test_the_reminder_offers_no_extend_and_the_member_cannot_extend_it_alone(glass, okta, ws) -> None:  # type: ignore[no-untyped-def]
    grant = (await take(glass, okta)).grant
    advance(glass, 3600 - 15 * 60)
    await glass.grants.tick()
    [reminder] = [m for m in ws.dms(SAM) if ":alarm_clock:" in m.text]
    assert "access:release" in str(reminder.blocks) and "access:extend" not in str(reminder.blocks)
    assert "break-glass is not extended" in reminder.text
    assert await glass.grants.extend(grant, SAM, by_self=True, source="button") == -1
    stored = await glass.store.get(grant.id)
    assert stored is not None and stored.ends == grant.ends and stored.extensions == 0


async def test_an_ended_grant_is_kept_until_reviewed_then_only_for_the_retention(glass, okta, redis) -> None:  # type: ignore[no-untyped-def]
    grant = (await take(glass, okta)).grant
    advance(glass, 3600)
    assert await glass.grants.tick() == 1
    key = f"{PREFIX}grant:{grant.id}"
    assert await redis.ttl(key) == -1  # still owed its review: no expiry
    outcome, _ = await glass.review(grant.id, BEATRIZ, ["approver"], None)
    assert outcome == Review.REVIEWED and 0 < await redis.ttl(key) <= 30 * 86400


async def test_a_member_already_takes_nothing_and_a_refused_add_keeps_nothing(glass, okta, okta_org, ws) -> None:  # type: ignore[no-untyped-def]
    okta_org.add_member("Engineering", SAM_LOGIN)
    with pytest.raises(GrantConflict, match="member of Engineering already"):
        await take(glass, okta)
    assert additions(okta_org) == 0 and await glass.grants.active() == [] and await glass.store.unreviewed(1e12) == []
    assert not [m for m in ws.messages(ws.channel_id("security-alerts")) if "Break-glass" in m.text]


async def test_review_is_refused_to_the_takers_okta_account_and_to_unknown_grants(glass, okta, okta_org) -> None:  # type: ignore[no-untyped-def]
    grant = (await take(glass, okta)).grant
    sam_okta = okta_org.get_user(SAM_LOGIN).id
    assert (await glass.review(grant.id, BEATRIZ, ["approver"], sam_okta))[0] == Review.OWN  # another Slack account, same person
    assert (await glass.review("no-such-grant", BEATRIZ, ["approver"], None))[0] == Review.UNKNOWN
    assert (await glass.review(grant.id, BEATRIZ, ["approver"], None))[0] == Review.REVIEWED
    assert removals(okta_org) == 0  # a review changes nothing in Okta
