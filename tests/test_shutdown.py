"""`docker stop` sends SIGTERM: the bot finishes what it acked, or tells the person and hands the rest
back for another replica, stops what it started, and exits 0 before Docker's 10 s are up (issue 15,
fault 6)."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest
import redis
import redis.exceptions

from approvals import ApprovalState, ApprovalStore
from approvals.lease import STOPPED
from approvals.store import EXECUTING_KEY
from bot import shutdown
from bot.after_ack import CONCURRENT_HANDLERS
from bot.server import BackgroundServer
from bot.slack_app import CUT_SHORT, NOT_STARTED
from oktasim import OktaOrg
from slacksim import SlackWorkspace
from tests.chatops_support import ARJUN, BEATRIZ, HANA
from tests.helpdesk_support import new_user
from tests.process_support import production_env, request_approval, served_bot
from tests.test_approvals_slack import approval_id, writes

pytestmark = pytest.mark.slow  # real processes (the serve command, a browser, Docker): CI runs them, `-m "not slow"` skips them

EXIT_WITHIN_S = 20.0


async def test_sigterm_exits_0_and_stops_the_embedded_redis(tmp_path: Path) -> None:
    printed: list[str] = []
    async with served_bot({}, tmp_path, output=printed) as bot:
        sock = tmp_path / "redis" / "redis.sock"
        assert redis.Redis(unix_socket_path=str(sock)).ping()
        bot.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(bot.process.wait(), EXIT_WITHIN_S) == 0, "".join(printed)

    # the embedded server went with the bot, instead of living on as an orphan holding the data
    try:
        redis.Redis(unix_socket_path=str(sock), socket_connect_timeout=1).ping()
        raise AssertionError("the embedded redis-server outlived the bot")
    except (redis.exceptions.ConnectionError, FileNotFoundError):
        pass


async def test_sigterm_lets_an_acked_command_finish(
    ws: SlackWorkspace, slack: BackgroundServer, okta_org: OktaOrg, okta_sim: BackgroundServer,
    redis_url: str, tmp_path: Path,
) -> None:
    printed: list[str] = []
    async with served_bot(production_env(ws, slack, okta_sim, redis_url), tmp_path, output=printed) as bot:
        okta_org.inject_delay("GET", "/api/v1/users", seconds=1.5)  # the lookup is still on its way to Okta
        command = ws.slash_command(HANA, "lookup erin.employee@acme.example")
        assert (await ws.send(f"{bot.url}/slack/events", command)).status_code == 200
        bot.process.send_signal(signal.SIGTERM)

        card = await ws.wait_for(lambda c: c.method == "response_url" and c.args.get("response_id") == command.response_id
                                 and "Erin Employee" in str(c.args.get("text")), timeout=EXIT_WITHIN_S)
        assert card.args.get("replace_original") is True  # the "working on it" became the answer
        assert await asyncio.wait_for(bot.process.wait(), EXIT_WITHIN_S) == 0, "".join(printed)
    assert not any("cancelled" in line for line in printed)


async def test_sigterm_with_a_backlog_exits_in_time_and_hands_back_what_it_did_not_finish(
    ws: SlackWorkspace, slack: BackgroundServer, okta_org: OktaOrg, okta_sim: BackgroundServer,
    redis_url: str, redis, tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    env = production_env(ws, slack, okta_sim, redis_url)
    store = ApprovalStore(redis)  # reads what the stopped process left in Redis
    printed: list[str] = []
    async with served_bot(env, tmp_path / "a", output=printed) as bot:
        events = f"{bot.url}/slack/events"
        # the audit channel is throttled for the whole run: its lines queue in the bot
        ws.fail_next("chat.postMessage", status=429, retry_after=30, times=1000, channel="okta-audit")
        waiting = await request_approval(ws, bot.url, HANA, f"suspend {new_user(okta_org).login}")
        running_target = new_user(okta_org)
        running = await request_approval(ws, bot.url, HANA, f"suspend {running_target.login}")

        # an approved suspend is under way in Okta, which does not answer...
        suspend = f"/api/v1/users/{running_target.id}/lifecycle/suspend"
        okta_org.inject_delay("POST", suspend, 60)
        await ws.send(events, ws.block_action(ARJUN, "approval:approve", message=running))
        await okta_org.until_request("POST", suspend)
        # ...nor to reads: more lookups than the bot runs at once, and an approval click behind them
        okta_org.inject_delay("GET", "/api/v1/users", 60, times=1000)
        lookups = [ws.slash_command(HANA, "lookup erin.employee@acme.example") for _ in range(CONCURRENT_HANDLERS + 4)]
        assert {r.status_code for r in await asyncio.gather(*(ws.send(events, c) for c in lookups))} == {200}
        click = ws.block_action(BEATRIZ, "approval:approve", message=waiting)
        assert (await ws.send(events, click)).status_code == 200
        await okta_org.until_in_flight(CONCURRENT_HANDLERS)  # every slot is taken

        bot.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(bot.process.wait(), shutdown.EXIT_WITHIN_S) == 0, "".join(printed)


    # nobody is left looking at "working on it": each was cut short or never started, and told so
    answers = [_final_answer(ws, c.response_id) for c in [*lookups, click]]
    started = CONCURRENT_HANDLERS - 1  # the execution holds the last slot
    assert answers.count(CUT_SHORT) == started
    assert answers.count(NOT_STARTED) == len(answers) - started and answers[-1] == NOT_STARTED  # the click too
    # the approval not started stays pending for any replica; the execution cut short was handed back
    pending = await store.get(approval_id(waiting))
    assert pending is not None and pending.state is ApprovalState.PENDING and pending.approvals == ()
    executing = await store.get(approval_id(running))
    assert executing is not None and executing.state is ApprovalState.EXECUTING
    assert (await redis.zscore(EXECUTING_KEY, executing.id)) <= time.time()
    assert (await store.audit.for_approval(executing.id))[-1].record.detail == STOPPED
    assert any("channel announcement(s) not posted" in line for line in printed)

    # another replica picks both up: the handed-back execution at once, not a lease later
    okta_org.clear_faults()
    async with served_bot(env, tmp_path / "b") as other:
        settled = await ws.wait_for_message(lambda m: m.ts == running.ts and "Approved and done" in str(m.blocks))
        await ws.send(f"{other.url}/slack/events", ws.block_action(BEATRIZ, "approval:approve", message=waiting))
        await ws.wait_for_message(lambda m: m.ts == waiting.ts and "Approved and done" in str(m.blocks))
    assert "never run twice" in str(settled.blocks)
    assert writes(okta_org, suspend) == 1
    assert writes(okta_org, "/lifecycle/suspend") == 2


def _final_answer(ws: SlackWorkspace, response_id: str | None) -> str:
    """What the person last saw through a command's or a click's response_url."""
    [*_, last] = [c for c in ws.calls if c.method == "response_url" and c.args.get("response_id") == response_id]
    return str(last.args.get("text"))
