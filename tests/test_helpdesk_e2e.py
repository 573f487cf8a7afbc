"""The helpdesk commands end to end: signed Slack requests in, Okta simulator and Slack stand-in out."""

from __future__ import annotations

from tests.chatops_support import HANA, ChatOps


async def test_unlock_by_email_unlocks_in_okta_and_says_so(chatops: ChatOps) -> None:
    response = await chatops.command(HANA, "unlock lee.locked@acme.example")
    assert response.status_code == 200
    reply = await chatops.reply_to(HANA)
    assert "unlocked" in reply.text, reply.text
    assert chatops.org.get_user("lee.locked@acme.example").status == "ACTIVE"
