"""The one Slack port against the Slack stand-in over HTTP: Retry-After per channel, people before
channels, announcements that never hold up their caller, and errors that say what they are."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.server import BackgroundServer
from slackport import Priority, Reply, SlackError, SlackPort
from slackport._slots import PrioritySlots
from slacksim import SlackWorkspace, create_app, demo_workspace

LEE = "U0LEE000001"


@pytest.fixture
async def ws() -> AsyncIterator[SlackWorkspace]:
    workspace = demo_workspace()
    workspace.rate_limits.enabled = False  # only the 429s a test injects
    async with BackgroundServer(create_app(workspace)) as server:
        workspace.base_url = server.url
        yield workspace


def port(ws: SlackWorkspace, **options: object) -> SlackPort:
    assert ws.base_url is not None
    return SlackPort(AsyncWebClient(token=ws.bot_token, base_url=f"{ws.base_url}/api/"), **{"pacing_s": 0, **options})  # type: ignore[arg-type]


def posts(ws: SlackWorkspace, channel: str) -> list[tuple[int, str]]:
    """(status, text) of every chat.postMessage to `channel`, in the order Slack received them."""
    wanted = ws.channel_id(channel)
    return [
        (c.status, c.args.get("text", "")) for c in ws.calls if c.method == "chat.postMessage" and ws.channel_id(c.args["channel"]) == wanted
    ]


async def test_a_429_holds_its_channel_for_retry_after_while_other_channels_go_on(ws: SlackWorkspace) -> None:
    slack = port(ws)
    ws.fail_next("chat.postMessage", status=429, retry_after=1, times=2, channel="okta-audit")
    audit = asyncio.create_task(slack.post("#okta-audit", Reply(text="audit line")))
    await ws.wait_for(lambda c: c.method == "chat.postMessage" and c.status == 429)
    await slack.post("#helpdesk", Reply(text="elsewhere"))  # not held by the audit channel's 429
    assert not audit.done()

    posted = await asyncio.wait_for(audit, timeout=10)
    assert posted.channel == ws.channel_id("okta-audit")
    assert posts(ws, "okta-audit") == [(429, "audit line"), (429, "audit line"), (200, "audit line")]
    tries = [c.at for c in ws.calls if c.method == "chat.postMessage" and c.args.get("text") == "audit line"]
    assert all(later - earlier >= 0.9 for earlier, later in itertools.pairwise(tries)), "Retry-After: 1 is honoured"


async def test_announcements_return_at_once_keep_their_order_and_people_go_first(ws: SlackWorkspace) -> None:
    slack = port(ws, concurrency=1)
    ws.fail_next("chat.postMessage", status=429, retry_after=1, times=3, channel="okta-audit")
    for i in range(3):
        slack.announce("#okta-audit", Reply(text=f"line {i}"))  # returns without waiting for Slack
    await ws.wait_for(lambda c: c.method == "chat.postMessage" and c.status == 429)

    await slack.ephemeral(ws.channel_id("helpdesk"), LEE, Reply(text="your answer"))
    answered = next(i for i, c in enumerate(ws.calls) if c.method == "chat.postEphemeral")
    assert all(c.status == 429 for c in ws.calls[:answered] if c.method == "chat.postMessage"), (
        "the person's answer did not wait for the throttled channel"
    )

    assert await slack.drain(timeout=30) == 0
    assert [text for status, text in posts(ws, "okta-audit") if status == 200] == ["line 0", "line 1", "line 2"]


async def test_an_announcement_slack_refuses_is_dropped_and_the_next_goes_out(ws: SlackWorkspace) -> None:
    slack = port(ws)
    ws.fail_next("chat.postMessage", error="msg_too_long", channel="okta-audit")
    slack.announce("#okta-audit", Reply(text="refused"))
    slack.announce("#okta-audit", Reply(text="fine"))
    assert await slack.drain(timeout=10) == 0
    assert posts(ws, "okta-audit") == [(200, "refused"), (200, "fine")]  # Slack answers errors with 200
    assert [m.text for m in ws.messages("okta-audit")] == ["fine"]


@pytest.mark.parametrize(
    ("fault", "error", "certain", "retryable"),
    [
        ({"error": "invalid_blocks"}, "invalid_blocks", True, False),
        ({"error": "channel_not_found"}, "channel_not_found", True, False),
        ({"status": 500}, "fatal_error", False, True),
        ({"status": 503}, "fatal_error", False, True),
    ],
)
async def test_errors_say_whether_slack_acted_and_whether_to_try_again(
    ws: SlackWorkspace, fault: dict[str, object], error: str, certain: bool, retryable: bool
) -> None:
    ws.fail_next("chat.postMessage", **fault)  # type: ignore[arg-type]
    with pytest.raises(SlackError) as raised:
        await port(ws).post("#helpdesk", Reply(text="x"))
    assert (raised.value.error, raised.value.certain, raised.value.retryable) == (error, certain, retryable)


async def test_a_429_that_outlasts_the_retries_is_a_retryable_error(ws: SlackWorkspace) -> None:
    ws.fail_next("users.info", status=429, retry_after=0, times=3)
    with pytest.raises(SlackError) as raised:
        await port(ws, max_retries=2).person(LEE)
    assert raised.value.error == "ratelimited" and raised.value.retryable and raised.value.certain
    assert [c.status for c in ws.calls if c.method == "users.info"] == [429, 429, 429]


async def test_a_free_slot_goes_to_a_person_before_channels_that_waited_longer() -> None:
    slots = PrioritySlots(1)
    order: list[str] = []
    holding = asyncio.Event()
    release = asyncio.Event()

    async def use(name: str, priority: Priority, hold: bool = False) -> None:
        async with slots.take(priority):
            order.append(name)
            if hold:
                holding.set()
                await release.wait()

    first = asyncio.create_task(use("first", Priority.CHANNEL, hold=True))
    await holding.wait()
    waiting = [asyncio.create_task(use(f"channel {i}", Priority.CHANNEL)) for i in range(2)]
    waiting.append(asyncio.create_task(use("person", Priority.PERSON)))
    await asyncio.sleep(0)  # let the three queue up
    release.set()
    await asyncio.gather(first, *waiting)
    assert order == ["first", "person", "channel 0", "channel 1"]


async def test_a_waiter_cancelled_in_the_queue_does_not_lose_a_slot() -> None:
    slots = PrioritySlots(1)
    async with slots.take(Priority.CHANNEL):
        cancelled = asyncio.create_task(_enter(slots))
        await asyncio.sleep(0)
        cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await asyncio.wait_for(_enter(slots), timeout=1)  # the slot is free again


async def _enter(slots: PrioritySlots) -> None:
    async with slots.take(Priority.PERSON):
        pass


async def test_any_message_text_fits_what_slack_accepts(ws: SlackWorkspace) -> None:
    huge = "x" * 50_000 + " <@U0LEE000001> & more"  # e.g. a long Okta name in an answer
    reply = Reply(text=huge)
    assert len(reply.text) <= 40_000 and reply.text.endswith("…")
    await port(ws).post("#helpdesk", reply)  # the stand-in refuses msg_too_long as Slack does
    assert ws.messages("helpdesk")[-1].text == reply.text


async def test_a_user_groups_members_and_an_unknown_group(ws: SlackWorkspace) -> None:
    group = ws.usergroups()[0]
    assert await port(ws).usergroup_members(group.id) == list(group.users)
    with pytest.raises(SlackError) as raised:
        await port(ws).usergroup_members("S0NOSUCH01")
    assert raised.value.error == "no_such_subteam" and not raised.value.retryable


async def test_person_by_email_finds_the_member_or_none(ws: SlackWorkspace, slack: BackgroundServer) -> None:
    port = SlackPort(AsyncWebClient(token=ws.bot_token, base_url=f"{slack.url}/api/"), pacing_s=0)
    erin = await port.person_by_email("ERIN.employee@acme.example")
    assert erin is not None and erin.id == "U0ERIN00001" and erin.email == "erin.employee@acme.example"
    assert await port.person_by_email("nobody-at-all@acme.example") is None
    assert await port.person_by_email("dee.deprovisioned@acme.example") is None  # deactivated: not found


async def test_a_dm_is_posted_to_the_member_without_opening_it_first(ws: SlackWorkspace) -> None:
    slack = port(ws)
    posted = [await slack.dm(LEE, Reply(text=f"note {n}")) for n in range(3)]
    assert "conversations.open" not in [c.method for c in ws.calls]  # a Tier 3 call saved per first DM
    assert {p.channel for p in posted} == {ws.dm_channel_id(LEE)}  # where to update them later
    assert [m.text for m in ws.messages(ws.dm_channel_id(LEE))] == ["note 0", "note 1", "note 2"]


async def test_posts_by_name_and_then_by_the_id_learnt_share_one_pace_within_slack_limits(ws: SlackWorkspace) -> None:
    ws.rate_limits.enabled = True  # Slack's own: a burst of 5 to a channel, then 1 a second
    slack = port(ws, pacing_s=1.0, burst=3)
    for _ in range(2):  # the first three reserve turns under the name; the next three come after them
        await asyncio.gather(*(slack.post("#okta-audit", Reply(text="line")) for _ in range(3)))
    assert [status for status, _ in posts(ws, "#okta-audit")] == [200] * 6  # never a 429
