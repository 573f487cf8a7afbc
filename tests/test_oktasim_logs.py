"""The System Log: LogEvents in Okta's shape, polling with a cursor, bounded queries, filter and q."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from oktasim import OktaOrg


def _ago(org: OktaOrg, minutes: int) -> str:
    return (org.clock.now() - timedelta(minutes=minutes)).isoformat()


async def test_an_api_change_writes_an_okta_shaped_event(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    erin = okta_org.get_user("erin.employee@acme.example")
    suspended = await api.post(f"/api/v1/users/{erin.id}/lifecycle/suspend", headers={"User-Agent": "chatops/1.0"})
    [event] = (await api.get("/api/v1/logs", params={"since": _ago(okta_org, 5)})).json()
    assert event["eventType"] == "user.lifecycle.suspend" and event["version"] == "0"
    assert event["severity"] == "INFO" and event["displayMessage"] == "Suspend Okta user"
    assert event["outcome"] == {"result": "SUCCESS"}
    published = datetime.strptime(event["published"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs((published - okta_org.clock.now()).total_seconds()) < 5
    assert event["target"] == [
        {"id": erin.id, "type": "User", "alternateId": erin.login, "displayName": "Erin Employee"}
    ]
    assert event["actor"]["type"] == "User" and event["actor"]["alternateId"]
    assert event["client"]["ipAddress"] == "127.0.0.1" and event["client"]["userAgent"]["rawUserAgent"] == "chatops/1.0"
    assert set(event["client"]["geographicalContext"]) == {"city", "state", "country", "postalCode", "geolocation"}
    assert event["transaction"]["id"] == suspended.headers["x-okta-request-id"], "ties the event to the API call"
    assert event["debugContext"]["debugData"]["requestUri"] == f"/api/v1/users/{erin.id}/lifecycle/suspend"
    assert len(event["uuid"]) == 36


async def test_polling_resumes_from_the_cursor(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    for login in ("erin.employee", "alex.kim", "alex.garcia"):
        okta_org.sign_in(login)
    first = await api.get("/api/v1/logs", params={"since": _ago(okta_org, 5), "limit": "2"})
    seen = [e["uuid"] for e in first.json()]
    next_url = first.links["next"]["url"]
    for _ in range(5):  # bounded: three events, two per page, then an empty page that still links on
        page = await api.get(next_url)
        seen += [e["uuid"] for e in page.json()]
        assert "next" in page.links, "a polling response always carries next"
        next_url = page.links["next"]["url"]
        if not page.json():
            break
    assert seen == [e["uuid"] for e in okta_org.log_events]
    okta_org.lock_out("sam.security@acme.example", failures=2)
    resumed = await api.get(next_url)
    assert [e["eventType"] for e in resumed.json()] == ["user.session.start"] * 2, "the link keeps limit=2"
    rest = await api.get(resumed.links["next"]["url"])
    assert [e["eventType"] for e in rest.json()] == ["user.account.lock"]
    assert (await api.get(rest.links["next"]["url"])).json() == []


async def test_bounded_and_descending_queries(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    okta_org.fail_sign_ins("erin.employee@acme.example", 3)
    okta_org.advance_time(120)
    okta_org.sign_in("erin.employee@acme.example")
    until = okta_org.clock.now().isoformat()
    okta_org.sign_in("alex.kim@acme.example")  # after `until`: outside the bounded window
    params = {"since": _ago(okta_org, 10), "until": until, "limit": "3"}
    first = await api.get("/api/v1/logs", params=params)
    second = await api.get(first.links["next"]["url"])
    events = first.json() + second.json()
    assert len(events) == 4 and "next" not in second.links, "a bounded query ends"
    assert [e["published"] for e in events] == sorted(e["published"] for e in events)
    newest_first = (await api.get("/api/v1/logs", params={**params, "sortOrder": "DESCENDING", "limit": "10"})).json()
    assert [e["uuid"] for e in newest_first] == [e["uuid"] for e in reversed(events)]
    window = await api.get("/api/v1/logs", params={"since": _ago(okta_org, 1)})
    assert [e["actor"]["alternateId"] for e in window.json()] == ["erin.employee@acme.example", "alex.kim@acme.example"]


async def test_filter_and_keyword_search(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    okta_org.fail_sign_ins("ghost@acme.example", 2, ip="198.51.100.7")
    okta_org.lock_out("alex.kim@acme.example", failures=3)
    okta_org.record_event(
        "security.threat.detected",
        outcome="DENY",
        severity="WARN",
        ip="198.51.100.7",
        message="Request from suspicious actor",
    )
    since = _ago(okta_org, 5)

    async def query(**params: str) -> list[dict]:
        return (await api.get("/api/v1/logs", params={"since": since, **params})).json()

    failures = await query(filter='eventType eq "user.session.start" and outcome.result eq "FAILURE"')
    assert len(failures) == 5 and {e["outcome"]["reason"] for e in failures} == {
        "VERIFICATION_ERROR",
        "INVALID_CREDENTIALS",
    }
    alex = okta_org.get_user("alex.kim@acme.example")
    assert [e["eventType"] for e in await query(filter=f'target.id eq "{alex.id}"')] == ["user.account.lock"]
    assert len(await query(filter='client.ipAddress eq "198.51.100.7"')) == 3
    assert len(await query(filter='eventType sw "security."')) == 1
    assert len(await query(q="ghost@acme.example")) == 2
    assert len(await query(q="suspicious actor")) == 1 and await query(q="suspicious nobody") == []


async def test_log_query_errors(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    bad_date = await api.get("/api/v1/logs", params={"until": "yesterday"})
    assert bad_date.status_code == 400 and bad_date.json()["errorCode"] == "E0000001"
    assert bad_date.json()["errorCauses"][0]["errorSummary"].startswith("until: The date format")
    too_old = await api.get("/api/v1/logs", params={"since": (okta_org.clock.now() - timedelta(days=181)).isoformat()})
    assert too_old.json()["errorCode"] == "E0000053"
    bad_filter = await api.get("/api/v1/logs", params={"filter": 'eventType eqq "x"'})
    assert bad_filter.status_code == 400 and bad_filter.json()["errorSummary"].startswith(
        "Invalid filter 'eventType eqq"
    )
    assert (await api.get("/api/v1/logs", params={"filter": 'published gt "2025-01-01"'})).status_code == 400
    assert (await api.get("/api/v1/logs", params={"after": "123_999"})).json()["errorCode"] == "E0000029"
    assert (await api.get("/api/v1/logs", params={"sortOrder": "SIDEWAYS"})).status_code == 400


async def test_scenario_helpers(okta_org: OktaOrg) -> None:
    lee = okta_org.get_user("lee.locked@acme.example")
    with pytest.raises(Exception, match="E0000038"):
        okta_org.lock_out(lee)  # already locked: Okta cannot lock it again
    erin = okta_org.lock_out("erin.employee@acme.example", failures=4, ip="203.0.113.9")
    assert erin.status == "LOCKED_OUT"
    assert [e["eventType"] for e in okta_org.log_events] == ["user.session.start"] * 4 + ["user.account.lock"]
    assert (
        okta_org.log_events[-1]["severity"] == "WARN" and okta_org.log_events[0]["client"]["ipAddress"] == "203.0.113.9"
    )
    events = okta_org.fail_sign_ins("nobody@acme.example", 2)
    assert events[0]["actor"]["alternateId"] == "nobody@acme.example" and events[0]["outcome"]["result"] == "FAILURE"
    grant = okta_org.record_event("user.account.privilege.grant", actor="oscar.admin", targets=[erin])
    assert grant["actor"]["alternateId"] == "oscar.admin@acme.example" and grant["target"][0]["id"] == erin.id
