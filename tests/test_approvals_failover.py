"""A replica killed (SIGKILL) while its approved action hangs in Okta: another replica, with no
restart, settles the request from Okta's state within one execution lease, with exactly one Okta
write (issue 15, fault 3; bench/bench_recovery.py times it with the default lease)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from audit import AuditLog
from bot.server import BackgroundServer
from oktaclient.models import UserStatus
from oktasim import OktaOrg
from slacksim import SlackWorkspace
from tests.chatops_support import ARJUN, HANA
from tests.helpdesk_support import new_user
from tests.process_support import production_env, request_approval, served_bot
from tests.test_approvals_slack import approval_id, writes

pytestmark = pytest.mark.slow  # real processes (the serve command, a browser, Docker): CI runs them, `-m "not slow"` skips them

LEASE_S = 3.0
# the sweeper's wake-up and the Slack update after the lease runs out, on a loaded machine
MARGIN_S = 2.0


async def test_a_replica_killed_mid_action_is_settled_by_another_within_one_lease(
    ws: SlackWorkspace, slack: BackgroundServer, okta_org: OktaOrg, okta_sim: BackgroundServer,
    redis_url: str, redis, tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    env = production_env(ws, slack, okta_sim, redis_url) | {"APPROVAL_LEASE_SECONDS": str(LEASE_S)}
    target = new_user(okta_org)
    suspend = f"/api/v1/users/{target.id}/lifecycle/suspend"
    async with served_bot(env, tmp_path / "a") as a, served_bot(env, tmp_path / "b"):
        request = await request_approval(ws, a.url, HANA, f"suspend {target.login}")
        okta_org.inject_delay("POST", suspend, 120)  # Okta carries the suspend out, and does not answer
        await ws.send(f"{a.url}/slack/events", ws.block_action(ARJUN, "approval:approve", message=request))
        await okta_org.until_request("POST", suspend)

        killed = time.time()
        a.process.kill()  # replica A dies mid-action; B is never restarted
        settled = await ws.wait_for_message(
            lambda m: m.ts == request.ts and "Approved and done" in str(m.blocks), timeout=LEASE_S + MARGIN_S
        )
        told = await ws.wait_for_message(lambda m: m.channel == ws.dm_channel_id(HANA) and "Approved and done" in m.text)

    assert "never run twice" in str(settled.blocks) and approval_id(request) in told.text
    assert okta_org.get_user(target.login).status == UserStatus.SUSPENDED
    assert writes(okta_org, suspend) == 1
    trail = [e.record for e in await AuditLog(redis).for_approval(approval_id(request))]
    assert [(r.outcome, r.actor) for r in trail[-3:]] == [
        ("executing", ARJUN), ("reclaimed", "system:reconcile"), ("succeeded", "system:reconcile")
    ]
    assert trail[-1].at.timestamp() - killed <= LEASE_S + MARGIN_S
