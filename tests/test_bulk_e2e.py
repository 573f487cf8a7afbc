"""Bulk membership changes end to end over real HTTP (issue 18): `/okta bulk-add-to-group` and
`bulk-remove-from-group` with logins, Okta ids, Slack mentions and Slack user groups; refusals; more
than 500 users; one approval for the whole batch, then a progress message and a final report.

The policy is the example's, but removals run without approval, so one module covers both paths."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from actions.bulk_progress import UPDATE_INTERVAL
from policy import parse_policy
from slacksim import Message, Usergroup
from tests.chatops_support import ARJUN, ERIN, HANA, LEE, NOBODY, ChatOps
from tests.helpdesk_support import ask, audited, mrkdwn, request_approval, running_bot

pytestmark = pytest.mark.asyncio(loop_scope="module")

EXAMPLE = Path(__file__).resolve().parents[1] / "policy" / "example.yaml"
_numbers = itertools.count(1)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(redis_url: str) -> AsyncIterator[ChatOps]:
    text = EXAMPLE.read_text().replace(
        "bulk-remove-from-group: {roles: [helpdesk]}", "bulk-remove-from-group: {roles: [helpdesk], approval: {required: false}}"
    )
    policy = parse_policy(text)
    async with running_bot(redis_url, policy=policy) as chatops:
        yield chatops


def _people(bot: ChatOps, count: int, groups: tuple[str, ...] = ()) -> list[str]:
    n = next(_numbers)
    return [bot.org.add_user(f"bulk{n}.p{i}@acme.example", "Bulk", f"P{n}x{i}", groups=groups).login for i in range(count)]


def _members(bot: ChatOps, group_name: str) -> set[str]:
    return {u.login for u in bot.org.directory.members(bot.org.get_group(group_name))}


async def _report(bot: ChatOps, group_name: str, timeout: float = 30.0) -> Message:
    """The batch's progress message once it shows the final report."""
    helpdesk = bot.ws.channel_id("helpdesk")
    return await bot.ws.wait_for_message(
        lambda m: m.channel == helpdesk and "finished." in m.text and group_name in m.text, timeout=timeout
    )


async def test_only_the_policys_roles_may_run_a_batch(bot: ChatOps) -> None:
    bot.org.add_group("Bulk Refused")
    logins = _people(bot, 2)
    answer = await ask(bot, ERIN, f"bulk-add-to-group \"Bulk Refused\" {' '.join(logins)}")
    assert answer.text == ":no_entry: You need the *helpdesk* role to run `bulk-add-to-group`."
    assert _members(bot, "Bulk Refused") == set()
    await audited(bot, actor=ERIN, verb="bulk-add-to-group", outcome="refused")


async def test_more_than_500_users_is_refused_by_the_grammar(bot: ChatOps) -> None:
    text = "bulk-add-to-group Engineering " + " ".join(f"u{n}@acme.example" for n in range(501))
    response = await bot.command(HANA, text)
    assert "takes at most 500 users at once, but got 501: split the batch." in response.text


async def test_more_than_500_users_after_expanding_a_user_group_is_refused(bot: ChatOps) -> None:
    bot.org.add_group("Bulk Too Many")
    bot.ws.add_usergroup(Usergroup(id="S0BULKBIG01", handle="everyone-big", name="Big", users=[f"U0BIG{n:06d}" for n in range(499)]))
    logins = _people(bot, 2)
    answer = await ask(bot, HANA, f"bulk-add-to-group \"Bulk Too Many\" {' '.join(logins)} <!subteam^S0BULKBIG01|@everyone-big>")
    assert answer.text == (
        ":no_entry: `bulk-add-to-group` takes at most 500 users at once; with the members of the Slack user "
        "group(s) that is 501. Split the batch."
    )
    assert not [c for c in bot.ws.calls if c.method == "views.open" and c.args.get("trigger_id") and "Too Many" in json.dumps(c.args)]
    await audited(bot, verb="bulk-add-to-group", target="Bulk Too Many", outcome="refused")


async def test_one_approval_for_the_batch_then_progress_and_a_report(bot: ChatOps) -> None:
    group = bot.org.add_group("Bulk Approved")
    already = _people(bot, 1, groups=("Bulk Approved",))[0]
    logins = _people(bot, 30)
    by_id = bot.org.get_user(logins[0]).id
    bot.ws.add_usergroup(Usergroup(id="S0BULKTEAM1", handle="bulk-team", name="Bulk Team", users=[LEE, NOBODY]))
    typed = [by_id, *logins[1:], already, "nobody.here@acme.example", "00u00000000000000000", logins[1]]
    text = f"bulk-add-to-group \"Bulk Approved\" {' '.join(typed)} <!subteam^S0BULKTEAM1|@bulk-team>"

    request = await request_approval(bot, HANA, text)

    shown = mrkdwn(request)
    assert "`bulk-add-to-group` in group *Bulk Approved*" in shown
    assert "32 users: " in shown and "and 12 more" in shown and "3 not found, left out" in shown
    assert _members(bot, "Bulk Approved") == {already}  # nothing before the approval
    await bot.click(ARJUN, "approval:approve", request)

    report = await _report(bot, "Bulk Approved")
    assert "31 added · 1 already members · 3 not found · 0 failed" in report.text
    text_of_report = mrkdwn(report)
    assert "*Not found (3)*" in text_of_report and f"<@{NOBODY}>" in text_of_report and "`nobody.here@acme.example`" in text_of_report
    assert _members(bot, "Bulk Approved") == {already, "lee.locked@acme.example", *logins}
    done = await bot.ws.wait_for_message(lambda m: m.channel == bot.ws.dm_channel_id(HANA) and "31 added" in m.text)
    assert "done" in done.text
    # one request, one channel line for the batch, and each user in the trail
    await audited(bot, verb="bulk-add-to-group", target=logins[5], outcome="succeeded")
    await audited(bot, verb="bulk-add-to-group", target=already, outcome="unchanged")
    summary = await audited(bot, verb="bulk-add-to-group", target="Bulk Approved", outcome="succeeded")
    assert summary.approval_id is not None and summary.actor == HANA
    assert group.id == bot.org.get_group("Bulk Approved").id


async def test_a_batch_without_approval_runs_at_once_with_paced_progress(bot: ChatOps) -> None:
    bot.org.add_group("Bulk Removal")
    members = _people(bot, 40, groups=("Bulk Removal",))
    outsider = _people(bot, 1)[0]

    started = await ask(bot, HANA, f"bulk-remove-from-group \"Bulk Removal\" {' '.join(members)} {outsider} ghost")
    assert started.text.startswith(":gear: Batch `") and "started: 41 users" in started.text

    answer = await bot.ws.wait_for_message(lambda m: m.ts == started.ts and "finished:" in m.text, timeout=30)
    assert "40 removed · 1 not members · 1 not found · 0 failed" in answer.text
    report = await _report(bot, "Bulk Removal")
    assert "*Not members (1)*" in mrkdwn(report) and "`ghost`" in mrkdwn(report)
    assert _members(bot, "Bulk Removal") == set()
    updates = [c for c in bot.ws.calls if c.method == "chat.update" and c.args.get("ts") == report.ts]
    posted = next(c for c in bot.ws.calls if c.method == "chat.postMessage" and c.result.get("ts") == report.ts)
    elapsed = updates[-1].at - posted.at
    assert len(updates) <= 2 + elapsed / UPDATE_INTERVAL  # paced progress, then the report


async def test_unknown_groups_and_unreadable_user_groups_change_nothing(bot: ChatOps) -> None:
    logins = _people(bot, 1)
    missing = await ask(bot, HANA, f"bulk-add-to-group \"No Such Bulk Group\" {logins[0]}")
    assert "No Okta group is named *No Such Bulk Group*" in missing.text
    bot.org.add_group("Bulk Team Gone")
    gone = await ask(bot, HANA, "bulk-add-to-group \"Bulk Team Gone\" <!subteam^S0GONE00001|@gone>")
    assert gone.text == ":x: I could not read the members of <!subteam^S0GONE00001> (`no_such_subteam`); nothing was changed."
    nobody = await ask(bot, HANA, "bulk-remove-from-group \"Bulk Team Gone\" ghost.one@acme.example")
    assert "0 removed · 0 not members · 1 not found · 0 failed" in nobody.text
    assert _members(bot, "Bulk Team Gone") == set()
