"""The approval flow end to end: signed Slack requests into whole bots (several replicas on one
Redis), the Okta simulator counting writes, the Slack stand-in showing messages, forms and DMs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import pytest
import redis.asyncio as aioredis

from approvals import ApprovalState, Swept, sweep_once
from bot.server import BackgroundServer
from oktaclient import OktaClient
from oktasim import OktaOrg
from policy import Policy, parse_policy
from slacksim import Message, SlackView, SlackWorkspace
from tests.chatops_support import ARJUN, BEATRIZ, EXAMPLE_POLICY, HANA, SAM, ChatOps, run_chatops
from tests.conftest import SIM_API_TOKEN

APPROVE, DENY, CANCEL = "approval:approve", "approval:deny", "approval:cancel"
REASON = {"reason": {"reason_input": "offboarding ticket IT-1234"}}


# --- helpers ----------------------------------------------------------------------------------------


def writes(org: OktaOrg, action: str) -> int:
    """Okta writes of one kind (e.g. "/lifecycle/suspend") the simulator has served."""
    return sum(1 for r in org.requests if r.method == "POST" and action in r.path)


async def request_form(chatops: ChatOps, user: str, text: str, channel: str = "helpdesk") -> SlackView:
    """Run a command that needs approval; the request form it opens."""
    ws = chatops.ws
    await chatops.command(user, text, channel=channel)

    def opened(call_view: dict[str, object]) -> bool:
        view = ws.view(str(call_view["id"]))
        return view.user_id == user and view.callback_id == "approval:request" and not view.closed

    call = await ws.wait_for(lambda c: c.method == "views.open" and c.ok and opened(c.result["view"]))
    return ws.view(call.result["view"]["id"])


async def ask(chatops: ChatOps, user: str, text: str) -> Message:
    """Run a command that needs approval and send its form with a reason; the approval message it
    posts, once the requester has been told (the request is then complete in Redis)."""
    ws = chatops.ws
    before = {m.ts for m in ws.messages("approvals")}
    form = await request_form(chatops, user, text)
    assert (await ws.send(chatops.url, ws.view_submission(user, form, REASON))).status_code == 200
    message = await ws.wait_for_message(lambda m: m.channel == ws.channel_id("approvals") and m.ts not in before)
    await chatops.reply_to(user, lambda m: approval_id(message) in m.text)
    return message


async def updated(ws: SlackWorkspace, message: Message, text: str) -> Message:
    """The approval message once its blocks say `text`."""
    return await ws.wait_for_message(lambda m: m.ts == message.ts and text in str(m.blocks))


async def dm(ws: SlackWorkspace, user: str, text: str) -> Message:
    return await ws.wait_for_message(lambda m: m.channel == ws.dm_channel_id(user) and text in m.text)


def buttons(message: Message) -> list[str]:
    return [e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


async def trail(chatops: ChatOps, approval_id: str) -> list[tuple[str, str]]:
    return [(e.record.outcome, e.record.actor) for e in await chatops.bot.services.recorder.audit.for_approval(approval_id)]


def approval_id(message: Message) -> str:
    """The request id, as the approval message's buttons carry it."""
    return next(e["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"])


@asynccontextmanager
async def replica(
    ws: SlackWorkspace, slack: BackgroundServer, org: OktaOrg, okta_url: str, redis_url: str, policy: Policy | None = None
) -> AsyncIterator[ChatOps]:
    """One more bot process, with its own Redis and Okta connections, sharing the same Redis and org."""
    async with OktaClient.from_api_token(okta_url, SIM_API_TOKEN) as okta:
        redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
        try:
            async for running in run_chatops(ws=ws, slack_url=slack.url, org=org, okta=okta, redis=redis, policy=policy):
                yield running
        finally:
            await redis.aclose()


# --- asking -----------------------------------------------------------------------------------------


async def test_a_request_asks_for_a_reason_then_runs_once_approved_and_says_so_at_every_step(chatops: ChatOps) -> None:
    ws, org = chatops.ws, chatops.org
    message = await ask(chatops, HANA, "suspend alex.kim@acme.example")
    blocks = str(message.blocks)
    for shown in (f"<@{HANA}>", "`suspend`", "alex.kim@acme.example", "Senior Software Engineer", "IT-1234", "0 of 1"):
        assert shown in blocks, shown
    assert buttons(message) == [APPROVE, DENY, CANCEL]
    confirmation = await chatops.reply_to(HANA, lambda m: ":raised_hand:" in m.text)
    assert CANCEL in str(confirmation.blocks)  # the requester can withdraw it from there too
    assert writes(org, "/lifecycle/suspend") == 0

    await chatops.click(ARJUN, APPROVE, message)
    done = await updated(ws, message, "Approved and done")
    assert f"<@{ARJUN}> <!date^" in str(done.blocks)  # who approved, and when
    assert buttons(done) == []
    assert org.get_user("alex.kim@acme.example").status == "SUSPENDED" and writes(org, "/lifecycle/suspend") == 1
    assert "Approved and done" in (await dm(ws, HANA, approval_id(message))).text
    # the message went through "running" before "done"
    updates = [c.args["text"] for c in ws.calls if c.method == "chat.update" and c.args.get("ts") == message.ts]
    assert [u.split(":")[0] for u in updates] == ["Approval executing", "Approval succeeded"]
    assert await trail(chatops, approval_id(message)) == [
        ("requested", HANA), ("approved", ARJUN), ("executing", ARJUN), ("succeeded", ARJUN),
    ]


async def test_closing_the_form_requests_nothing_and_says_so(chatops: ChatOps) -> None:
    ws = chatops.ws
    # in a channel the bot is not in, the answer comes by DM
    form = await request_form(chatops, HANA, "suspend alex.kim@acme.example", channel="general")
    await ws.send(chatops.url, ws.view_closed(HANA, form))
    assert "Nothing was requested" in (await dm(ws, HANA, "Nothing was requested")).text
    assert ws.messages("approvals") == [] and await chatops.bot.handlers.approvals.store.pending() == []


async def test_without_a_usable_trigger_the_command_is_requested_without_a_reason(chatops: ChatOps) -> None:
    chatops.ws.trigger_ttl = 0  # Slack's 3 seconds have passed by the time the bot opens the form
    await chatops.command(HANA, "suspend alex.kim@acme.example")
    message = await chatops.ws.wait_for_message(lambda m: m.channel == chatops.ws.channel_id("approvals"))
    assert "*Reason*" not in str(message.blocks) and buttons(message) == [APPROVE, DENY, CANCEL]
    assert ":raised_hand:" in (await chatops.reply_to(HANA)).text


async def test_a_request_that_cannot_be_posted_is_withdrawn_and_the_requester_told(chatops: ChatOps) -> None:
    ws = chatops.ws
    form = await request_form(chatops, HANA, "suspend alex.kim@acme.example")
    ws.fail_next("chat.postMessage", error="not_in_channel")  # the bot was removed from #approvals
    await ws.send(chatops.url, ws.view_submission(HANA, form, REASON))
    assert "nothing was requested" in (await chatops.reply_to(HANA, lambda m: "not_in_channel" in m.text)).text
    assert await chatops.bot.handlers.approvals.store.pending() == [] and ws.messages("approvals") == []


async def test_a_form_sent_after_the_right_to_ask_is_gone_requests_nothing(
    chatops: ChatOps, ws: SlackWorkspace, slack: BackgroundServer, okta_org: OktaOrg,
    okta_sim: BackgroundServer, redis_url: str,
) -> None:
    form = await request_form(chatops, HANA, "suspend alex.kim@acme.example")
    # the form is sent to a replica whose policy (newly deployed) lets only security suspend
    text = EXAMPLE_POLICY.read_text().replace("suspend: {roles: [helpdesk, security]}", "suspend: {roles: [security]}")
    policy = parse_policy(text)
    assert not policy.decide("suspend", {"helpdesk"}).allowed
    async with replica(ws, slack, okta_org, okta_sim.url, redis_url, policy) as other:
        await ws.send(other.url, ws.view_submission(HANA, form, REASON))
        assert "Nothing was requested" in (await chatops.reply_to(HANA, lambda m: ":no_entry:" in m.text)).text
    assert ws.messages("approvals") == [] and await chatops.bot.handlers.approvals.store.pending() == []
    refusal = (await chatops.bot.services.recorder.audit.recent(1))[0].record
    assert (refusal.actor, refusal.verb, refusal.outcome) == (HANA, "suspend", "refused")


async def test_approvals_lists_pending_requests(chatops: ChatOps) -> None:
    first = await ask(chatops, HANA, "suspend alex.kim@acme.example")
    second = await ask(chatops, SAM, "deactivate erin.employee@acme.example")
    await chatops.command(ARJUN, "approvals", channel="approvals")
    listing = await chatops.reply_to(ARJUN, lambda m: "pending approval request(s)" in m.text)
    assert "*2 pending" in listing.text
    for message, requester in ((first, HANA), (second, SAM)):
        assert f"`{approval_id(message)}` <@{requester}>" in listing.text


# --- deciding ---------------------------------------------------------------------------------------


@pytest.mark.slow  # a stress run
async def test_fifty_concurrent_clicks_on_three_replicas_run_the_action_exactly_once(
    chatops: ChatOps, ws: SlackWorkspace, slack: BackgroundServer, okta_org: OktaOrg,
    okta_sim: BackgroundServer, redis_url: str,
) -> None:
    message = await ask(chatops, SAM, "deactivate erin.employee@acme.example")  # needs 2 approvals
    async with AsyncExitStack() as stack:
        others = [await stack.enter_async_context(replica(ws, slack, okta_org, okta_sim.url, redis_url)) for _ in range(2)]
        urls = [bot.url for bot in (chatops, *others)]
        # every click is built on the message as it is now, with its buttons: 50 people clicked at once
        clicks = [ws.block_action((ARJUN, BEATRIZ)[i % 2], APPROVE, message=message) for i in range(50)]
        answers = await asyncio.gather(*(ws.send(urls[i % 3], click) for i, click in enumerate(clicks)))
        assert {a.status_code for a in answers} == {200}
        # 50 clicks, each checked against Okta on one of three replicas: give a loaded machine time
        await ws.wait_for_message(lambda m: m.ts == message.ts and "Approved and done" in str(m.blocks), timeout=30)
        # the 48 clicks that did not count were each answered (after which none can still act)
        await ws.wait_for_message(lambda _: sum(len(ws.ephemerals(u)) for u in (ARJUN, BEATRIZ)) >= 48, timeout=30)
        # ... and no update with an older state landed after the final one
        assert "Approved and done" in str(ws.message("approvals", message.ts).blocks)

    assert writes(okta_org, "/lifecycle/deactivate") == 1
    assert okta_org.get_user("erin.employee@acme.example").status == "DEPROVISIONED"
    outcomes = [outcome for outcome, _ in await trail(chatops, approval_id(message))]
    assert {o: outcomes.count(o) for o in set(outcomes)} == {
        "requested": 1, "approved": 2, "executing": 1, "succeeded": 1, "refused": 48,
    }
    request = await chatops.bot.handlers.approvals.store.get(approval_id(message))
    assert request is not None and set(request.approvals) == {ARJUN, BEATRIZ}


async def test_n_of_m_needs_n_distinct_approvers(chatops: ChatOps) -> None:
    ws, org = chatops.ws, chatops.org
    message = await ask(chatops, SAM, "deactivate erin.employee@acme.example")
    await chatops.click(ARJUN, APPROVE, message)
    half = await updated(ws, message, "1 of 2")
    assert f"<@{ARJUN}> <!date^" in str(half.blocks) and buttons(half) == [APPROVE, DENY, CANCEL]
    assert "1 of 2" in (await dm(ws, SAM, "1 of 2")).text

    await chatops.click(ARJUN, APPROVE, half)  # one approver counts once
    assert "already approved" in (await chatops.reply_to(ARJUN)).text
    assert writes(org, "/lifecycle/deactivate") == 0

    await chatops.click(BEATRIZ, APPROVE, half)
    await updated(ws, message, "Approved and done")
    assert writes(org, "/lifecycle/deactivate") == 1


async def test_self_approval_is_refused(chatops: ChatOps) -> None:
    chatops.org.add_member("Approvers", "hana.helpdesk@acme.example")  # hana may now approve, but not her own
    message = await ask(chatops, HANA, "suspend alex.kim@acme.example")
    await chatops.click(HANA, APPROVE, message)
    assert "cannot approve it" in (await chatops.reply_to(HANA, lambda m: "cannot" in m.text)).text
    request = await chatops.bot.handlers.approvals.store.get(approval_id(message))
    assert request is not None and request.state is ApprovalState.PENDING and request.approvals == ()
    assert writes(chatops.org, "/lifecycle/suspend") == 0
    assert ("refused", HANA) in await trail(chatops, request.id)


async def test_a_click_without_the_approver_role_is_refused_and_changes_nothing(chatops: ChatOps) -> None:
    ws = chatops.ws
    message = await ask(chatops, SAM, "deactivate erin.employee@acme.example")
    for action in (APPROVE, DENY):  # hana is in #approvals but holds no approver role
        await chatops.click(HANA, action, message)
    await ws.wait_for_message(lambda _: sum("*approver* role" in m.text for m in ws.ephemerals(HANA)) == 2)
    assert ws.message("approvals", message.ts).edit_count == 0
    assert all(v.callback_id != "approval:deny" for v in ws.views)  # refused at the click, before any reason
    request = await chatops.bot.handlers.approvals.store.get(approval_id(message))
    assert request is not None and request.state is ApprovalState.PENDING and request.approvals == ()
    assert [o for o in await trail(chatops, request.id) if o[1] == HANA] == [("refused", HANA), ("refused", HANA)]


async def test_deny_asks_for_a_reason_and_tells_the_requester(chatops: ChatOps) -> None:
    ws = chatops.ws
    message = await ask(chatops, HANA, "suspend alex.kim@acme.example")
    ws.trigger_ttl = 0  # the form cannot open: nothing is decided without it
    await chatops.click(ARJUN, DENY, message)
    assert "nothing changed" in (await chatops.reply_to(ARJUN)).text
    assert ws.message("approvals", message.ts).edit_count == 0

    ws.trigger_ttl = 3.0
    await chatops.click(ARJUN, DENY, message)
    call = await ws.wait_for(lambda c: c.method == "views.open" and c.ok and c.result["view"]["callback_id"] == "approval:deny")
    form = ws.view(call.result["view"]["id"])
    await ws.send(chatops.url, ws.view_submission(ARJUN, form, {"reason": {"reason_input": "no ticket <yet>"}}))
    denied = await updated(ws, message, "Denied")
    assert f"Denied by <@{ARJUN}>" in str(denied.blocks) and "no ticket &lt;yet&gt;" in str(denied.blocks)
    assert buttons(denied) == []
    assert "no ticket &lt;yet&gt;" in (await dm(ws, HANA, "Denied")).text
    assert writes(chatops.org, "/lifecycle/suspend") == 0
    assert (await trail(chatops, approval_id(message)))[-1] == ("denied", ARJUN)


async def test_okta_refusing_the_approved_action_is_shown_with_its_error(chatops: ChatOps) -> None:
    message = await ask(chatops, HANA, "suspend sue.suspended@acme.example")  # already suspended
    await chatops.click(ARJUN, APPROVE, message)
    failed = await updated(chatops.ws, message, "Approved, but it failed")
    assert "Okta says" in str(failed.blocks) and "Cannot suspend a user that is not ACTIVE" in str(failed.blocks)
    assert "Okta says" in (await dm(chatops.ws, HANA, "it failed")).text
    assert (await trail(chatops, approval_id(message)))[-1] == ("failed", ARJUN)


# --- expiry, cancel, restart ------------------------------------------------------------------------


async def test_expiry_updates_the_message_and_an_expired_request_is_never_approved(chatops: ChatOps) -> None:
    ws, flow = chatops.ws, chatops.bot.handlers.approvals
    message = await ask(chatops, HANA, "suspend alex.kim@acme.example")
    late_click = ws.block_action(ARJUN, APPROVE, message=message)  # clicked just as it expires

    swept = await sweep_once(chatops.bot.handlers.approvals.store, flow.expired, flow.reconcile, now=time.time() + 3601)
    assert swept == Swept(expired=1, reclaimed=0)
    expired = await updated(ws, message, "Expired")
    assert buttons(expired) == []
    assert "Expired" in (await dm(ws, HANA, "Expired")).text

    await ws.send(chatops.url, late_click)
    assert "already expired" in (await chatops.reply_to(ARJUN)).text
    assert writes(chatops.org, "/lifecycle/suspend") == 0
    assert (await trail(chatops, approval_id(message)))[1:] == [("expired", "system:sweeper"), ("refused", ARJUN)]


async def test_only_the_requester_can_cancel_from_the_message(chatops: ChatOps) -> None:
    ws = chatops.ws
    message = await ask(chatops, HANA, "suspend alex.kim@acme.example")
    await chatops.click(ARJUN, CANCEL, message)
    assert "Only the person who asked" in (await chatops.reply_to(ARJUN)).text
    assert ws.message("approvals", message.ts).edit_count == 0

    await chatops.click(HANA, CANCEL, message)
    cancelled = await updated(ws, message, "Cancelled")
    assert f"Cancelled by <@{HANA}>" in str(cancelled.blocks) and buttons(cancelled) == []
    assert "is cancelled" in (await chatops.reply_to(HANA, lambda m: "cancelled" in m.text)).text
    assert [o for o, _ in await trail(chatops, approval_id(message))] == ["requested", "refused", "cancelled"]


async def test_cancel_command_withdraws_a_pending_request(chatops: ChatOps) -> None:
    ws = chatops.ws
    message = await ask(chatops, HANA, "suspend alex.kim@acme.example")
    late_click = ws.block_action(ARJUN, APPROVE, message=message)
    await chatops.command(HANA, f"cancel {approval_id(message)}")
    await updated(ws, message, "Cancelled")
    assert await chatops.bot.handlers.approvals.store.pending() == []

    await ws.send(chatops.url, late_click)
    assert "already cancelled" in (await chatops.reply_to(ARJUN)).text
    assert writes(chatops.org, "/lifecycle/suspend") == 0


@pytest.mark.parametrize("reached_okta", [False, True])
async def test_an_execution_whose_replica_died_is_reconciled_without_a_second_okta_call(
    chatops: ChatOps, okta: OktaClient, reached_okta: bool
) -> None:
    ws, flow, org = chatops.ws, chatops.bot.handlers.approvals, chatops.org
    message = await ask(chatops, HANA, "suspend alex.kim@acme.example")
    # a replica claimed the execution and died: before its Okta call, or after it
    claimed = await flow.store.approve(approval_id(message), ARJUN)
    assert claimed.execute
    if reached_okta:
        await okta.suspend_user(org.get_user("alex.kim@acme.example").id)

    # any replica's sweeper, once the lease has run out
    swept = await sweep_once(flow.store, flow.expired, flow.reconcile, now=time.time() + flow.store.lease)
    assert swept == Swept(expired=0, reclaimed=1)
    state = "Approved and done" if reached_okta else "Approved, but it failed"
    closed = await updated(ws, message, state)
    assert "never run twice" in str(closed.blocks)
    assert "never run twice" in (await dm(ws, HANA, state)).text
    assert writes(org, "/lifecycle/suspend") == int(reached_okta)
    outcome = "succeeded" if reached_okta else "failed"
    assert (await trail(chatops, approval_id(message)))[-2:] == [("reclaimed", "system:reconcile"), (outcome, "system:reconcile")]


async def test_a_long_list_of_pending_requests_fits_one_message(chatops: ChatOps) -> None:
    store = chatops.bot.handlers.approvals.store
    for i in range(40):
        await store.create(requester=SAM, verb="suspend", target=f"user{i}@acme.example", target_id=f"00u{i:017d}",
                           params={"target_label": "A" * 200 + f" {i}"})
    await chatops.command(HANA, "approvals")
    listing = await chatops.reply_to(HANA, lambda m: "pending approval request(s)" in m.text)
    assert listing.text.startswith("*40 pending approval request(s)*")
    assert len(listing.text) <= 4000 and listing.text.endswith("more")


async def test_an_approved_change_reaches_the_audit_channel_the_trail_and_the_metrics(chatops: ChatOps) -> None:
    # One recording path for every Okta change: the approval's records are written by its Lua
    # scripts and then take the same way as a direct change's (audit channel line, metrics).
    from bot.metrics import REGISTRY

    def succeeded() -> float:
        return REGISTRY.get_sample_value("okc_commands_total", {"verb": "suspend", "outcome": "succeeded"}) or 0.0

    ws, before = chatops.ws, succeeded()
    message = await ask(chatops, HANA, "suspend alex.kim@acme.example")
    await chatops.click(ARJUN, APPROVE, message)
    await updated(ws, message, "Approved and done")
    request = approval_id(message)

    def line(outcome: str, actor: str) -> Callable[[Message], bool]:
        return lambda m: (
            m.channel == ws.channel_id("okta-audit") and m.text.startswith(f"<@{actor}> `suspend` on `alex.kim@acme.example` → *{outcome}*")
            and m.text.endswith(f"(approval, request `{request}`)")
        )

    await ws.wait_for_message(line("requested", HANA))
    await ws.wait_for_message(line("succeeded", ARJUN))
    assert ("succeeded", ARJUN) in await trail(chatops, request)
    assert succeeded() == before + 1
