"""Two bot processes behind one "load balancer" share one Redis: commands work on either, an approval
clicked on both at once runs its Okta action exactly once, and hook events delivered to both are posted once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from bot.server import BackgroundServer
from oktasim import OktaOrg
from slacksim import Message, SlackWorkspace
from tests.alerts_support import delivery, log_event
from tests.chatops_support import ARJUN, BEATRIZ, HANA, HOOK_SECRET
from tests.process_support import production_env, serve_process

pytestmark = pytest.mark.slow  # real processes (the serve command, a browser, Docker): CI runs them, `-m "not slow"` skips them


def _writes(org: OktaOrg, path_part: str) -> int:
    return sum(1 for r in org.requests if r.method == "POST" and path_part in r.path)


async def test_two_processes_share_commands_and_run_an_approval_once(
    ws: SlackWorkspace, slack: BackgroundServer, okta_org: OktaOrg, okta_sim: BackgroundServer,
    redis_url: str, redis, tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    env = production_env(ws, slack, okta_sim, redis_url)
    async with (
        serve_process(env, tmp_path / "a") as a,
        serve_process(env, tmp_path / "b") as b,
    ):
        # the same command works on either replica
        for answered, url in enumerate((a, b), start=1):
            command = ws.slash_command(HANA, "groups erin.employee@acme.example")
            assert (await ws.send(f"{url}/slack/events", command)).status_code == 200
            await ws.wait_for_message(lambda _, n=answered: sum("group(s)" in m.text for m in ws.ephemerals(HANA)) >= n)

        # a suspend needs one approval; hana asks on replica A
        await ws.send(f"{a}/slack/events", ws.slash_command(HANA, "suspend alex.kim@acme.example"))
        opened = await ws.wait_for(lambda c: c.method == "views.open" and c.ok)  # the request form (a reason)
        await ws.send(f"{a}/slack/events", ws.view_submission(HANA, ws.view(opened.result["view"]["id"])))
        request = await ws.wait_for_message(lambda m: m.channel == ws.channel_id("approvals") and "Approve" in str(m.blocks))

        # two approvers click at the same moment, one on each replica
        clicks = [
            ws.send(f"{a}/slack/events", ws.block_action(ARJUN, "approval:approve", message=request)),
            ws.send(f"{b}/slack/events", ws.block_action(BEATRIZ, "approval:approve", message=request)),
        ]
        assert [r.status_code for r in await asyncio.gather(*clicks)] == [200, 200]
        await ws.wait_for_message(lambda m: m.ts == request.ts and "done" in str(m.blocks))

    assert okta_org.get_user("alex.kim@acme.example").status == "SUSPENDED"
    assert _writes(okta_org, "/lifecycle/suspend") == 1


async def test_hook_deliveries_to_either_process_are_posted_once(
    ws: SlackWorkspace, slack: BackgroundServer, okta_org: OktaOrg, okta_sim: BackgroundServer,
    redis_url: str, tmp_path: Path,
) -> None:
    env = production_env(ws, slack, okta_sim, redis_url)
    lockouts = [
        log_event("user.account.lock", uuid=f"5ca1e0u7-0000-4000-8000-{n:012d}", outcome="SUCCESS", reason=None,
                  message="Max sign in attempts exceeded")
        for n in range(6)
    ]
    async with (
        serve_process(env, tmp_path / "a") as a,
        serve_process(env, tmp_path / "b") as b,
        httpx.AsyncClient(headers={"Authorization": HOOK_SECRET}) as okta_side,
    ):
        # Okta delivers at least once: every event reaches both replicas, some of them twice
        sends = [okta_side.post(f"{url}/okta/hooks", json=delivery(*lockouts)) for url in (a, b, a)]
        assert [r.status_code for r in await asyncio.gather(*sends)] == [200, 200, 200]
        await ws.wait_for_message(lambda _: len(_bot_posts(ws, "helpdesk")) >= len(lockouts), timeout=20)
    # the replicas have stopped (finishing posts in flight): a duplicate would be there by now
    assert len(_bot_posts(ws, "helpdesk")) == len(lockouts)


def _bot_posts(ws: SlackWorkspace, channel: str) -> list[Message]:
    return [m for m in ws.messages(channel) if m.user == ws.bot_user_id]
