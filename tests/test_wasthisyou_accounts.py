""" "Was this you?" finds the employee's Slack account once and keeps it in Redis for every replica
(confirm/accounts.py): asked again, no Okta read and no users.lookupByEmail (Slack's Tier 3); a kept
account the DM no longer reaches is looked up afresh. Over real HTTP against the stand-ins."""

from __future__ import annotations

from confirm.accounts import KEY_PREFIX, SlackAccounts
from tests.chatops_support import ERIN
from tests.helpdesk_support import mrkdwn, new_user
from tests.wasthisyou_support import ERIN_LOGIN, Scene, factor_enrolled, scene

__all__ = ["scene"]  # the fixture
DEE = "U0DEE000001"  # deactivated in Slack


def accounts(scene: Scene) -> SlackAccounts:
    return SlackAccounts(scene.chatops.redis, scene.okta, scene.chatops.bot.slack)


def lookups(scene: Scene) -> int:
    return [c.method for c in scene.chatops.ws.calls].count("users.lookupByEmail")


async def test_an_account_found_is_kept_for_every_replica_and_nobody_is_not(scene: Scene) -> None:
    erin = scene.org.get_user(ERIN_LOGIN)
    assert await accounts(scene).of(erin.id, ERIN_LOGIN) == ERIN
    assert lookups(scene) == 1
    assert await accounts(scene).of(erin.id, ERIN_LOGIN) == ERIN  # another replica: kept in Redis
    assert lookups(scene) == 1
    assert await accounts(scene).of(erin.id, ERIN_LOGIN, fresh=True) == ERIN
    assert lookups(scene) == 2
    assert 0 < await scene.chatops.redis.ttl(KEY_PREFIX + erin.id) <= 86_400
    pat = new_user(scene.org)  # in Okta, not in Slack: asked about again, looked up again (may have joined)
    for _ in range(2):
        assert await accounts(scene).of(pat.id, pat.login) is None
    assert lookups(scene) == 4


async def test_a_kept_account_the_dm_no_longer_reaches_is_looked_up_afresh(scene: Scene) -> None:
    erin = scene.org.get_user(ERIN_LOGIN)
    await scene.chatops.redis.set(KEY_PREFIX + erin.id, DEE)  # kept from before, deactivated since
    async with scene.replica():
        factor_enrolled(scene.org)
        question = await scene.question()
    assert question.channel == scene.chatops.ws.dm_channel_id(ERIN)
    assert await scene.chatops.redis.get(KEY_PREFIX + erin.id) == ERIN
    refused = [c for c in scene.chatops.ws.calls if c.method == "chat.postMessage" and c.args.get("channel") == DEE]
    assert [c.error for c in refused] == ["user_disabled"]


async def test_a_kept_account_gone_with_nobody_found_afresh_escalates(scene: Scene) -> None:
    pat = new_user(scene.org)  # in Okta, not in Slack
    await scene.chatops.redis.set(KEY_PREFIX + pat.id, DEE)
    async with scene.replica():
        factor_enrolled(scene.org, pat.login)
        incident = await scene.incident(lambda m: "no Slack account" in mrkdwn(m))
    assert pat.login in mrkdwn(incident)
    assert await scene.chatops.redis.get(KEY_PREFIX + pat.id) is None
