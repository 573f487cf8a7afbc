"""The attacks of the security review, each replayed over real HTTP against the whole bot and shown refused.

Who attacks: a stranger on the network (unsigned, oversized, malformed requests), someone who
captured a signed request (replays), a helpdesk agent who wants more power (privileged groups,
self-approval through a friend), and time (a target or an approver whose standing changes while a
request waits).
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from bot.logs import MAX_TEXT, redact
from oktaclient import OktaClient
from slacksim import Message, SlackWorkspace
from slacksim._requests import SlackRequest
from tests.chatops_support import ARJUN, BEATRIZ, ERIN, HANA, OSCAR, SAM, ChatOps
from tests.test_approvals_slack import APPROVE, approval_id, ask, dm, request_form, updated, writes

HOSTILE = "-eyJ" * 25_000  # 100 KB of what made the old redaction backtrack quadratically


def reforged(ws: SlackWorkspace, request: SlackRequest, change: Any) -> SlackRequest:
    """`request` with its interaction payload changed by `change(payload)`, signed with the real secret:
    what a forged button would look like if Slack itself had sent it."""
    payload = copy.deepcopy(request.payload)
    change(payload)
    body = urlencode({"payload": json.dumps(payload)})
    headers = {**request.headers, **ws.signer.headers(body)}
    return request.model_copy(update={"payload": payload, "body": body, "headers": headers})


def refusals(caplog: pytest.LogCaptureFixture, status: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.WARNING and f"HTTP {status} refused" in r.getMessage()]


# --- 1, 2: a stranger on the network ------------------------------------------------------------------


async def test_an_unsigned_100kb_request_is_refused_unread_and_health_still_answers(
    chatops: ChatOps, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with httpx.AsyncClient(base_url=chatops.server.url, timeout=10) as http:
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        hostile = [http.post("/slack/events", content=f"payload={HOSTILE}", headers=form) for _ in range(5)]
        *answers, health = await asyncio.gather(*hostile, http.get("/healthz"))
    assert health.status_code == 200
    assert {a.status_code for a in answers} == {401}
    assert answers[0].json() == {"error": "invalid request (no signature)"}
    assert len(refusals(caplog, 401)) == 5
    assert not any("eyJ" in r.getMessage() for r in caplog.records)  # no body, not even redacted


async def test_oversized_bodies_and_urls_are_refused_before_anything_reads_them(chatops: ChatOps) -> None:
    big = b"x" * ((1 << 20) + 1)

    async def chunks() -> Any:  # no Content-Length: counted as it arrives
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    async with httpx.AsyncClient(base_url=chatops.server.url, timeout=10) as http:
        assert (await http.post("/slack/events", content=big)).status_code == 413
        assert (await http.post("/slack/events", content=chunks())).status_code == 413
        assert (await http.post("/okta/hooks", content=big)).status_code == 413
        assert (await http.post("/healthz", content=b"y" * 70_000)).status_code == 413
        assert (await http.get("/healthz", params={"q": "z" * 9000})).status_code == 414
    # a Content-Length that is no number (httpx will not send one): refused by the server, not a 5xx
    host, port = chatops.server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 2x\r\n\r\n{}")
    await writer.drain()
    status = (await reader.readline()).split()[1]
    writer.close()
    assert status.startswith(b"4")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"payload=%7Bnot-json"),
        ("application/json", b'{"type": "block_actions", "actions": '),
        ("text/plain", b"\xff\xfe\x00garbage"),
        ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data"),
    ],
)
async def test_malformed_unsigned_bodies_get_a_4xx_without_a_trace(
    chatops: ChatOps, caplog: pytest.LogCaptureFixture, content_type: str, body: bytes
) -> None:
    caplog.set_level(logging.INFO)
    async with httpx.AsyncClient(base_url=chatops.server.url, timeout=10) as http:
        answer = await http.post("/slack/events", content=body, headers={"Content-Type": content_type})
    assert answer.status_code == 401
    assert "Traceback" not in answer.text
    (line,) = refusals(caplog, 401)
    assert "garbage" not in line.getMessage() and "not-json" not in line.getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_signed_body_bolt_cannot_read_gets_a_400_not_a_500(chatops: ChatOps) -> None:
    body = "payload=%7Bnot-json"
    headers = {"Content-Type": "application/x-www-form-urlencoded", **chatops.ws.signer.headers(body)}
    async with httpx.AsyncClient(base_url=chatops.server.url, timeout=10) as http:
        answer = await http.post("/slack/events", content=body, headers=headers)
    assert answer.status_code == 400 and "Traceback" not in answer.text


def test_redaction_is_bounded_whatever_the_input() -> None:
    for hostile in (HOSTILE, "a" * 200_000 + "token=x", "-----BEGIN PRIVATE KEY-----" * 5000, ".eyJ" * 50_000):
        assert len(redact(hostile)) <= MAX_TEXT + 40
    # a secret that straddles the cut is still recognised from its start
    assert "xoxb-" not in redact("a" * (MAX_TEXT - 3) + " xoxb-1234-5678-abcdefghijklmnop")


# --- 3: the two-person rule -----------------------------------------------------------------------------


async def test_adding_anyone_to_a_group_that_grants_a_role_needs_approval(chatops: ChatOps) -> None:
    # "Approvers" is not in the example's privileged_groups, but it grants the approver role
    form = await request_form(chatops, HANA, 'add-to-group erin.employee@acme.example "Approvers"')
    assert "needs 1 approval" in str(form.view["blocks"])
    assert writes(chatops.org, "/users/") == 0 and not _puts(chatops)


async def test_adding_yourself_to_any_group_needs_approval(chatops: ChatOps) -> None:
    form = await request_form(chatops, HANA, "add-to-group hana.helpdesk@acme.example Finance")
    assert "needs 1 approval" in str(form.view["blocks"])
    assert not _puts(chatops)


async def test_the_target_of_a_request_cannot_approve_it_and_another_approver_can(chatops: ChatOps) -> None:
    ws = chatops.ws
    message = await ask(chatops, HANA, "add-to-group arjun.approver@acme.example Security")
    await chatops.click(ARJUN, APPROVE, message)  # Arjun holds the approver role, but it is about him
    assert "about your own Okta account" in (await chatops.reply_to(ARJUN)).text
    assert not _puts(chatops)
    await chatops.click(BEATRIZ, APPROVE, message)
    await updated(ws, message, "Approved and done")
    assert len(_puts(chatops)) == 1


def _puts(chatops: ChatOps) -> list[str]:
    """Group membership writes the simulator has served."""
    return [r.path for r in chatops.org.requests if r.method == "PUT" and "/groups/" in r.path]


# --- 4: protection and roles, checked again when it matters -----------------------------------------------


@pytest.mark.parametrize("verb", ["unlock", "reset-password"])
async def test_self_service_refuses_a_protected_account(chatops: ChatOps, verb: str) -> None:
    await chatops.command(OSCAR, verb)  # Oscar is in Okta Admins: protected
    assert "protected" in (await chatops.reply_to(OSCAR)).text
    assert not [r for r in chatops.org.requests if r.method == "POST" and "/lifecycle/" in r.path]
    assert not [r for r in chatops.org.requests if "/factors/" in r.path and r.method == "POST"]  # no push either


async def test_a_target_protected_while_the_request_waits_is_never_changed(chatops: ChatOps) -> None:
    message = await ask(chatops, HANA, "suspend alex.kim@acme.example")
    chatops.org.add_member("Okta Admins", "alex.kim@acme.example")
    await chatops.click(ARJUN, APPROVE, message)
    stopped = await updated(chatops.ws, message, "no longer passes the policy")
    assert "is now a protected account" in str(stopped.blocks)
    assert "can no longer run" in (await chatops.reply_to(ARJUN)).text
    assert "protected" in (await dm(chatops.ws, HANA, "protected")).text
    assert writes(chatops.org, "/lifecycle/suspend") == 0


async def test_an_approver_who_lost_the_role_does_not_count(chatops: ChatOps, okta: OktaClient) -> None:
    message = await ask(chatops, SAM, "deactivate alex.kim@acme.example")  # 2 approvals in the example
    await chatops.click(ARJUN, APPROVE, message)
    await updated(chatops.ws, message, "1 of 2")
    await _leave(chatops, okta, "Approvers", "arjun.approver@acme.example")
    await chatops.click(BEATRIZ, APPROVE, message)
    failed = await updated(chatops.ws, message, "Approved, but it failed")
    assert f"<@{ARJUN}> no longer holds" in str(failed.blocks)
    assert writes(chatops.org, "/lifecycle/deactivate") == 0


async def test_a_requester_who_lost_the_role_gets_nothing_run(chatops: ChatOps, okta: OktaClient) -> None:
    message = await ask(chatops, HANA, "suspend alex.kim@acme.example")
    await _leave(chatops, okta, "Helpdesk", "hana.helpdesk@acme.example")
    await chatops.click(ARJUN, APPROVE, message)
    stopped = await updated(chatops.ws, message, "no longer passes the policy")
    assert f"<@{HANA}> may no longer run `suspend`" in str(stopped.blocks)
    assert writes(chatops.org, "/lifecycle/suspend") == 0


async def _leave(chatops: ChatOps, okta: OktaClient, group: str, login: str) -> None:
    """An Okta admin takes `login` out of `group`, through the API, while a request waits."""
    await okta.remove_user_from_group(chatops.org.get_group(group).id, chatops.org.get_user(login).id)


# --- 5: replays and retries -------------------------------------------------------------------------------


def _session_clears(chatops: ChatOps) -> int:
    return sum(1 for r in chatops.org.requests if r.method == "DELETE" and r.path.endswith("/sessions"))


async def test_a_replayed_slash_command_runs_once(chatops: ChatOps) -> None:
    ws = chatops.ws
    captured = ws.slash_command(SAM, "clear-sessions alex.kim@acme.example", channel="security-alerts")
    answers = [await ws.send(chatops.url, captured) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert "signed out everywhere" in (await chatops.reply_to(SAM)).text
    assert _session_clears(chatops) == 1


async def test_a_replayed_click_runs_once(chatops: ChatOps) -> None:
    ws = chatops.ws
    await chatops.command(SAM, "lookup alex.kim@acme.example", channel="security-alerts")
    card = await chatops.reply_to(SAM, lambda m: bool(m.blocks))
    click = ws.block_action(SAM, "okta:clear-sessions", message=card)
    for _ in range(3):
        assert (await ws.send(chatops.url, click)).status_code == 200
    await ws.wait_for_message(lambda m: m.ephemeral_to == SAM and "signed out everywhere" in str(m.blocks) + m.text)
    assert _session_clears(chatops) == 1


async def test_a_retried_event_is_handled_once(chatops: ChatOps) -> None:
    ws = chatops.ws
    opened = ws.event(ERIN, {"type": "app_home_opened"})
    assert (await ws.send(chatops.url, opened)).status_code == 200
    retry = opened.model_copy(update={"headers": {**opened.headers, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}})
    assert (await ws.send(chatops.url, retry)).status_code == 200
    await ws.wait_for(lambda c: c.method == "views.publish" and c.args.get("user_id") == ERIN)
    other = ws.event(ERIN, {"type": "app_home_opened"})  # a new event (new event_id) is handled
    assert (await ws.send(chatops.url, other)).status_code == 200
    await ws.wait_for(lambda c: c.method == "views.publish" and sum(
        1 for d in ws.calls if d.method == "views.publish" and d.args.get("user_id") == ERIN
    ) == 2)
    assert sum(1 for c in ws.calls if c.method == "views.publish" and c.args.get("user_id") == ERIN) == 2


# --- 6: metric labels ---------------------------------------------------------------------------------


async def test_words_typed_as_verbs_never_become_metric_labels(chatops: ChatOps) -> None:
    for i in range(20):
        await chatops.command(HANA, f"nonsense{i} alex")
    async with httpx.AsyncClient(base_url=chatops.server.url, timeout=10) as http:
        metrics = (await http.get("/metrics")).text
    assert "nonsense" not in metrics
    assert 'okc_commands_total{outcome="invalid",verb="unknown"}' in metrics


# --- 8: forged buttons ------------------------------------------------------------------------------------


def _set_action(action_id: str, value: str) -> Any:
    def change(payload: dict[str, Any]) -> None:
        payload["actions"][0].update(action_id=action_id, value=value)

    return change


@pytest.mark.parametrize(
    ("action_id", "value"),
    [
        ("okta:cancel", "not a request"),  # crashed the handler before
        ("okta:unlock", "lee.locked@acme.example Okta Admins"),
        ("okta:add-to-group", '"Okta Admins"'),
        ("okta:lookup", "x" * 3000),
        ("okta:unlock", ""),
        ("approval:approve", "../../etc/passwd"),
        ("approval:deny", "{}"),
        ("approval:cancel", "x" * 200),
    ],
)
async def test_a_forged_button_value_is_answered_as_invalid(
    chatops: ChatOps, caplog: pytest.LogCaptureFixture, action_id: str, value: str
) -> None:
    ws = chatops.ws
    await chatops.command(HANA, "lookup lee.locked@acme.example")
    card = await chatops.reply_to(HANA, lambda m: bool(m.blocks))
    click = reforged(ws, ws.block_action(HANA, "okta:unlock", message=card), _set_action(action_id, value))
    answer = await ws.send(chatops.url, click)
    assert answer.status_code == 200
    assert "no longer valid" in (await chatops.reply_to(HANA, lambda m: "no longer valid" in m.text)).text
    assert not [r for r in chatops.org.requests if r.method in ("POST", "PUT", "DELETE")]
    assert any("unreadable Slack payload" in r.getMessage() for r in caplog.records)


async def test_a_forged_deny_form_is_refused(chatops: ChatOps) -> None:
    ws = chatops.ws
    message: Message = await ask(chatops, HANA, "suspend alex.kim@acme.example")
    await chatops.click(ARJUN, "approval:deny", message)
    call = await ws.wait_for(lambda c: c.method == "views.open" and c.ok and c.result["view"]["callback_id"] == "approval:deny")
    form = ws.view(call.result["view"]["id"])
    submission = ws.view_submission(ARJUN, form, {"reason": {"reason_input": "no"}})

    def change(payload: dict[str, Any]) -> None:
        payload["view"]["private_metadata"] = json.dumps({"id": approval_id(message), "channel": "<!channel>"})

    assert (await ws.send(chatops.url, reforged(ws, submission, change))).status_code == 200
    assert writes(chatops.org, "/lifecycle/suspend") == 0
    assert (await chatops.bot.handlers.approvals.store.get(approval_id(message))).state == "PENDING"  # type: ignore[union-attr]
