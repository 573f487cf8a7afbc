"""Slack misbehaving under a running bot: a throttled audit channel never holds up the answers
people are waiting for (issue 15, fault 5; bench/bench_throttled_audit.py measures the times)."""

from __future__ import annotations

from oktaclient.models import UserStatus
from tests.chatops_support import HANA, ChatOps
from tests.helpdesk_support import ask, new_user


async def test_with_the_audit_channel_throttled_the_answer_comes_first_and_the_line_later(chatops: ChatOps) -> None:
    ws = chatops.ws
    audit = ws.channel_id("okta-audit")
    # Refused for the next ~3 s (3 tries, Retry-After 1): far longer than three answers take.
    ws.fail_next("chat.postMessage", status=429, retry_after=1, times=3, channel="okta-audit")
    users = [new_user(chatops.org, UserStatus.LOCKED_OUT) for _ in range(3)]

    for user in users:
        answer = await ask(chatops, HANA, f"unlock {user.login}")
        assert answer.text.endswith("unlocked.")
    posted = [c for c in ws.calls if c.method == "chat.postMessage" and c.args.get("channel") in (audit, "#okta-audit")]
    assert all(c.status == 429 for c in posted), "every answer came while the audit channel was still refusing"

    for user in users:  # nothing lost: each line arrives once Slack lets the channel through
        line = f"<@{HANA}> `unlock` on `{user.login}` → *succeeded* (command)"
        await ws.wait_for_message(lambda m, line=line: m.channel == audit and m.text == line, timeout=30)
