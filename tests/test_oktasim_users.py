"""The simulator's users API over real HTTP: the status machine, CRUD, groups, factors and push verify."""

from __future__ import annotations

import httpx
import pytest

from oktasim import OktaOrg

ALL = {"STAGED", "PROVISIONED", "ACTIVE", "RECOVERY", "LOCKED_OUT", "PASSWORD_EXPIRED", "SUSPENDED", "DEPROVISIONED"}

# operation -> (statuses it is allowed from, status afterwards (None: unchanged), refusal status, refusal errorCode,
#               the System Log event it writes). Written from Okta's docs, independently of the simulator's table.
LIFECYCLE = {
    "activate": ({"STAGED", "DEPROVISIONED"}, "ACTIVE", 403, "E0000016", "user.lifecycle.activate"),
    "reactivate": ({"PROVISIONED", "RECOVERY"}, "PROVISIONED", 403, "E0000038", "user.lifecycle.reactivate"),
    "deactivate": (ALL - {"DEPROVISIONED"}, "DEPROVISIONED", 403, "E0000038", "user.lifecycle.deactivate"),
    "suspend": ({"ACTIVE"}, "SUSPENDED", 400, "E0000001", "user.lifecycle.suspend"),
    "unsuspend": ({"SUSPENDED"}, "ACTIVE", 400, "E0000001", "user.lifecycle.unsuspend"),
    "unlock": ({"LOCKED_OUT"}, "ACTIVE", 403, "E0000032", "user.account.unlock"),
    "reset_password": (
        {"ACTIVE", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT", "PROVISIONED"},
        "RECOVERY",
        403,
        "E0000017",
        "user.account.reset_password",
    ),
    "expire_password": (
        {"ACTIVE", "PASSWORD_EXPIRED", "RECOVERY"},
        "PASSWORD_EXPIRED",
        403,
        "E0000038",
        "user.account.expire_password",
    ),
    "expire_password_with_temp_password": (
        {"ACTIVE", "PASSWORD_EXPIRED", "RECOVERY"},
        "PASSWORD_EXPIRED",
        403,
        "E0000038",
        "user.account.expire_password",
    ),
    "reset_factors": (ALL - {"DEPROVISIONED", "STAGED"}, None, 403, "E0000038", "user.mfa.factor.reset_all"),
}

async def test_every_lifecycle_operation_from_every_status(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    for op, status in ((op, status) for op in sorted(LIFECYCLE) for status in sorted(ALL)):
        allowed, after, refusal_status, refusal_code, event_type = LIFECYCLE[op]
        user = okta_org.add_user(f"{op}.{status}@acme.example".lower(), "Test", status.title(), status=status)
        okta_org.enroll_factor(user, "push")
        events_before = len(okta_org.log_events)
        response = await api.post(f"/api/v1/users/{user.id}/lifecycle/{op}")
        if status in allowed:
            assert response.status_code == 200, (op, status, response.text)
            assert user.status == (after or status), (op, status)
            assert okta_org.log_events[-1]["eventType"] == event_type, (op, status)
            assert okta_org.log_events[-1]["target"][0]["id"] == user.id
        else:
            assert response.status_code == refusal_status, (op, status, response.text)
            body = response.json()
            assert body["errorCode"] == refusal_code and body["errorLink"] == refusal_code, (op, status)
            assert body["errorId"] and isinstance(body["errorCauses"], list)
            assert user.status == status, "a refused operation must not change the status"
            assert len(okta_org.log_events) == events_before, "a refused operation writes no event"


async def test_user_links_offer_only_allowed_operations(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    locked = (await api.get("/api/v1/users/lee.locked@acme.example")).json()
    active = (await api.get("/api/v1/users/erin.employee@acme.example")).json()
    assert "unlock" in locked["_links"] and "suspend" not in locked["_links"]
    assert "suspend" in active["_links"] and "unlock" not in active["_links"] and "unsuspend" not in active["_links"]
    assert active["_links"]["suspend"]["href"].endswith(f"/api/v1/users/{active['id']}/lifecycle/suspend")
    assert active["_links"]["self"]["href"].startswith(str(api.base_url))


async def test_lifecycle_responses(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    erin = okta_org.get_user("erin.employee@acme.example")
    reset = await api.post(f"/api/v1/users/{erin.id}/lifecycle/reset_password", params={"sendEmail": "false"})
    assert reset.status_code == 200 and "/reset_password/" in reset.json()["resetPasswordUrl"]
    assert erin.status == "RECOVERY"

    alex = okta_org.get_user("alex.kim@acme.example")
    emailed = await api.post(f"/api/v1/users/{alex.id}/lifecycle/reset_password", params={"sendEmail": "true"})
    assert emailed.json() == {} and alex.status == "RECOVERY"

    sam = okta_org.get_user("sam.security@acme.example")
    expired = await api.post(f"/api/v1/users/{sam.id}/lifecycle/expire_password")
    assert expired.json()["status"] == "PASSWORD_EXPIRED" and expired.json()["id"] == sam.id

    staged = okta_org.add_user("new.hire@acme.example", "New", "Hire", status="STAGED", password=False)
    activated = await api.post(f"/api/v1/users/{staged.id}/lifecycle/activate", params={"sendEmail": "false"})
    assert activated.json()["activationToken"] in activated.json()["activationUrl"]
    assert staged.status == "PROVISIONED", "without a password, activation waits for the welcome flow"

    temp = await api.post(
        f"/api/v1/users/{okta_org.get_user('hana.helpdesk').id}/lifecycle/expire_password_with_temp_password"
    )
    assert len(temp.json()["tempPassword"]) == 8


async def test_bad_lifecycle_requests(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    erin = okta_org.get_user("erin.employee@acme.example")
    assert (await api.post(f"/api/v1/users/{erin.id}/lifecycle/lock")).status_code == 404
    bad_flag = await api.post(f"/api/v1/users/{erin.id}/lifecycle/reset_password", params={"sendEmail": "maybe"})
    assert bad_flag.status_code == 400 and erin.status == "ACTIVE"
    missing = await api.post("/api/v1/users/00unosuchuser0000000/lifecycle/suspend")
    assert missing.status_code == 404
    assert missing.json()["errorSummary"] == "Not found: Resource not found: 00unosuchuser0000000 (User)"


async def test_get_user_by_id_login_and_shortname(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    erin = okta_org.get_user("erin.employee@acme.example")
    for key in (erin.id, "erin.employee@acme.example", "ERIN.EMPLOYEE@ACME.EXAMPLE", "erin.employee"):
        response = await api.get(f"/api/v1/users/{key}")
        assert response.status_code == 200 and response.json()["id"] == erin.id, key
    okta_org.add_user("erin.employee@other.example", "Erin", "Other")
    assert (await api.get("/api/v1/users/erin.employee")).status_code == 404, "an ambiguous shortname finds no one"


async def test_create_update_replace_delete(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    profile = {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@acme.example", "login": "ada@acme.example"}
    engineering = okta_org.get_group("Engineering")
    created = await api.post(
        "/api/v1/users",
        params={"activate": "true"},
        json={
            "profile": profile,
            "credentials": {"password": {"value": "Sup3r-secret!"}},
            "groupIds": [engineering.id],
        },
    )
    assert created.status_code == 200, created.text
    ada = created.json()
    assert ada["status"] == "ACTIVE" and ada["profile"]["login"] == "ada@acme.example"
    assert ada["id"] in engineering.member_ids
    types = [e["eventType"] for e in okta_org.log_events]
    assert types[-3:] == ["user.lifecycle.create", "user.lifecycle.activate", "group.user_membership.add"]

    duplicate = await api.post("/api/v1/users", json={"profile": profile})
    assert duplicate.status_code == 400 and duplicate.json()["errorCode"] == "E0000001"
    assert any("already exists" in c["errorSummary"] for c in duplicate.json()["errorCauses"])

    staged = await api.post(
        "/api/v1/users",
        params={"activate": "false"},
        json={"profile": {**profile, "login": "ada2@acme.example", "email": "ada2@acme.example"}},
    )
    assert staged.json()["status"] == "STAGED" and staged.json()["activated"] is None
    assert "password" in ada["credentials"] and "password" not in staged.json()["credentials"]
    assert staged.json()["credentials"]["provider"] == {"type": "OKTA", "name": "OKTA"}

    blank = await api.post("/api/v1/users", json={"profile": {"login": "not-an-email"}})
    causes = [c["errorSummary"] for c in blank.json()["errorCauses"]]
    assert blank.status_code == 400 and "firstName: The field cannot be left blank" in causes
    assert "login: Username must be in the form of an email address" in causes
    assert (await api.post("/api/v1/users", content=b"{not json")).json()["errorCode"] == "E0000003"

    partial = await api.post(f"/api/v1/users/{ada['id']}", json={"profile": {"title": "Countess"}})
    assert partial.json()["profile"] == {**profile, "title": "Countess"}
    replaced = await api.put(f"/api/v1/users/{ada['id']}", json={"profile": profile})
    assert "title" not in replaced.json()["profile"]
    assert (await api.put(f"/api/v1/users/{ada['id']}", json={"profile": {"title": "x"}})).status_code == 400

    first = await api.delete(f"/api/v1/users/{ada['id']}")
    assert first.status_code == 204 and okta_org.get_user(ada["id"]).status == "DEPROVISIONED"
    assert (await api.post(f"/api/v1/users/{ada['id']}", json={"profile": {"title": "x"}})).json()[
        "errorCode"
    ] == "E0000038"
    second = await api.delete(f"/api/v1/users/{ada['id']}")
    assert second.status_code == 204
    assert (await api.get(f"/api/v1/users/{ada['id']}")).status_code == 404
    assert ada["id"] not in engineering.member_ids


async def test_groups_membership_and_privilege_events(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    erin = okta_org.get_user("erin.employee@acme.example")
    admins = okta_org.get_group("Okta Admins")
    added = await api.put(f"/api/v1/groups/{admins.id}/users/{erin.id}")
    assert added.status_code == 204 and erin.id in admins.member_ids
    assert [e["eventType"] for e in okta_org.log_events[-2:]] == [
        "group.user_membership.add",
        "user.account.privilege.grant",
    ]
    again = await api.put(f"/api/v1/groups/{admins.id}/users/{erin.id}")
    assert again.status_code == 204 and len(okta_org.log_events) == 2, "an existing membership is not added twice"

    names = [g["profile"]["name"] for g in (await api.get(f"/api/v1/users/{erin.id}/groups")).json()]
    assert set(names) == {"Everyone", "Engineering", "Okta Admins"}

    removed = await api.delete(f"/api/v1/groups/{admins.id}/users/{erin.id}")
    assert removed.status_code == 204 and erin.id not in admins.member_ids
    assert okta_org.log_events[-1]["eventType"] == "user.account.privilege.revoke"

    everyone = okta_org.get_group("Everyone")
    assert (await api.put(f"/api/v1/groups/{everyone.id}/users/{erin.id}")).status_code == 403
    assert (await api.put(f"/api/v1/groups/{admins.id}/users/erin.employee@acme.example")).status_code == 404
    assert (
        (await api.put(f"/api/v1/groups/00gnosuchgroup000000/users/{erin.id}"))
        .json()["errorSummary"]
        .endswith("(UserGroup)")
    )

    created = await api.post("/api/v1/groups", json={"profile": {"name": "Pilots", "description": "Beta testers"}})
    assert created.status_code == 200 and created.json()["type"] == "OKTA_GROUP"
    assert (await api.post("/api/v1/groups", json={"profile": {"name": "pilots"}})).status_code == 400
    assert (await api.post("/api/v1/groups", json={"profile": {}})).json()["errorCode"] == "E0000001"


async def test_group_listing_search_and_members(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    assert [g["profile"]["name"] for g in (await api.get("/api/v1/groups", params={"q": "app"})).json()] == [
        "Approvers"
    ]
    built_in = (await api.get("/api/v1/groups", params={"filter": 'type eq "BUILT_IN"'})).json()
    assert [g["profile"]["name"] for g in built_in] == ["Everyone"]
    named = (
        await api.get("/api/v1/groups", params={"search": 'profile.name eq "okta admins"', "expand": "stats"})
    ).json()
    assert len(named) == 1 and named[0]["_embedded"]["stats"]["usersCount"] == 1
    assert (await api.get("/api/v1/groups", params={"filter": 'profile.name eq "x"'})).json()["errorCode"] == "E0000031"

    engineering = okta_org.get_group("Engineering")
    seen: list[str] = []
    url: str | None = f"/api/v1/groups/{engineering.id}/users?limit=4"
    for _ in range(10):  # bounded: Engineering has a dozen members
        if url is None:
            break
        page = await api.get(url)
        seen += [u["id"] for u in page.json()]
        url = page.links.get("next", {}).get("url")
    assert sorted(seen) == sorted(engineering.member_ids) and len(seen) == len(set(seen))
    admins = await api.get(f"/api/v1/groups/{okta_org.get_group('Okta Admins').id}/users", params={"limit": "1"})
    assert len(admins.json()) == 1 and "next" not in admins.links, "an exactly full last page links no further"


async def test_factors_list_and_enroll(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    lee = okta_org.get_user("lee.locked@acme.example")
    factors = (await api.get(f"/api/v1/users/{lee.id}/factors")).json()
    assert [f["factorType"] for f in factors] == ["push"] and factors[0]["id"].startswith("opf")
    enrolled = await api.post(
        f"/api/v1/users/{lee.id}/factors",
        params={"activate": "true"},
        json={"factorType": "sms", "provider": "OKTA", "profile": {"phoneNumber": "+14155550100"}},
    )
    assert enrolled.status_code == 200 and enrolled.json()["status"] == "ACTIVE"
    again = await api.post(f"/api/v1/users/{lee.id}/factors", json={"factorType": "sms", "provider": "OKTA"})
    assert again.status_code == 400
    reset = await api.post(f"/api/v1/users/{lee.id}/lifecycle/reset_factors")
    assert reset.status_code == 200 and (await api.get(f"/api/v1/users/{lee.id}/factors")).json() == []
    deactivations = [e for e in okta_org.log_events if e["eventType"] == "user.mfa.factor.deactivate"]
    assert len(deactivations) == 2


async def _verify_push(api: httpx.AsyncClient, org: OktaOrg, login: str) -> tuple[httpx.Response, str]:
    user = org.get_user(login)
    push = next(f for f in user.factors if f.factor_type == "push")
    started = await api.post(f"/api/v1/users/{user.id}/factors/{push.id}/verify")
    return started, started.json()["_links"]["poll"]["href"]


async def test_push_verify_waits_for_the_answer(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    for answer in ("SUCCESS", "REJECTED", "TIMEOUT"):
        started, poll = await _verify_push(api, okta_org, "erin.employee@acme.example")
        assert started.status_code == 201 and started.json()["factorResult"] == "WAITING"
        assert started.json()["expiresAt"] > okta_org.log_events[-1]["published"]
        for _ in range(3):  # unanswered, it stays WAITING however often it is polled
            assert (await api.get(poll)).json()["factorResult"] == "WAITING"
        okta_org.answer_push(poll.rsplit("/", 1)[1], answer)
        final = (await api.get(poll)).json()
        assert final["factorResult"] == answer
        assert ("_links" in final) == (answer != "SUCCESS"), "finished pushes link back to verify, except on success"
    events = [e for e in okta_org.log_events if e["eventType"].startswith("user.")]
    assert [(e["eventType"], e["outcome"]["result"]) for e in events] == [
        ("user.authentication.auth_via_mfa", "SUCCESS"),
        ("user.authentication.auth_via_mfa", "FAILURE"),  # the rejection, as a hook can receive it
        ("user.mfa.okta_verify.deny_push", "FAILURE"),
    ]
    denied = events[1]["debugContext"]["debugData"]
    assert denied["PushOnlyResponseType"] == "OV_RESPONSE_DENY" and events[1]["outcome"]["reason"] == "INVALID_CREDENTIALS"
    assert denied["requestId"] == events[2]["debugContext"]["debugData"]["requestId"], "one answer, one transaction"


async def test_push_answered_by_user_or_in_advance_and_timing_out(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    _, poll = await _verify_push(api, okta_org, "lee.locked@acme.example")
    okta_org.answer_push("lee.locked@acme.example", "SUCCESS")
    assert (await api.get(poll)).json()["factorResult"] == "SUCCESS"

    okta_org.answer_push(okta_org.get_user("erin.employee").id, "REJECTED")  # nothing waiting: the next push
    started, poll = await _verify_push(api, okta_org, "erin.employee@acme.example")
    assert started.json()["factorResult"] == "WAITING"
    assert (await api.get(poll)).json()["factorResult"] == "REJECTED"

    _, poll = await _verify_push(api, okta_org, "erin.employee@acme.example")
    okta_org.advance_time(301)  # Okta gives up on a push after five minutes
    assert (await api.get(poll)).json()["factorResult"] == "TIMEOUT"
    assert (await api.get(poll.replace("v2mst.", "v2mst.x"))).status_code == 404
    with pytest.raises(ValueError):
        okta_org.answer_push("erin.employee", "MAYBE")


async def test_number_matching_and_passcode_factors(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    erin = okta_org.get_user("erin.employee@acme.example")
    push = erin.factors[0]
    matched = await api.post(
        f"/api/v1/users/{erin.id}/factors/{push.id}/verify", json={"useNumberMatchingChallenge": True}
    )
    assert 1 <= matched.json()["_embedded"]["challenge"]["correctAnswer"] <= 99

    sms = okta_org.enroll_factor(erin, "sms")
    challenge = await api.post(f"/api/v1/users/{erin.id}/factors/{sms.id}/verify")
    assert challenge.status_code == 200 and challenge.json()["factorResult"] == "CHALLENGE"
    wrong = await api.post(f"/api/v1/users/{erin.id}/factors/{sms.id}/verify", json={"passCode": "000000"})
    assert wrong.status_code == 403 and wrong.json()["errorCode"] == "E0000068"
    right = await api.post(
        f"/api/v1/users/{erin.id}/factors/{sms.id}/verify", json={"passCode": okta_org.valid_passcode}
    )
    assert right.json() == {"factorResult": "SUCCESS"}
    missing = await api.post(f"/api/v1/users/{erin.id}/factors/ostnosuchfactor00000/verify")
    assert missing.status_code == 404 and missing.json()["errorSummary"].endswith("(UserFactor)")


async def test_revoke_sessions(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    erin = okta_org.get_user("erin.employee@acme.example")
    okta_org.sign_in(erin)
    assert erin.sessions == 2
    response = await api.delete(f"/api/v1/users/{erin.id}/sessions", params={"oauthTokens": "true"})
    assert response.status_code == 204 and response.content == b"" and erin.sessions == 0
    assert okta_org.log_events[-1]["eventType"] == "user.session.clear"
    assert okta_org.log_events[-1]["target"][0]["alternateId"] == "erin.employee@acme.example"
