"""The simulator's rate limits as Okta documents them: buckets per endpoint family with their default
limits, the org-wide cumulative limit, and the concurrency limit, all reported in X-Rate-Limit-* headers.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
import pytest

from oktaclient._ratelimit import bucket_for as client_bucket_for
from oktasim import OktaOrg
from oktasim._ratelimit import bucket_for

ERIN = "erin.employee@acme.example"
EVERYONE = "00g0000000000everyone"  # not a real id: only the path's shape matters for the bucket

# (method, path, Okta's bucket, its documented Workforce Identity limit per minute)
BUCKETS = [
    ("GET", "/api/v1/users", "GET|POST /api/v1/users", 600),
    ("POST", "/api/v1/users", "GET|POST /api/v1/users", 600),
    ("GET", f"/api/v1/users/{ERIN}", "GET /api/v1/users/{idOrLogin}", 2_000),
    ("POST", "/api/v1/users/00u1", "POST|PUT|DELETE /api/v1/users/{id}", 600),
    ("PUT", "/api/v1/users/00u1", "POST|PUT|DELETE /api/v1/users/{id}", 600),
    ("DELETE", "/api/v1/users/00u1", "POST|PUT|DELETE /api/v1/users/{id}", 600),
    ("POST", "/api/v1/users/00u1/lifecycle/suspend", "/api/v1", 1_200),
    ("GET", "/api/v1/users/00u1/groups", "/api/v1", 1_200),
    ("GET", "/api/v1/users/00u1/factors", "/api/v1", 1_200),
    ("DELETE", "/api/v1/users/00u1/sessions", "/api/v1", 1_200),
    ("GET", "/api/v1/groups", "/api/v1/groups", 500),
    ("POST", "/api/v1/groups", "/api/v1/groups", 500),
    ("GET", f"/api/v1/groups/{EVERYONE}", "/api/v1/groups/{id}", 1_000),
    ("GET", f"/api/v1/groups/{EVERYONE}/users", "/api/v1/groups", 500),
    ("PUT", f"/api/v1/groups/{EVERYONE}/users/00u1", "/api/v1/groups", 500),
    ("GET", "/api/v1/logs", "/api/v1/logs", 120),
    ("GET", "/api/v1/apps", "/api/v1/apps", 100),
    ("GET", "/api/v1/apps/0oa1/users", "/api/v1/apps", 100),
    ("GET", "/api/v1/apps/0oa1", "/api/v1/apps/{id}", 500),
    ("GET", "/api/v1/eventHooks", "/api/v1", 1_200),
    ("POST", "/oauth2/v1/token", "/oauth2/v1", 2_000),
]


async def test_each_endpoint_family_has_its_documented_bucket_and_limit(api: httpx.AsyncClient) -> None:
    counted: Counter[str] = Counter()
    for method, path, bucket, limit in BUCKETS:
        assert bucket_for(method, path) == bucket, (method, path)
        response = await api.request(method, path)
        counted[bucket] += 1
        assert response.headers["x-rate-limit-limit"] == str(limit), (method, path, response.text)
        assert response.headers["x-rate-limit-remaining"] == str(limit - counted[bucket]), (method, path)


def test_the_client_paces_by_the_same_buckets() -> None:
    """The Okta client guesses the bucket of a response from its request; it must guess as the org counts."""
    for method, path, bucket, _ in BUCKETS:
        if not path.startswith(("/oauth2/", "/api/v1/apps")):  # the client names the token path; it never calls apps
            assert client_bucket_for(method, path) == bucket, (method, path)


async def test_the_system_log_allows_120_a_minute(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    answers = [await api.get("/api/v1/logs", params={"limit": "1"}) for _ in range(121)]
    assert [r.status_code for r in answers] == [200] * 120 + [429]
    refused = answers[-1]
    assert refused.headers["x-rate-limit-limit"] == "120" and refused.headers["x-rate-limit-remaining"] == "0"
    body = refused.json()
    assert set(body) == {"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}
    assert (body["errorCode"], body["errorLink"], body["errorCauses"]) == ("E0000047", "E0000047", [])
    assert body["errorSummary"] == "API call exceeded rate limit due to too many requests."
    reset = int(refused.headers["x-rate-limit-reset"])
    assert reset == int(answers[0].headers["x-rate-limit-reset"]), "one fixed window"
    assert (await api.get("/api/v1/users/erin.employee")).status_code == 200, "other buckets are unaffected"
    okta_org.advance_time(reset - okta_org.clock.time())
    again = await api.get("/api/v1/logs", params={"limit": "1"})
    assert again.status_code == 200 and again.headers["x-rate-limit-remaining"] == "119"


async def test_the_cumulative_limit_counts_every_management_request(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    okta_org.set_rate_limit(3, bucket="cumulative")
    answers = [
        await api.get("/api/v1/users/erin.employee"),
        await api.get("/api/v1/groups"),
        await api.get("/api/v1/logs"),
        await api.get("/api/v1/users/erin.employee"),
    ]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert answers[0].headers["x-rate-limit-limit"] == "2000", "a request reports its own bucket..."
    assert answers[3].headers["x-rate-limit-limit"] == "3", "...unless the cumulative limit refused it"
    assert answers[3].headers["x-rate-limit-remaining"] == "0"
    assert answers[3].json()["errorCode"] == "E0000047"
    token = await api.post("/oauth2/v1/token", data={"grant_type": "client_credentials"})
    assert token.status_code == 401, "the token endpoint is an authentication endpoint, outside the cumulative limit"


async def test_a_limit_for_every_bucket_includes_the_cumulative_one(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    okta_org.set_rate_limit(2)
    answers = [await api.get("/api/v1/users/erin.employee"), await api.get("/api/v1/groups")]
    assert [r.headers["x-rate-limit-limit"] for r in answers] == ["2", "2"]
    refused = await api.get("/api/v1/logs")
    assert refused.status_code == 429, "its own bucket had room; the cumulative limit had not"
    okta_org.set_rate_limit(100_000)  # e.g. a benchmark's load, beyond Okta's limits
    assert (await api.get("/api/v1/logs")).headers["x-rate-limit-limit"] == "100000"


def test_buckets_are_named_as_okta_names_them(okta_org: OktaOrg) -> None:
    with pytest.raises(ValueError, match="GET /api/v1/users/{idOrLogin}"):
        okta_org.set_rate_limit(10, bucket="GET /api/v1/users/{id}")


async def test_beyond_75_requests_in_flight_the_org_answers_429(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    okta_org.inject_delay("GET", "/api/v1/users/", seconds=60, times=75)  # held in flight until cancelled
    held = [asyncio.create_task(api.get("/api/v1/users/erin.employee", timeout=60)) for _ in range(75)]
    await asyncio.wait_for(okta_org.until_in_flight(75), timeout=10)
    crowded = await api.get("/api/v1/groups")
    assert crowded.status_code == 429 and crowded.json()["errorCode"] == "E0000047"
    # Okta's headers report the concurrency figures for such a 429; the Reset is an estimate.
    assert (crowded.headers["x-rate-limit-limit"], crowded.headers["x-rate-limit-remaining"]) == ("75", "0")
    assert int(crowded.headers["x-rate-limit-reset"]) >= time.time()
    for task in held:
        task.cancel()
    await asyncio.gather(*held, return_exceptions=True)
    await asyncio.wait_for(okta_org.until_in_flight(0), timeout=10)
    admitted = await api.get("/api/v1/groups")
    assert admitted.status_code == 200
    assert admitted.headers["x-rate-limit-remaining"] == "499", "the refused request was not counted in the bucket"
    assert okta_org.peak_in_flight == 75


async def test_the_concurrency_limit_can_be_lowered(okta_org: OktaOrg, api: httpx.AsyncClient) -> None:
    okta_org.set_concurrency_limit(1)
    okta_org.inject_delay("POST", "/api/v1/users/", seconds=60)
    erin = okta_org.get_user(ERIN)
    held = asyncio.create_task(api.post(f"/api/v1/users/{erin.id}/lifecycle/suspend", timeout=60))
    await asyncio.wait_for(okta_org.until_in_flight(1), timeout=10)
    assert (await api.get("/api/v1/users/erin.employee")).status_code == 429
    held.cancel()
    await asyncio.gather(held, return_exceptions=True)
    await asyncio.wait_for(okta_org.until_in_flight(0), timeout=10)
    assert (await api.get("/api/v1/users/erin.employee")).status_code == 200
    assert erin.status == "SUSPENDED", "the held request was carried out; only its answer was late"
