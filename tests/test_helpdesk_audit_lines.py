"""The lines the helpdesk's commands leave in #okta-audit. Each test has a bot of its own: the channel
is paced at about a line a second, as Slack asks, and behind a whole module's lines these would wait
for seconds (tests/test_helpdesk_reads.py shares one bot)."""

from __future__ import annotations

from tests.chatops_support import ERIN, HANA, ChatOps
from tests.helpdesk_support import ask, audit_line, audited

ERIN_LOGIN, LEE_LOGIN = "erin.employee@acme.example", "lee.locked@acme.example"


async def test_without_the_role_the_caller_is_told_which_role_and_it_is_audited(chatops: ChatOps) -> None:
    answer = await ask(chatops, ERIN, f"lookup {LEE_LOGIN}")
    deactivate = await ask(chatops, HANA, f"deactivate {LEE_LOGIN}")

    assert answer.text == ":no_entry: You need the *helpdesk* or *security* role to run `lookup`."
    assert deactivate.text == ":no_entry: You need the *security* role to run `deactivate`."
    assert answer.ephemeral_to == ERIN
    record = await audited(chatops, outcome="refused", actor=ERIN, verb="lookup")
    assert (record.actor_email, record.target, record.source) == (ERIN_LOGIN, LEE_LOGIN, "command")
    assert "helpdesk" in record.detail
    await audit_line(chatops, f"<@{ERIN}> `lookup` on `{LEE_LOGIN}` → *refused*: {record.detail} (command)")


async def test_a_change_the_users_state_does_not_allow_is_explained(chatops: ChatOps) -> None:
    answer = await ask(chatops, HANA, f"unsuspend {ERIN_LOGIN}")

    assert answer.text.startswith(
        ":x: Unsuspending Erin Employee (erin.employee@acme.example) failed. "
        "Okta refused it: the account's current state does not allow this. Okta says: _Api validation failed: status_"
    )
    assert "Okta request id `" in answer.text
    failed = await audited(chatops, outcome="failed", verb="unsuspend", target=ERIN_LOGIN)
    assert failed.detail == "Api validation failed: status"
    assert failed.okta_request_id and f"Okta request id `{failed.okta_request_id}`" in answer.text
    await audit_line(
        chatops, f"<@{HANA}> `unsuspend` on `{ERIN_LOGIN}` → *failed*: Api validation failed: status (command)"
    )
