"""Rules of Okta's users API the simulator must keep as strictly as Okta: which status may be activated,
what user creation refuses (and that a refused creation creates nothing), what `q` matches, the
asynchronous transitions that show transitioningToStatus, and the profile's attribute lengths.
"""

from __future__ import annotations

from typing import Any

import httpx

from oktasim import OktaOrg

PROFILE = {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@acme.example", "login": "ada@acme.example"}
PASSWORD = {"password": {"value": "Sup3r-secret!"}}


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert (body["errorCode"], body["errorLink"]) == (code, code) and body["errorId"]
    return body


def _causes(body: dict[str, Any]) -> list[str]:
    return [cause["errorSummary"] for cause in body["errorCauses"]]


async def test_a_provisioned_user_is_reactivated_not_activated(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    pending = okta_org.add_user("pending@acme.example", "Pen", "Ding", status="PROVISIONED", password=False)
    events = len(okta_org.log_events)
    refused = await api.post(f"/api/v1/users/{pending.id}/lifecycle/activate", params={"sendEmail": "false"})
    _error(refused, 403, "E0000016")
    assert pending.status == "PROVISIONED" and len(okta_org.log_events) == events
    links = (await api.get(f"/api/v1/users/{pending.id}")).json()["_links"]
    assert "reactivate" in links and "activate" not in links
    reactivated = await api.post(f"/api/v1/users/{pending.id}/lifecycle/reactivate", params={"sendEmail": "false"})
    assert reactivated.status_code == 200 and "activationUrl" in reactivated.json()


async def test_an_expired_password_at_creation_needs_a_password_and_activation(
    okta_org: OktaOrg, api: httpx.AsyncClient
) -> None:
    users = len(okta_org.directory.users)
    no_password = await api.post("/api/v1/users", params={"nextLogin": "changePassword"}, json={"profile": PROFILE})
    body = _error(no_password, 400, "E0000124")
    assert _causes(body) == [body["errorSummary"]] and "a password must be specified" in body["errorSummary"]
    not_activated = await api.post(
        "/api/v1/users",
        params={"nextLogin": "changePassword", "activate": "false"},
        json={"profile": PROFILE, "credentials": PASSWORD},
    )
    assert "`activate` must be true" in _error(not_activated, 400, "E0000125")["errorSummary"]
    unknown = await api.post("/api/v1/users", params={"nextLogin": "later"}, json={"profile": PROFILE})
    assert _causes(_error(unknown, 400, "E0000001")) == ["nextLogin: must be changePassword"]
    assert len(okta_org.directory.users) == users, "nothing was created"

    created = await api.post(
        "/api/v1/users", params={"nextLogin": "changePassword"}, json={"profile": PROFILE, "credentials": PASSWORD}
    )
    assert created.status_code == 200 and created.json()["status"] == "PASSWORD_EXPIRED"


async def test_group_ids_are_all_checked_before_the_user_is_created(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    engineering, everyone = okta_org.get_group("Engineering"), okta_org.get_group("Everyone")
    members, users, events = set(engineering.member_ids), len(okta_org.directory.users), len(okta_org.log_events)
    for group_ids, cause in (
        ([engineering.id, everyone.id], f"groupIds: Cannot add users to group {everyone.id} of type BUILT_IN"),
        ([engineering.id, "00gnosuchgroup000000"], "groupIds: Group with id 00gnosuchgroup000000 was not found"),
    ):
        body = {"profile": PROFILE, "credentials": PASSWORD, "groupIds": group_ids}
        refused = await api.post("/api/v1/users", json=body)
        error = _error(refused, 400, "E0000001")
        assert error["errorSummary"] == "Api validation failed: groupIds" and _causes(error) == [cause]
    assert len(okta_org.directory.users) == users and okta_org.directory.login_owner(PROFILE["login"]) is None
    assert engineering.member_ids == members and len(okta_org.log_events) == events, "no user, membership or event"

    created = await api.post(
        "/api/v1/users", json={"profile": PROFILE, "credentials": PASSWORD, "groupIds": [engineering.id]}
    )
    assert created.status_code == 200 and created.json()["id"] in engineering.member_ids


async def test_q_matches_first_name_last_name_and_email_not_login(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    okta_org.add_user("jdoe7@acme.example", "Janet", "Quill", email="janet.quill@mail.example")

    async def found(q: str) -> list[str]:
        return [u["profile"]["login"] for u in (await api.get("/api/v1/users", params={"q": q})).json()]

    assert await found("jdoe7") == [], "the login is not searched"
    for q in ("Janet", "quill", "janet.quill@mail"):
        assert await found(q) == ["jdoe7@acme.example"], q
    assert await found("mail.example") == [], "startsWith, not contains"


async def test_activation_and_deactivation_show_transitioning_to_status_until_done(
    okta_org: OktaOrg, api: httpx.AsyncClient
) -> None:
    erin = okta_org.get_user("erin.employee@acme.example")
    idle = (await api.get(f"/api/v1/users/{erin.id}")).json()
    assert "transitioningToStatus" not in idle, "Okta returns the property only during a transition"

    okta_org.transition_seconds = 30
    staged = okta_org.add_user("staged.now@acme.example", "Stay", "Ged", status="STAGED")
    assert (await api.post(f"/api/v1/users/{staged.id}/lifecycle/activate", params={"sendEmail": "false"})).is_success
    assert (await api.post(f"/api/v1/users/{erin.id}/lifecycle/deactivate")).status_code == 200
    activating = (await api.get(f"/api/v1/users/{staged.id}")).json()
    deactivating = (await api.get(f"/api/v1/users/{erin.id}")).json()
    assert (activating["status"], activating["transitioningToStatus"]) == ("STAGED", "ACTIVE")
    assert (deactivating["status"], deactivating["transitioningToStatus"]) == ("ACTIVE", "DEPROVISIONED")
    listed = (await api.get("/api/v1/users", params={"search": f'id eq "{erin.id}"'})).json()
    assert listed[0]["transitioningToStatus"] == "DEPROVISIONED"
    _error(await api.post(f"/api/v1/users/{erin.id}/lifecycle/suspend"), 403, "E0000038")
    assert erin.status == "ACTIVE", "an operation during the transition is refused"

    okta_org.advance_time(30)
    done = (await api.get(f"/api/v1/users/{erin.id}")).json()
    assert done["status"] == "DEPROVISIONED" and "transitioningToStatus" not in done
    activated = (await api.get(f"/api/v1/users/{staged.id}")).json()
    assert activated["status"] == "ACTIVE" and activated["activated"] is not None
    assert "transitioningToStatus" not in activated


async def test_profile_attribute_lengths(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    too_long = {**PROFILE, "firstName": "A" * 51, "lastName": "L" * 51, "city": "C" * 129, "countryCode": "USA"}
    refused = await api.post("/api/v1/users", json={"profile": too_long})
    body = _error(refused, 400, "E0000001")
    assert body["errorSummary"] == "Api validation failed: firstName"
    assert _causes(body) == [
        "firstName: The field cannot exceed 50 characters",
        "lastName: The field cannot exceed 50 characters",
        "city: The field cannot exceed 128 characters",
        "countryCode: The field cannot exceed 2 characters",
    ]
    long_login = "l" * 89 + "@acme.example"  # 102 characters
    refused = await api.post("/api/v1/users", json={"profile": {**PROFILE, "login": long_login, "email": long_login}})
    assert _causes(_error(refused, 400, "E0000001")) == [
        "login: The field cannot exceed 100 characters",
        "email: The field cannot exceed 100 characters",
    ]
    assert okta_org.directory.login_owner(long_login) is None

    at_the_limit = {**PROFILE, "firstName": "A" * 50, "lastName": "L" * 50, "zipCode": "9" * 50}
    assert (await api.post("/api/v1/users", json={"profile": at_the_limit})).status_code == 200
    erin = okta_org.get_user("erin.employee@acme.example")
    update = await api.post(f"/api/v1/users/{erin.id}", json={"profile": {"mobilePhone": "+1" * 51}})
    assert _causes(_error(update, 400, "E0000001")) == ["mobilePhone: The field cannot exceed 100 characters"]
    assert erin.profile.get("mobilePhone") != "+1" * 51, "a refused update changes nothing"
