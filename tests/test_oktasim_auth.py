"""Who may call the simulator and how it refuses: tokens, scopes, OAuth client credentials, rate limits, faults."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.server import BackgroundServer
from oktasim import OktaOrg
from tests.conftest import SIM_API_TOKEN

CLIENT_ID = "0oachatopsbot0000000"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

@pytest.fixture(scope="module")
def keys() -> tuple[rsa.RSAPrivateKey, str, rsa.RSAPrivateKey]:
    """(private key, its public key as PEM, another private key): generated once per module because it is slow;
    signing keys stay key objects, since loading a PEM private key re-checks it, which is slow too."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key, public.decode(), rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def oauth_org(okta_org: OktaOrg, keys: tuple[rsa.RSAPrivateKey, str, rsa.RSAPrivateKey]) -> OktaOrg:
    okta_org.register_oauth_client(
        CLIENT_ID, keys[1], scopes={"okta.users.read", "okta.users.manage", "okta.logs.read"}
    )
    return okta_org


@pytest.fixture
async def anonymous(okta_sim: BackgroundServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=okta_sim.url) as client:
        yield client


def _assertion(private_key: rsa.RSAPrivateKey, audience: str, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": CLIENT_ID,
        "sub": CLIENT_ID,
        "aud": audience,
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, private_key, algorithm="RS256")


async def _token(client: httpx.AsyncClient, assertion: str, scope: str = "okta.users.read") -> httpx.Response:
    form = {
        "grant_type": "client_credentials",
        "scope": scope,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    return await client.post("/oauth2/v1/token", data=form)


async def test_every_response_carries_request_id_and_rate_limit_headers(anonymous: httpx.AsyncClient) -> None:
    ok = await anonymous.get("/api/v1/users/erin.employee", headers={"Authorization": f"SSWS {SIM_API_TOKEN}"})
    assert ok.status_code == 200
    refused = await anonymous.get("/api/v1/users")
    for response in (ok, refused, await anonymous.get("/nowhere")):
        assert response.headers["x-okta-request-id"]
        assert int(response.headers["x-rate-limit-limit"]) >= int(response.headers["x-rate-limit-remaining"]) >= 0
        assert int(response.headers["x-rate-limit-reset"]) > time.time() - 1
    assert ok.headers["x-okta-request-id"] != refused.headers["x-okta-request-id"]


async def test_missing_or_bad_credentials_get_401(anonymous: httpx.AsyncClient) -> None:
    for authorization in (None, "SSWS wrong-token", "Bearer not-a-token", f"Basic {SIM_API_TOKEN}", "SSWS"):
        headers = {"Authorization": authorization} if authorization else {}
        response = await anonymous.get("/api/v1/users", headers=headers)
        assert response.status_code == 401, authorization
        assert (
            response.json()["errorCode"] == "E0000011" and response.json()["errorSummary"] == "Invalid token provided"
        )


async def test_restricted_api_token_gets_403(okta_org: OktaOrg, anonymous: httpx.AsyncClient) -> None:
    okta_org.add_api_token("read-only", scopes={"okta.users.read"})
    headers = {"Authorization": "SSWS read-only"}
    assert (await anonymous.get("/api/v1/users", headers=headers)).status_code == 200
    erin = okta_org.get_user("erin.employee@acme.example")
    refused = await anonymous.post(f"/api/v1/users/{erin.id}/lifecycle/suspend", headers=headers)
    assert refused.status_code == 403 and refused.json()["errorCode"] == "E0000006"
    assert refused.json()["errorSummary"] == "You do not have permission to perform the requested action"
    assert erin.status == "ACTIVE"
    assert (await anonymous.get("/api/v1/logs", headers=headers)).status_code == 403


async def test_client_credentials_token_and_its_use(
    oauth_org: OktaOrg, keys: tuple, anonymous: httpx.AsyncClient
) -> None:
    audience = f"{anonymous.base_url}/oauth2/v1/token"
    granted = await _token(anonymous, _assertion(keys[0], audience), scope="okta.users.manage okta.logs.read")
    assert granted.status_code == 200, granted.text
    body = granted.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["scope"] == "okta.users.manage okta.logs.read" and granted.headers["cache-control"] == "no-store"
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert (await anonymous.get("/api/v1/users", headers=bearer)).status_code == 200, "manage includes read"
    erin = oauth_org.get_user("erin.employee@acme.example")
    assert (await anonymous.post(f"/api/v1/users/{erin.id}/lifecycle/suspend", headers=bearer)).status_code == 200
    assert oauth_org.log_events[-1]["actor"]["id"] == CLIENT_ID
    denied = await anonymous.get("/api/v1/groups", headers=bearer)
    assert denied.status_code == 403 and 'error="insufficient_scope"' in denied.headers["www-authenticate"]
    assert [r.error for r in oauth_org.token_requests] == [None]


async def test_access_tokens_expire(oauth_org: OktaOrg, keys: tuple, anonymous: httpx.AsyncClient) -> None:
    oauth_org.access_token_ttl = 60
    audience = f"{anonymous.base_url}/oauth2/v1/token"
    token = (await _token(anonymous, _assertion(keys[0], audience))).json()
    assert token["expires_in"] == 60
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert (await anonymous.get("/api/v1/users", headers=bearer)).status_code == 200
    oauth_org.advance_time(61)
    expired = await anonymous.get("/api/v1/users", headers=bearer)
    assert expired.status_code == 401 and expired.json()["errorCode"] == "E0000011"
    assert 'error="invalid_token"' in expired.headers["www-authenticate"]
    refreshed = await _token(
        anonymous, _assertion(keys[0], audience, iat=int(time.time()) + 61, exp=int(time.time()) + 300)
    )
    assert refreshed.status_code == 200 and len(oauth_org.token_requests) == 2


async def test_token_requests_refused(oauth_org: OktaOrg, keys: tuple, anonymous: httpx.AsyncClient) -> None:
    audience = f"{anonymous.base_url}/oauth2/v1/token"
    now = int(time.time())
    read = "okta.users.read"
    cases = [  # (case, assertion, scope, status, error, description)
        (
            "wrong key",
            _assertion(keys[2], audience),
            read,
            401,
            "invalid_client",
            "The client_assertion signature is invalid.",
        ),
        (
            "wrong audience",
            _assertion(keys[0], "https://acme.okta.com/oauth2/v1/token"),
            read,
            401,
            "invalid_client",
            "The audience claim for client_assertion must be the endpoint invoked for the request.",
        ),
        (
            "expired",
            _assertion(keys[0], audience, iat=now - 600, exp=now - 10),
            read,
            401,
            "invalid_client",
            "The client_assertion token is expired.",
        ),
        (
            "too far ahead",
            _assertion(keys[0], audience, exp=now + 7200),
            read,
            401,
            "invalid_client",
            "The client_assertion token has an expiration too far into the future.",
        ),
        (
            "no exp",
            _assertion(keys[0], audience, exp=None),
            read,
            401,
            "invalid_client",
            "The client_assertion must contain the 'exp' claim as seconds since epoch.",
        ),
        (
            "sub differs",
            _assertion(keys[0], audience, sub="someone-else"),
            read,
            401,
            "invalid_client",
            "The subject claim for client_assertion is not a valid client_id.",
        ),
        (
            "unknown client",
            _assertion(keys[0], audience, iss="0oaunknown", sub="0oaunknown"),
            read,
            401,
            "invalid_client",
            "The issuer claim for client_assertion is not a valid client_id.",
        ),
        ("garbage", "not.a.jwt", read, 401, "invalid_client", "The parsing of the client_assertion failed."),
        (
            "scope not granted",
            _assertion(keys[0], audience),
            f"{read} okta.groups.manage",
            400,
            "invalid_scope",
            "The following scopes are not allowed for this request: [okta.groups.manage].",
        ),
        (
            "no scope",
            _assertion(keys[0], audience),
            "",
            400,
            "invalid_scope",
            "The authorization server resource does not have any configured default scopes, 'scope' must be provided.",
        ),
    ]
    for case, assertion, scope, status, error, description in cases:
        response = await _token(anonymous, assertion, scope)
        assert (response.status_code, response.json()) == (
            status,
            {"error": error, "error_description": description},
        ), case
    assert [r.error for r in oauth_org.token_requests] == [c[4] for c in cases]


async def test_replayed_assertion_and_bad_grant(oauth_org: OktaOrg, keys: tuple, anonymous: httpx.AsyncClient) -> None:
    assertion = _assertion(keys[0], f"{anonymous.base_url}/oauth2/v1/token")
    assert (await _token(anonymous, assertion)).status_code == 200
    replayed = await _token(anonymous, assertion)
    assert replayed.status_code == 401
    assert replayed.json()["error_description"] == "The client_assertion token has already been used."
    password_grant = await anonymous.post("/oauth2/v1/token", data={"grant_type": "password"})
    assert password_grant.status_code == 400 and password_grant.json()["error"] == "unsupported_grant_type"
    no_assertion = await anonymous.post("/oauth2/v1/token", data={"grant_type": "client_credentials", "scope": "x"})
    assert no_assertion.status_code == 401 and no_assertion.json()["error"] == "invalid_client"


async def test_rate_limit_window(okta_org: OktaOrg, anonymous: httpx.AsyncClient) -> None:
    okta_org.set_rate_limit(limit=3, window_seconds=1, bucket="GET /api/v1/users/{idOrLogin}")
    headers = {"Authorization": f"SSWS {SIM_API_TOKEN}"}
    answers = [await anonymous.get("/api/v1/users/erin.employee", headers=headers) for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [r.headers["x-rate-limit-remaining"] for r in answers] == ["2", "1", "0", "0"]
    assert answers[3].json()["errorCode"] == "E0000047"
    assert answers[3].json()["errorSummary"] == "API call exceeded rate limit due to too many requests."
    other_bucket = await anonymous.get("/api/v1/groups", headers=headers)
    assert other_bucket.status_code == 200, "each method + path family has its own bucket"
    okta_org.advance_time(1.01)
    assert (await anonymous.get("/api/v1/users/erin.employee", headers=headers)).status_code == 200

    okta_org.set_rate_limit(limit=1, window_seconds=60, bucket="/api/v1")  # lifecycle operations count here
    erin = okta_org.get_user("erin.employee@acme.example")
    assert (await anonymous.post(f"/api/v1/users/{erin.id}/lifecycle/suspend", headers=headers)).status_code == 200
    limited = await anonymous.post(f"/api/v1/users/{erin.id}/lifecycle/unsuspend", headers=headers)
    assert limited.status_code == 429 and erin.status == "SUSPENDED"
    assert int(limited.headers["x-rate-limit-reset"]) >= int(okta_org.clock.time()) + 59


async def test_injected_failures_and_recorded_requests(okta_org: OktaOrg, anonymous: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"SSWS {SIM_API_TOKEN}"}
    erin = okta_org.get_user("erin.employee@acme.example")
    okta_org.inject_failure("POST", f"/api/v1/users/{erin.id}/lifecycle", status=503, times=2)
    suspend = f"/api/v1/users/{erin.id}/lifecycle/suspend"
    failed = [await anonymous.post(suspend, headers=headers) for _ in range(2)]
    assert [r.status_code for r in failed] == [503, 503] and failed[0].json()["errorCode"] == "E0000010"
    assert erin.status == "ACTIVE", "a failed request changes nothing"
    assert (await anonymous.post(suspend, headers=headers)).status_code == 200
    okta_org.inject_failure("GET", "/api/v1/users")
    assert (await anonymous.get("/api/v1/users", headers=headers)).json()["errorCode"] == "E0000009"
    calls = [(m, p) for m, p, _ in okta_org.requests]
    assert calls.count(("POST", suspend)) == 3 and calls[-1] == ("GET", "/api/v1/users")


async def test_injected_delay_answers_late_after_doing_the_work(
    okta_org: OktaOrg, anonymous: httpx.AsyncClient
) -> None:
    headers = {"Authorization": f"SSWS {SIM_API_TOKEN}"}
    erin = okta_org.get_user("erin.employee@acme.example")
    okta_org.inject_delay("POST", "/api/v1/users/", seconds=30)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        await anonymous.post(f"/api/v1/users/{erin.id}/lifecycle/suspend", headers=headers, timeout=0.3)
    assert time.monotonic() - started < 5
    assert erin.status == "SUSPENDED", "Okta did the work; only the answer was late"
    quick = await anonymous.post(f"/api/v1/users/{erin.id}/lifecycle/unsuspend", headers=headers, timeout=5)
    assert quick.status_code == 200, "the delay applied once"
