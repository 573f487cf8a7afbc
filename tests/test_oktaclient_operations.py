"""OktaClient operations against the Okta org simulator over real HTTP: results, state changes, errors."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.server import BackgroundServer
from oktaclient import OktaBadRequest, OktaClient, OktaNotFound, search
from oktaclient.models import UserStatus
from oktasim import OktaOrg, RecordedRequest, create_app, seed_demo_org

ERIN = "erin.employee@acme.example"
LEE = "lee.locked@acme.example"
SUE = "sue.suspended@acme.example"


def _requests(okta_org: OktaOrg, method: str, path: str) -> list[RecordedRequest]:
    return [r for r in okta_org.requests if r.method == method and r.path == path]


# Users: reading


async def test_get_user_by_id_and_by_login(okta_org: OktaOrg, okta: OktaClient) -> None:
    by_login = await okta.get_user(ERIN)
    by_id = await okta.get_user(by_login.id)
    assert by_id.id == by_login.id == okta_org.get_user(ERIN).id
    assert by_id.profile.login == ERIN
    assert by_id.status is UserStatus.ACTIVE
    assert by_id.display_name == "Erin Employee"


async def test_get_unknown_user_raises_not_found_with_okta_details(okta: OktaClient) -> None:
    with pytest.raises(OktaNotFound) as caught:
        await okta.get_user("nobody@acme.example")
    error = caught.value
    assert (error.status, error.error_code) == (404, "E0000007")
    assert "nobody@acme.example" in error.error_summary
    assert error.request_id


async def test_search_users_by_status(okta_org: OktaOrg, okta: OktaClient) -> None:
    found = [u async for u in okta.search_users(search.eq("status", "SUSPENDED"))]
    expected = {u.id for u in okta_org.directory.users.values() if u.status is UserStatus.SUSPENDED}
    assert {u.id for u in found} == expected
    assert okta_org.get_user(SUE).id in expected


async def test_list_user_groups_and_factors(okta_org: OktaOrg, okta: OktaClient) -> None:
    erin = okta_org.get_user(ERIN)
    groups = [g.profile.name async for g in okta.list_user_groups(erin.id)]
    assert sorted(groups) == ["Engineering", "Everyone"]
    factors = await okta.list_factors(erin.id)
    assert [(f.id, f.factorType, f.status) for f in factors] == [(f.id, "push", "ACTIVE") for f in erin.factors]


# Users: lifecycle


async def test_suspend_then_unsuspend(okta_org: OktaOrg, okta: OktaClient) -> None:
    erin = okta_org.get_user(ERIN)
    outcome = await okta.suspend_user(erin.id)
    assert outcome.request_id and outcome.user is None and outcome.reset_url is None
    assert (await okta.get_user(erin.id)).status is UserStatus.SUSPENDED
    await okta.unsuspend_user(erin.id)
    assert (await okta.get_user(erin.id)).status is UserStatus.ACTIVE


async def test_unlock_a_locked_out_user(okta_org: OktaOrg, okta: OktaClient) -> None:
    await okta.unlock_user(okta_org.get_user(LEE).id)
    assert okta_org.get_user(LEE).status is UserStatus.ACTIVE


async def test_deactivate(okta_org: OktaOrg, okta: OktaClient) -> None:
    staged = okta_org.add_user("stan.staged@acme.example", "Stan", "Staged", status="STAGED")
    await okta.deactivate_user(staged.id)
    assert okta_org.get_user(staged.id).status is UserStatus.DEPROVISIONED
    [deactivate] = _requests(okta_org, "POST", f"/api/v1/users/{staged.id}/lifecycle/deactivate")
    assert deactivate.query == "sendEmail=false"


@pytest.mark.parametrize(
    ("login", "operation", "status", "code"),
    [
        (SUE, "suspend_user", 400, "E0000001"),  # suspend a user that is not ACTIVE
        (ERIN, "unsuspend_user", 400, "E0000001"),  # unsuspend a user that is not SUSPENDED
        (ERIN, "unlock_user", 403, "E0000032"),  # unlock a user that is not LOCKED_OUT
        (SUE, "reset_password", 403, "E0000017"),  # reset the password of a suspended user
    ],
)
async def test_wrong_state_lifecycle_errors_are_bad_requests(
    okta_org: OktaOrg, okta: OktaClient, login: str, operation: str, status: int, code: str
) -> None:
    user = okta_org.get_user(login)
    before = user.status
    with pytest.raises(OktaBadRequest) as caught:
        await getattr(okta, operation)(user.id)
    assert (caught.value.status, caught.value.error_code) == (status, code)
    assert caught.value.error_summary and caught.value.request_id
    assert user.status is before


async def test_wrong_state_error_carries_okta_causes(okta_org: OktaOrg, okta: OktaClient) -> None:
    with pytest.raises(OktaBadRequest) as caught:
        await okta.suspend_user(okta_org.get_user(SUE).id)
    assert caught.value.error_summary == "Api validation failed: status"
    assert caught.value.error_causes == ["Cannot suspend a user that is not ACTIVE."]


async def test_reset_password_without_email_returns_the_link_as_a_secret(
    okta_org: OktaOrg, okta: OktaClient
) -> None:
    erin = okta_org.get_user(ERIN)
    outcome = await okta.reset_password(erin.id, send_email=False)
    assert outcome.reset_url is not None
    url = outcome.reset_url.get_secret_value()
    assert url.startswith(okta.org_url + "/")
    assert url not in repr(outcome) and url not in str(outcome)
    assert erin.status is UserStatus.RECOVERY


async def test_reset_password_by_email_returns_no_link(okta_org: OktaOrg, okta: OktaClient) -> None:
    erin = okta_org.get_user(ERIN)
    outcome = await okta.reset_password(erin.id)
    assert outcome.reset_url is None
    [reset] = _requests(okta_org, "POST", f"/api/v1/users/{erin.id}/lifecycle/reset_password")
    assert reset.query == "sendEmail=true"


async def test_expire_password_returns_the_user(okta_org: OktaOrg, okta: OktaClient) -> None:
    outcome = await okta.expire_password(okta_org.get_user(ERIN).id)
    assert outcome.user is not None
    assert (outcome.user.profile.login, outcome.user.status) == (ERIN, UserStatus.PASSWORD_EXPIRED)


async def test_clear_sessions(okta_org: OktaOrg, okta: OktaClient) -> None:
    erin = okta_org.get_user(ERIN)
    okta_org.sign_in(erin)
    assert erin.sessions > 0
    outcome = await okta.clear_sessions(erin.id, oauth_tokens=True)
    assert outcome.request_id
    assert erin.sessions == 0
    assert _requests(okta_org, "DELETE", f"/api/v1/users/{erin.id}/sessions")[0].query == "oauthTokens=true"


# Groups


async def test_search_groups_by_expression_by_name_prefix_and_all(okta_org: OktaOrg, okta: OktaClient) -> None:
    by_expr = [g async for g in okta.search_groups(search.eq("profile.name", "Helpdesk"))]
    assert [g.profile.name for g in by_expr] == ["Helpdesk"]
    by_q = [g.profile.name async for g in okta.search_groups(q="Se")]
    assert sorted(by_q) == ["Security"]
    everything = [g.id async for g in okta.search_groups()]
    assert sorted(everything) == sorted(okta_org.directory.groups)


async def test_get_group_add_and_remove_member(okta_org: OktaOrg, okta: OktaClient) -> None:
    helpdesk, erin = okta_org.get_group("Helpdesk"), okta_org.get_user(ERIN)
    assert (await okta.get_group(helpdesk.id)).profile.name == "Helpdesk"
    added = await okta.add_user_to_group(helpdesk.id, erin.id)
    assert added.request_id
    assert erin.id in helpdesk.member_ids
    await okta.remove_user_from_group(helpdesk.id, erin.id)
    assert erin.id not in helpdesk.member_ids


async def test_unknown_group_is_not_found(okta: OktaClient) -> None:
    with pytest.raises(OktaNotFound):
        await okta.get_group("00gdoesnotexist")


# Pagination


@pytest.fixture
def big_org() -> OktaOrg:
    org = seed_demo_org(users=520)
    org.add_api_token("big-org-token")
    return org


@pytest.fixture
async def big_okta(big_org: OktaOrg) -> AsyncIterator[OktaClient]:
    async with (
        BackgroundServer(create_app(big_org)) as server,
        OktaClient.from_api_token(server.url, "big-org-token") as client,
    ):
        yield client


async def test_search_users_follows_next_links_over_520_users(big_org: OktaOrg, big_okta: OktaClient) -> None:
    everyone_created_since_2000 = search.gt("created", "2000-01-01T00:00:00.000Z")
    found = [u.id async for u in big_okta.search_users(everyone_created_since_2000, limit=200)]
    assert len(found) == len(set(found)) == len(big_org.directory.users) >= 520
    pages = _requests(big_org, "GET", "/api/v1/users")
    assert len(pages) == math.ceil(len(found) / 200)
    assert all("after=" in page.query for page in pages[1:])


async def test_iteration_fetches_pages_only_as_needed(big_org: OktaOrg, big_okta: OktaClient) -> None:
    users = big_okta.search_users(search.eq("status", "ACTIVE"), limit=50)
    first = [await anext(users) for _ in range(50)]
    assert len(first) == 50
    assert len(_requests(big_org, "GET", "/api/v1/users")) == 1
    await users.aclose()  # type: ignore[attr-defined]


# System Log


async def test_list_log_events_with_a_filter(okta_org: OktaOrg, okta: OktaClient) -> None:
    start = datetime.now(UTC) - timedelta(minutes=1)
    erin = okta_org.get_user(ERIN)
    await okta.suspend_user(erin.id)
    events = [
        e async for e in okta.list_log_events(since=start, filter=search.eq("eventType", "user.lifecycle.suspend"))
    ]
    assert len(events) == 1
    assert events[0].target is not None and events[0].target[0].id == erin.id


async def test_bounded_log_query_walks_all_pages(okta_org: OktaOrg, okta: OktaClient) -> None:
    start = datetime.now(UTC) - timedelta(minutes=1)
    okta_org.fail_sign_ins(ERIN, 7)
    until = datetime.now(UTC) + timedelta(minutes=1)
    events = [e async for e in okta.list_log_events(since=start, until=until, limit=3)]
    assert [e.eventType for e in events] == ["user.session.start"] * 7
    assert len(_requests(okta_org, "GET", "/api/v1/logs")) >= 3


async def test_polling_the_log_resumes_from_the_cursor(okta_org: OktaOrg, okta: OktaClient) -> None:
    okta_org.fail_sign_ins(ERIN, 2)
    first = await okta.poll_log_events(since=datetime.now(UTC) - timedelta(minutes=1))
    assert [e.eventType for e in first.items] == ["user.session.start"] * 2
    assert first.after is not None

    empty = await okta.poll_log_events(after=first.after)
    assert empty.items == [] and empty.after is not None  # Okta keeps a cursor for polling queries

    okta_org.lock_out(okta_org.get_user(ERIN), failures=1)
    later = await okta.poll_log_events(after=empty.after)
    assert [e.eventType for e in later.items] == ["user.session.start", "user.account.lock"]
    assert {e.uuid for e in later.items}.isdisjoint(e.uuid for e in first.items)


async def test_log_times_must_be_timezone_aware(okta: OktaClient) -> None:
    with pytest.raises(ValueError, match="timezone"):
        await okta.poll_log_events(since=datetime(2025, 1, 1))


# Event hooks


class HookEndpoint:
    """An event hook receiver on loopback: echoes Okta's verification challenge when the secret matches."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.authorizations: list[str | None] = []
        self.app = Starlette(routes=[Route("/hooks", self._verify, methods=["GET"])])

    async def _verify(self, request: Request) -> Response:
        self.authorizations.append(request.headers.get("authorization"))
        if request.headers.get("authorization") != self.secret:
            return Response(status_code=401)
        return JSONResponse({"verification": request.headers["x-okta-verification-challenge"]})


async def test_event_hook_create_verify_deactivate_activate_list(okta: OktaClient) -> None:
    secret = "hook-shared-secret-value"
    endpoint = HookEndpoint(secret)
    async with BackgroundServer(endpoint.app) as receiver:
        uri = f"{receiver.url}/hooks"
        hook = await okta.create_event_hook("chatops", uri, ["user.account.lock"], secret=secret)
        assert hook.id and hook.status == "ACTIVE" and hook.verificationStatus == "UNVERIFIED"
        assert hook.channel.config.uri == uri and hook.events.items == ["user.account.lock"]
        assert secret not in repr(hook) and secret not in hook.model_dump_json()

        verified = await okta.verify_event_hook(hook.id)
        assert verified.verificationStatus == "VERIFIED"
        assert endpoint.authorizations == [secret]

    assert (await okta.deactivate_event_hook(hook.id)).status == "INACTIVE"
    assert (await okta.activate_event_hook(hook.id)).status == "ACTIVE"
    assert [h.id for h in await okta.list_event_hooks()] == [hook.id]


async def test_event_hook_verification_failure_is_a_bad_request(okta: OktaClient) -> None:
    endpoint = HookEndpoint("the-right-secret")
    async with BackgroundServer(endpoint.app) as receiver:
        hook = await okta.create_event_hook("x", f"{receiver.url}/hooks", ["user.account.lock"], secret="wrong")
        assert hook.id is not None
        with pytest.raises(OktaBadRequest) as caught:
            await okta.verify_event_hook(hook.id)
    assert caught.value.error_code == "E0000001"


# Factors


async def test_verify_push_then_poll_until_answered(okta_org: OktaOrg, okta: OktaClient) -> None:
    erin = okta_org.get_user(ERIN)
    push = next(f for f in erin.factors if f.factor_type == "push")
    tx = await okta.verify_push(erin.id, push.id)
    assert tx.factorResult == "WAITING" and tx.expiresAt is not None
    assert tx.poll_url is not None and f"/api/v1/users/{erin.id}/factors/{push.id}/transactions/" in tx.poll_url
    assert (await okta.poll_factor_transaction(tx.poll_url)).factorResult == "WAITING"

    okta_org.answer_push(erin.id, "SUCCESS")
    transaction_id = tx.poll_url.rsplit("/", 1)[1]
    done = await okta.poll_factor_transaction((erin.id, push.id, transaction_id))
    assert done.factorResult == "SUCCESS" and done.poll_url is None


async def test_poll_links_are_always_sent_to_the_org(okta_org: OktaOrg, okta: OktaClient) -> None:
    erin = okta_org.get_user(ERIN)
    push = next(f for f in erin.factors if f.factor_type == "push")
    tx = await okta.verify_push(erin.id, push.id)
    assert tx.poll_url is not None
    elsewhere = tx.poll_url.replace(okta.org_url, "https://attacker.example")
    assert (await okta.poll_factor_transaction(elsewhere)).factorResult == "WAITING"
    with pytest.raises(ValueError):
        await okta.poll_factor_transaction(f"{okta.org_url}/api/v1/users/{erin.id}/lifecycle/suspend")
