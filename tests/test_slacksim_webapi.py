"""The fake Slack Web API, driven by slack_sdk's own AsyncWebClient over loopback HTTP."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.server import BackgroundServer
from slacksim import SlackChannel, SlackWorkspace

HANA, GARY, DEE, LEE, SAM = "U0HANA00001", "U0GARY00001", "U0DEE000001", "U0LEE000001", "U0SAM000001"
APPROVALS = "C0APPROVAL1"
BUTTONS: list[dict[str, Any]] = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Unlock* lee.locked@acme.example?"}},
    {
        "type": "actions",
        "block_id": "decision",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "text": {"type": "plain_text", "text": "Approve"},
                "value": "r1",
            },
            {"type": "button", "action_id": "deny", "text": {"type": "plain_text", "text": "Deny"}, "value": "r1"},
        ],
    },
]
MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "unlock",
    "title": {"type": "plain_text", "text": "Unlock a user"},
    "submit": {"type": "plain_text", "text": "Unlock"},
    "blocks": [
        {
            "type": "input",
            "block_id": "who",
            "label": {"type": "plain_text", "text": "Who"},
            "element": {"type": "plain_text_input", "action_id": "email"},
        }
    ],
}


@pytest.fixture
def client(ws: SlackWorkspace, slack: BackgroundServer) -> AsyncWebClient:
    return AsyncWebClient(token=ws.bot_token, base_url=f"{slack.url}/api/")


async def slack_error(call: Any) -> dict[str, Any]:
    """The body of a refused call."""
    with pytest.raises(SlackApiError) as refused:
        await call
    data: dict[str, Any] = refused.value.response.data
    return data


async def test_auth_and_unknown_methods(ws: SlackWorkspace, slack: BackgroundServer, client: AsyncWebClient) -> None:
    me = await client.auth_test()
    assert (me["user_id"], me["bot_id"], me["team_id"]) == (ws.bot_user_id, ws.bot_id, "T0ACME00001")
    assert me.headers["x-oauth-scopes"]
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=f"{slack.url}/api/")
    assert (await slack_error(wrong.auth_test()))["error"] == "invalid_auth"
    assert (await slack_error(AsyncWebClient(base_url=f"{slack.url}/api/").auth_test()))["error"] == "not_authed"
    assert (await slack_error(client.api_call("reactions.add")))["error"] == "unknown_method"
    assert [c.method for c in ws.calls] == ["auth.test", "auth.test", "auth.test", "reactions.add"]
    assert [c.error for c in ws.calls] == [None, "invalid_auth", "not_authed", "unknown_method"]


async def test_post_by_name_or_id_records_the_message(ws: SlackWorkspace, client: AsyncWebClient) -> None:
    metadata = {"event_type": "approval_requested", "event_payload": {"request_id": "r1"}}
    posted = await client.chat_postMessage(channel="#approvals", text="Unlock Lee?", blocks=BUTTONS, metadata=metadata)
    assert posted["channel"] == APPROVALS == ws.channel_id("approvals")
    reply = await client.chat_postMessage(channel=APPROVALS, text="details", thread_ts=posted["ts"])
    message = posted["message"]
    assert (message["user"], message["bot_id"], message["text"]) == (ws.bot_user_id, ws.bot_id, "Unlock Lee?")
    assert all(block["block_id"] for block in message["blocks"])  # Slack fills in missing block ids
    assert message["blocks"][1]["block_id"] == "decision"
    stored = ws.messages("#approvals")
    assert [(m.ts, m.text, m.thread_ts) for m in stored] == [
        (posted["ts"], "Unlock Lee?", None),
        (reply["ts"], "details", posted["ts"]),
    ]
    assert stored[0].metadata == metadata and stored[0].blocks == message["blocks"]
    assert ws.calls[0].args["channel"] == "#approvals" and ws.calls[0].args["metadata"] == metadata
    assert ws.calls[1].args == {"channel": APPROVALS, "text": "details", "thread_ts": posted["ts"]}


async def test_post_refusals_use_slack_error_strings(client: AsyncWebClient) -> None:
    assert (await slack_error(client.chat_postMessage(channel="#nope", text="x")))["error"] == "channel_not_found"
    assert (await slack_error(client.chat_postMessage(channel="#general", text="x")))["error"] == "not_in_channel"
    assert (await slack_error(client.api_call("chat.postMessage", json={"channel": "#helpdesk"})))["error"] == "no_text"
    bad: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}},
        {"type": "carousel"},
    ]
    refused = await slack_error(client.chat_postMessage(channel="#helpdesk", text="x", blocks=bad))
    assert refused["error"] == "invalid_blocks"
    assert refused["errors"] == [
        "must be less than 3001 characters [json-pointer:/blocks/0/text/text]",
        "unsupported type: carousel [json-pointer:/blocks/1/type]",
    ]
    wrong_metadata = client.chat_postMessage(channel="#helpdesk", text="x", metadata={"event_type": "x"})
    assert (await slack_error(wrong_metadata))["error"] == "invalid_metadata_format"


async def test_update_keeps_omitted_blocks_and_counts_edits(ws: SlackWorkspace, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="#approvals", text="Unlock Lee?", blocks=BUTTONS)
    updated = await client.chat_update(channel=APPROVALS, ts=posted["ts"], text="Approved by Arjun")
    assert (updated["channel"], updated["ts"], updated["text"]) == (APPROVALS, posted["ts"], "Approved by Arjun")
    [message] = ws.messages("approvals")
    assert (message.text, message.edit_count, len(message.blocks)) == ("Approved by Arjun", 1, 2)
    await client.chat_update(channel=APPROVALS, ts=posted["ts"], text="Done", blocks=[])
    assert ws.message("approvals", posted["ts"]).blocks == [] and ws.message("approvals", posted["ts"]).edit_count == 2
    by_name = client.chat_update(channel="#approvals", ts=posted["ts"], text="x")  # updates need the channel id
    assert (await slack_error(by_name))["error"] == "channel_not_found"
    missing = client.chat_update(channel=APPROVALS, ts="1.000001", text="x")
    assert (await slack_error(missing))["error"] == "message_not_found"


async def test_delete_and_permalink(ws: SlackWorkspace, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="#helpdesk", text="hello")
    link = await client.chat_getPermalink(channel="C0HELPDESK1", message_ts=posted["ts"])
    assert link["permalink"] == f"https://acme.slack.com/archives/C0HELPDESK1/p{posted['ts'].replace('.', '')}"
    deleted = await client.chat_delete(channel="C0HELPDESK1", ts=posted["ts"])
    assert (deleted["channel"], deleted["ts"]) == ("C0HELPDESK1", posted["ts"])
    assert ws.messages("helpdesk") == []
    again = client.chat_delete(channel="C0HELPDESK1", ts=posted["ts"])
    assert (await slack_error(again))["error"] == "message_not_found"


async def test_ephemerals_and_dms(ws: SlackWorkspace, client: AsyncWebClient) -> None:
    shown = await client.chat_postEphemeral(channel="#helpdesk", user=HANA, text="only you")
    [ephemeral] = ws.ephemerals(HANA)
    assert (ephemeral.ts, ephemeral.channel, ephemeral.text) == (shown["message_ts"], "C0HELPDESK1", "only you")
    assert ws.messages("helpdesk") == [] and ws.ephemerals(LEE) == []
    outsider = client.chat_postEphemeral(channel="#approvals", user=GARY, text="x")
    assert (await slack_error(outsider))["error"] == "user_not_in_channel"

    opened = await client.conversations_open(users=[LEE])
    assert opened["channel"]["id"] == "D0LEE000001" == ws.dm_channel_id(LEE)
    assert (await client.conversations_open(users=[LEE]))["already_open"] is True
    await client.chat_postMessage(channel=opened["channel"]["id"], text="Your account is unlocked")
    await client.chat_postMessage(channel=LEE, text="Posting to a user id lands in the DM too")
    assert [m.text for m in ws.dms(LEE)] == ["Your account is unlocked", "Posting to a user id lands in the DM too"]
    info = await client.conversations_info(channel="D0LEE000001")
    assert info["channel"]["is_im"] is True and info["channel"]["user"] == LEE
    assert (await slack_error(client.conversations_open(users=[DEE])))["error"] == "user_disabled"


async def test_users_and_usergroups(client: AsyncWebClient) -> None:
    hana = (await client.users_info(user=HANA))["user"]
    assert hana["profile"]["email"] == "hana.helpdesk@acme.example"
    assert hana["is_email_confirmed"] is True and hana["tz"] == "America/Los_Angeles"
    assert not (hana["is_bot"] or hana["is_restricted"] or hana["deleted"])
    gary = (await client.users_lookupByEmail(email="Guest.Gary@partner.example"))["user"]
    assert (gary["id"], gary["is_restricted"], gary["is_ultra_restricted"]) == (GARY, True, False)
    gina = (await client.users_info(user="U0GINA00001"))["user"]
    assert gina["is_restricted"] and gina["is_ultra_restricted"]
    bot = (await client.users_info(user="U0JIRABOT01"))["user"]
    assert bot["is_bot"] and "email" not in bot["profile"] and bot["profile"]["bot_id"] == "B0JIRABOT01"
    assert (await client.users_info(user=DEE))["user"]["deleted"] is True
    deactivated = client.users_lookupByEmail(email="dee.deprovisioned@acme.example")
    assert (await slack_error(deactivated))["error"] == "users_not_found"
    assert (await client.users_lookupByEmail(email="nobody@acme.example"))["user"]["id"] == "U0NOBODY001"
    assert (await slack_error(client.users_info(user="U0NOPE00001")))["error"] == "user_not_found"

    groups = (await client.usergroups_list(include_users=True))["usergroups"]
    helpdesk = next(g for g in groups if g["id"] == "S0HELPDESK1")
    assert (helpdesk["handle"], helpdesk["users"], helpdesk["user_count"]) == ("helpdesk-team", [HANA], 1)
    assert (await client.usergroups_users_list(usergroup="S0HELPDESK1"))["users"] == [HANA]
    assert (await slack_error(client.usergroups_users_list(usergroup="S0NOPE")))["error"] == "no_such_subteam"


async def test_history_pages_newest_first_with_metadata_on_request(ws: SlackWorkspace, client: AsyncWebClient) -> None:
    metadata = {"event_type": "approval_requested", "event_payload": {"request_id": "r1"}}
    for n in range(3):
        await client.chat_postMessage(channel="#approvals", text=f"m{n}", metadata=metadata)
    first = await client.conversations_history(channel=APPROVALS, limit=2)
    assert [m["text"] for m in first["messages"]] == ["m2", "m1"] and first["has_more"] is True
    assert "metadata" not in first["messages"][0]
    rest = await client.conversations_history(
        channel=APPROVALS, limit=2, cursor=first["response_metadata"]["next_cursor"], include_all_metadata=True
    )
    assert [m["text"] for m in rest["messages"]] == ["m0"] and rest["has_more"] is False
    assert rest["messages"][0]["metadata"] == metadata
    assert (await slack_error(client.conversations_history(channel="C0GENERAL01")))["error"] == "not_in_channel"


async def test_conversations_list_shows_what_the_bot_may_see_page_by_page(
    ws: SlackWorkspace, client: AsyncWebClient
) -> None:
    ws.add_channel(SlackChannel(id="G0SECRET001", name="secret", is_private=True, members={SAM, ws.bot_user_id}))
    ws.add_channel(SlackChannel(id="G0HIDDEN001", name="hidden", is_private=True, members={SAM}))
    ws.add_channel(SlackChannel(id="C0OLDNEWS01", name="old-news", is_archived=True))
    await client.conversations_open(users=[LEE])

    public = await client.conversations_list()
    names = [c["name"] for c in public["channels"]]
    assert names == ["helpdesk", "approvals", "security-alerts", "okta-audit", "general", "old-news"]
    assert public["response_metadata"]["next_cursor"] == ""
    general = public["channels"][4]
    assert (general["id"], general["is_member"], general["num_members"]) == ("C0GENERAL01", False, 12)

    pages = await client.conversations_list(types="public_channel,private_channel", exclude_archived=True, limit=2)
    seen = [[c["id"] for c in page["channels"]] async for page in pages]
    assert seen == [["C0HELPDESK1", "C0APPROVAL1"], ["C0SECALERT1", "C0OKTAAUDT1"], ["C0GENERAL01", "G0SECRET001"]]

    [dm] = (await client.conversations_list(types="im"))["channels"]
    assert dm["is_im"] is True and dm["user"] == LEE
    assert (await slack_error(client.conversations_list(types="channels")))["error"] == "invalid_types"
    assert (await slack_error(client.conversations_list(cursor="bm9wZQ==")))["error"] == "invalid_cursor"
    assert (await slack_error(client.conversations_list(limit=0)))["error"] == "invalid_limit"


async def test_form_encoded_calls_with_json_strings(ws: SlackWorkspace, slack: BackgroundServer) -> None:
    """As slack_sdk sends with `data=`: a form, the token in it, JSON-valued arguments as strings."""
    form = {"token": ws.bot_token, "channel": "#helpdesk", "text": "hi", "blocks": json.dumps(BUTTONS[:1])}
    async with httpx.AsyncClient() as http:
        answer = (await http.post(f"{slack.url}/api/chat.postMessage", data=form)).json()
    assert answer["ok"] is True
    assert ws.calls[-1].args["blocks"][0]["text"]["text"] == "*Unlock* lee.locked@acme.example?"
    assert "token" not in ws.calls[-1].args


async def test_views_need_fresh_triggers_and_valid_views(ws: SlackWorkspace, client: AsyncWebClient) -> None:
    trigger = ws.slash_command(HANA, "unlock").payload["trigger_id"]
    opened = (await client.views_open(trigger_id=trigger, view=MODAL))["view"]
    assert (opened["callback_id"], opened["root_view_id"], opened["state"]) == ("unlock", opened["id"], {"values": {}})
    [view] = ws.views
    assert (view.id, view.user_id, view.closed) == (opened["id"], HANA, False)
    assert (await slack_error(client.views_open(trigger_id=trigger, view=MODAL)))["error"] == "exchanged_trigger_id"
    assert (await slack_error(client.views_open(trigger_id="1.2.3", view=MODAL)))["error"] == "invalid_trigger_id"
    ws.trigger_ttl = 0.0
    stale = ws.slash_command(HANA, "unlock").payload["trigger_id"]
    assert (await slack_error(client.views_open(trigger_id=stale, view=MODAL)))["error"] == "expired_trigger_id"
    ws.trigger_ttl = 3.0

    long_title = {**MODAL, "title": {"type": "plain_text", "text": "A title far longer than allowed"}}
    refused = await slack_error(client.views_open(trigger_id=trigger, view=long_title))
    assert refused["error"] == "invalid_arguments"
    assert refused["response_metadata"]["messages"] == [
        "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"
    ]

    stale_hash = client.views_update(view_id=opened["id"], hash="0.stale", view=MODAL)
    assert (await slack_error(stale_hash))["error"] == "hash_conflict"
    step_two = {**MODAL, "callback_id": "unlock_confirm"}
    updated = (await client.views_update(view_id=opened["id"], hash=opened["hash"], view=step_two))["view"]
    assert updated["id"] == opened["id"] and ws.view(opened["id"]).callback_id == "unlock_confirm"

    pushed = await client.views_push(trigger_id=ws.slash_command(HANA, "x").payload["trigger_id"], view=MODAL)
    assert (pushed["view"]["previous_view_id"], pushed["view"]["root_view_id"]) == (opened["id"], opened["id"])
    await client.views_push(trigger_id=ws.slash_command(HANA, "x").payload["trigger_id"], view=MODAL)
    fourth = client.views_push(trigger_id=ws.slash_command(HANA, "x").payload["trigger_id"], view=MODAL)
    assert (await slack_error(fourth))["error"] == "push_limit_reached"  # three views deep at most


async def test_app_home_publish(ws: SlackWorkspace, client: AsyncWebClient) -> None:
    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Your requests"}}]}
    first = (await client.views_publish(user_id=LEE, view=home))["view"]
    second = (await client.views_publish(user_id=LEE, view=home, hash=first["hash"]))["view"]
    assert first["id"] == second["id"] and first["type"] == "home"
    shown = ws.home(LEE)
    assert shown is not None and shown.view == second and ws.home(HANA) is None and ws.views == []
    assert (await slack_error(client.views_publish(user_id=LEE, view=MODAL)))["error"] == "invalid_arguments"


async def test_rate_limit_is_retried_by_slack_sdk(ws: SlackWorkspace, slack: BackgroundServer) -> None:
    ws.fail_next("chat.postMessage", status=429, retry_after=0)
    retrying = AsyncWebClient(
        token=ws.bot_token, base_url=f"{slack.url}/api/", retry_handlers=[AsyncRateLimitErrorRetryHandler()]
    )
    await retrying.chat_postMessage(channel="#helpdesk", text="after a 429")
    assert [(c.method, c.status, c.error) for c in ws.calls] == [
        ("chat.postMessage", 429, "ratelimited"),
        ("chat.postMessage", 200, None),
    ]
    assert [m.text for m in ws.messages("helpdesk")] == ["after a 429"]


async def test_injected_errors_and_server_failures(ws: SlackWorkspace, client: AsyncWebClient) -> None:
    ws.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as limited:
        await client.chat_postMessage(channel="#helpdesk", text="x")
    assert limited.value.response.status_code == 429 and limited.value.response.headers["retry-after"] == "7"
    ws.fail_next("chat.postMessage", error="channel_not_found", times=2)
    ws.fail_next("users.info", status=500)
    for _ in range(2):
        refused = await slack_error(client.chat_postMessage(channel="#helpdesk", text="x"))
        assert refused["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as failed:
        await client.users_info(user=HANA)
    assert failed.value.response.status_code == 500
    await client.chat_postMessage(channel="#helpdesk", text="fine again")
    assert (await client.users_info(user=HANA))["ok"] is True
    with pytest.raises(ValueError, match="status"):
        ws.fail_next("chat.update")


async def test_wait_for_awaits_a_later_call(ws: SlackWorkspace, client: AsyncWebClient) -> None:
    waiting = asyncio.create_task(ws.wait_for(lambda c: c.method == "chat.update", timeout=5.0))
    posted = await client.chat_postMessage(channel="#approvals", text="pending")
    assert not waiting.done()
    await client.chat_update(channel=APPROVALS, ts=posted["ts"], text="approved")
    call = await waiting
    assert call.args["text"] == "approved" and call.result["ts"] == posted["ts"]
    again = await ws.wait_for(lambda c: c.method == "chat.postMessage")  # past calls count too
    assert again.args["text"] == "pending"
    message = await ws.wait_for_message(lambda m: m.text == "approved")
    assert message.edit_count == 1
    with pytest.raises(TimeoutError, match=r"2 calls seen\n  chat.postMessage\(channel='#approvals'"):
        await ws.wait_for(lambda c: c.method == "chat.delete", timeout=0.05)


async def test_subscribers_see_changes(ws: SlackWorkspace, client: AsyncWebClient) -> None:
    changes = ws.subscribe()
    posted = await client.chat_postMessage(channel="#approvals", text="pending")
    await client.chat_update(channel=APPROVALS, ts=posted["ts"], text="done")
    await client.chat_postEphemeral(channel="#helpdesk", user=HANA, text="psst")
    seen = [changes.get_nowait() for _ in range(changes.qsize())]
    assert [(e.kind, e.channel) for e in seen] == [
        ("message_posted", APPROVALS),
        ("message_updated", APPROVALS),
        ("ephemeral_posted", "C0HELPDESK1"),
    ]
    ws.unsubscribe(changes)


async def test_response_url_semantics(ws: SlackWorkspace, client: AsyncWebClient) -> None:
    command = ws.slash_command(HANA, "status lee")
    respond = AsyncWebhookClient(command.payload["response_url"])
    answered = await respond.send(text="Looking up Lee…")
    assert (answered.status_code, answered.body) == (200, "ok")
    [ephemeral] = ws.ephemerals(HANA)
    assert (ephemeral.text, ephemeral.channel, ephemeral.via) == ("Looking up Lee…", "C0HELPDESK1", "response_url")
    await respond.send(text="Lee is LOCKED_OUT", replace_original=True)  # replaces the command's first reply
    assert [m.text for m in ws.ephemerals(HANA)] == ["Lee is LOCKED_OUT"]
    await respond.send(text="Unlocked Lee", response_type="in_channel")
    assert [m.text for m in ws.messages("helpdesk")] == ["Unlocked Lee"]
    assert [r.effect for r in ws.responses] == ["ephemeral", "replaced", "posted"]
    refused = await respond.send_dict({"response_type": "in_channel"})
    assert (refused.status_code, refused.body) == (400, "no_text")  # refused: a use that does not count
    await respond.send(text="4")
    await respond.send(text="5")
    expired = await respond.send(text="6")
    assert (expired.status_code, expired.body) == (404, "used_url")  # five uses at most

    posted = await client.chat_postMessage(channel="#approvals", text="Unlock Lee?", blocks=BUTTONS)
    click = ws.block_action("U0ARJUN0001", "approve", message=ws.message("approvals", posted["ts"]))
    on_message = AsyncWebhookClient(click.payload["response_url"])
    await on_message.send(text="Approved by Arjun", replace_original=True)
    [approved] = ws.messages("approvals")
    assert (approved.text, approved.blocks, approved.edit_count) == ("Approved by Arjun", [], 1)
    await on_message.send(text="x", delete_original=True)
    assert ws.messages("approvals") == []
    assert (await ws.wait_for(lambda c: c.method == "response_url" and c.args.get("delete_original") is True)).ok


# Socket Mode


async def test_connections_open_takes_only_the_app_level_token(
    ws: SlackWorkspace, slack: BackgroundServer, client: AsyncWebClient
) -> None:
    refused = await slack_error(client.apps_connections_open(app_token=ws.bot_token))
    assert refused["error"] == "not_allowed_token_type"
    opened = await client.apps_connections_open(app_token=ws.app_token)
    assert opened["url"].startswith(f"ws{slack.url.removeprefix('http')}/link/?ticket=")
    as_app = AsyncWebClient(token=ws.app_token, base_url=f"{slack.url}/api/")
    refused = await slack_error(as_app.chat_postMessage(channel="#helpdesk", text="x"))
    assert refused["error"] == "not_allowed_token_type"  # and an app-level token calls nothing else


async def test_socket_mode_delivers_envelopes_and_applies_acks(ws: SlackWorkspace, slack: BackgroundServer) -> None:
    from slack_sdk.socket_mode.aiohttp import SocketModeClient
    from slack_sdk.socket_mode.request import SocketModeRequest
    from slack_sdk.socket_mode.response import SocketModeResponse

    received: list[SocketModeRequest] = []

    async def on_request(app: SocketModeClient, request: SocketModeRequest) -> None:
        received.append(request)
        if request.payload.get("text") != "slow":  # the "slow" command is never acknowledged
            ack = SocketModeResponse(envelope_id=request.envelope_id, payload={"text": "On it"})
            await app.send_socket_mode_response(ack)

    app = SocketModeClient(app_token=ws.app_token, web_client=AsyncWebClient(base_url=f"{slack.url}/api/"))
    app.socket_mode_request_listeners.append(on_request)  # type: ignore[arg-type]
    await app.connect()
    try:
        assert await ws.socket_connected() == 1
        command = ws.slash_command(HANA, "status lee")
        ack = await ws.send_socket(command)
        assert ack is not None and ack["payload"] == {"text": "On it"}
        assert (received[0].type, received[0].payload) == ("slash_commands", command.payload)
        assert received[0].accepts_response_payload is True
        [reply] = ws.ephemerals(HANA)
        assert (reply.text, reply.via) == ("On it", "ack")
        assert await ws.send_socket(ws.slash_command(HANA, "slow"), timeout=0.2) is None
    finally:
        await app.close()
