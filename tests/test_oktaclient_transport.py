"""OktaClient on the wire, against the Okta org simulator: credentials, rate limits, retries, timeouts,
secrets. Requests and responses are observed with httpx's own event hooks on the shared AsyncClient.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from bot.server import BackgroundServer
from oktaclient import (
    ApiTokenAuth,
    OktaAuthError,
    OktaClient,
    OktaForbidden,
    OktaNotFound,
    OktaRateLimited,
    OktaServerError,
    OktaTransportError,
    __version__,
)
from oktaclient.models import UserStatus
from oktasim import OktaOrg

TOKEN = "00transport-test-api-token"
ERIN = "erin.employee@acme.example"
CLIENT_ID = "0oachatopsservice"
SCOPES = ["okta.users.read", "okta.users.manage", "okta.groups.manage"]
TOKEN_PATH = "/oauth2/v1/token"


@dataclass
class Wire:
    """Every request the client sent and every response it got, in order."""

    http: httpx.AsyncClient | None = None
    requests: list[httpx.Request] = field(default_factory=list)
    responses: list[httpx.Response] = field(default_factory=list)

    async def on_request(self, request: httpx.Request) -> None:
        await request.aread()
        self.requests.append(request)

    async def on_response(self, response: httpx.Response) -> None:
        self.responses.append(response)

    def sent(self, method: str, path_prefix: str = "/") -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path.startswith(path_prefix)]

    def statuses(self, method: str | None = None, path_prefix: str = "/api/") -> list[int]:
        return [
            r.status_code
            for r in self.responses
            if (method is None or r.request.method == method) and r.request.url.path.startswith(path_prefix)
        ]


@pytest.fixture
async def wire() -> AsyncIterator[Wire]:
    recorder = Wire()
    hooks = {"request": [recorder.on_request], "response": [recorder.on_response]}
    async with httpx.AsyncClient(event_hooks=hooks) as http:  # type: ignore[arg-type]
        recorder.http = http
        yield recorder


Connect = Callable[..., OktaClient]


@pytest.fixture
def connect(okta_org: OktaOrg, okta_sim: BackgroundServer, wire: Wire) -> Connect:
    """OktaClient(sim, auth, http=wire.http, **options); an SSWS token unless `auth` is given."""
    okta_org.add_api_token(TOKEN)

    def make(auth: httpx.Auth | None = None, **options: Any) -> OktaClient:
        return OktaClient(okta_sim.url, auth or ApiTokenAuth(TOKEN), http=wire.http, **options)

    return make


@pytest.fixture(scope="module")
def rsa_pem() -> tuple[str, str]:
    """(private key PEM, public key PEM) of a fresh RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private, public


@pytest.fixture
def oauth(okta_org: OktaOrg, okta_sim: BackgroundServer, wire: Wire, rsa_pem: tuple[str, str]) -> Connect:
    """An OAuth service app client (private_key_jwt) registered with SCOPES."""
    private, public = rsa_pem
    okta_org.register_oauth_client(CLIENT_ID, public, scopes=SCOPES)

    def make(client_id: str = CLIENT_ID, scopes: list[str] = SCOPES, **options: Any) -> OktaClient:
        return OktaClient.from_private_key(okta_sim.url, client_id, private, scopes=scopes, http=wire.http, **options)

    return make


def _issued(okta_org: OktaOrg) -> int:
    return sum(1 for t in okta_org.token_requests if t.error is None)


# What every request carries


async def test_every_request_identifies_the_client(okta_org: OktaOrg, connect: Connect, wire: Wire) -> None:
    okta = connect()
    user = await okta.get_user(ERIN)
    await okta.suspend_user(user.id)
    assert len(wire.requests) == 2
    for request in wire.requests:
        assert request.headers["User-Agent"] == f"okta-chatops/{__version__}"
        assert request.headers["Accept"] == "application/json"
        assert request.headers["Authorization"] == f"SSWS {TOKEN}"


async def test_ids_and_logins_stay_one_path_segment(connect: Connect, wire: Wire) -> None:
    okta = connect()
    with pytest.raises(OktaNotFound):
        await okta.get_user("x/../../groups?q=a")
    assert wire.requests[-1].url.raw_path == b"/api/v1/users/x%2F..%2F..%2Fgroups%3Fq%3Da"


async def test_rate_limits_are_kept_per_bucket(okta_org: OktaOrg, connect: Connect) -> None:
    okta_org.set_rate_limit(limit=50, window_seconds=60)
    okta = connect()
    user = await okta.get_user(ERIN)
    await okta.get_user(ERIN)
    [_ async for _ in okta.list_user_groups(user.id)]
    limits = okta.rate_limits
    assert set(limits) == {"GET /api/v1/users/{idOrLogin}", "/api/v1"}
    by_id = limits["GET /api/v1/users/{idOrLogin}"]
    assert (by_id.limit, by_id.remaining) == (50, 48)
    assert by_id.reset > time.time()


# Rate limits


async def test_429_is_retried_after_the_window_resets(okta_org: OktaOrg, connect: Connect, wire: Wire) -> None:
    okta_org.set_rate_limit(limit=3, window_seconds=1)
    okta = connect(max_retries=5)
    users = await asyncio.gather(*(okta.get_user(ERIN) for _ in range(6)))
    assert [u.profile.login for u in users] == [ERIN] * 6
    statuses = wire.statuses("GET")
    assert 429 in statuses
    assert statuses.count(200) == 6


async def test_429_is_retried_for_a_post_too(okta_org: OktaOrg, connect: Connect, wire: Wire) -> None:
    """A 429 means Okta did not execute the request, so even a lifecycle POST is safe to resend."""
    erin = okta_org.get_user(ERIN)
    okta_org.set_rate_limit(limit=1, window_seconds=1, bucket="/api/v1")  # where lifecycle operations count
    await connect().suspend_user(erin.id)
    await connect().unsuspend_user(erin.id)  # a second client: it has not seen the bucket run dry
    assert wire.statuses("POST") == [200, 429, 200]
    assert erin.status is UserStatus.ACTIVE


async def test_429_after_the_last_retry_raises_rate_limited(okta_org: OktaOrg, connect: Connect, wire: Wire) -> None:
    okta_org.set_rate_limit(limit=1, window_seconds=60)
    okta = connect(max_retries=2, max_rate_limit_wait=0.05)
    await okta.get_user(ERIN)
    started = time.monotonic()
    with pytest.raises(OktaRateLimited) as caught:
        await okta.get_user(ERIN)
    assert time.monotonic() - started < 5  # waits are capped by max_rate_limit_wait, not the 60 s window
    assert (caught.value.status, caught.value.error_code) == (429, "E0000047")
    assert wire.statuses("GET") == [200, 429, 429, 429]


async def test_slows_down_before_the_limit_instead_of_hitting_it(
    okta_org: OktaOrg, connect: Connect, wire: Wire
) -> None:
    okta_org.set_rate_limit(limit=5, window_seconds=1)
    okta = connect()
    for _ in range(8):
        await okta.get_user(ERIN)
    assert wire.statuses("GET") == [200] * 8  # no 429: the client paused when one request was left


async def test_many_concurrent_calls_stay_well_under_the_org_concurrency_limit(
    okta_org: OktaOrg, connect: Connect, wire: Wire
) -> None:
    """Okta's real limits (2,000 a minute for this bucket, 75 in flight per org): 150 calls at once, each
    answered slowly so that they overlap, all succeed without a 429 and never more than 30 on the wire."""
    okta_org.inject_delay("GET", "/api/v1/users/", seconds=0.2, times=150)
    okta = connect()
    users = await asyncio.gather(*(okta.get_user(ERIN) for _ in range(150)))
    assert len(users) == 150
    assert wire.statuses() == [200] * 150
    assert okta_org.peak_in_flight == 30  # the default max_in_flight


async def test_beyond_the_org_concurrency_limit_okta_refuses_and_the_client_retries(
    okta_org: OktaOrg, connect: Connect, wire: Wire
) -> None:
    okta_org.inject_delay("GET", "/api/v1/users/", seconds=0.5, times=100)  # long enough for all 100 to arrive
    okta = connect(max_in_flight=100)
    users = await asyncio.gather(*(okta.get_user(ERIN) for _ in range(100)))
    assert len(users) == 100, "no 429 reached the caller"
    assert okta_org.peak_in_flight == 75
    assert wire.statuses().count(429) == 25 and wire.statuses().count(200) == 100


# 5xx and timeouts: retried only where repeating is harmless


async def test_5xx_is_retried_for_a_get(okta_org: OktaOrg, connect: Connect, wire: Wire) -> None:
    okta_org.inject_failure("GET", "/api/v1/users/", status=500, times=2)
    user = await connect(backoff=0.01).get_user(ERIN)
    assert user.profile.login == ERIN
    assert wire.statuses("GET") == [500, 500, 200]


async def test_5xx_is_retried_for_put_and_delete(okta_org: OktaOrg, connect: Connect, wire: Wire) -> None:
    group, erin = okta_org.get_group("Finance"), okta_org.get_user(ERIN)
    okta_org.inject_failure("PUT", "/api/v1/groups/", status=502)
    okta_org.inject_failure("DELETE", "/api/v1/groups/", status=503)
    okta = connect(backoff=0.01)
    await okta.add_user_to_group(group.id, erin.id)
    await okta.remove_user_from_group(group.id, erin.id)
    assert wire.statuses("PUT") == [502, 204] and wire.statuses("DELETE") == [503, 204]


async def test_5xx_after_the_last_retry_raises_server_error(okta_org: OktaOrg, connect: Connect, wire: Wire) -> None:
    okta_org.inject_failure("GET", "/api/v1/users/", status=503, times=10)
    with pytest.raises(OktaServerError) as caught:
        await connect(max_retries=2, backoff=0.01).get_user(ERIN)
    assert (caught.value.status, caught.value.error_code) == (503, "E0000010")
    assert wire.statuses("GET") == [503, 503, 503]


@pytest.mark.parametrize("operation", ["suspend_user", "reset_password"])
async def test_5xx_is_not_retried_for_a_lifecycle_post(
    okta_org: OktaOrg, connect: Connect, wire: Wire, operation: str
) -> None:
    erin = okta_org.get_user(ERIN)
    okta_org.inject_failure("POST", f"/api/v1/users/{erin.id}/lifecycle/", status=500)
    with pytest.raises(OktaServerError):
        await getattr(connect(backoff=0.01), operation)(erin.id)
    assert wire.statuses("POST") == [500]
    assert erin.status is UserStatus.ACTIVE


async def test_5xx_is_not_retried_for_a_push(okta_org: OktaOrg, connect: Connect, wire: Wire) -> None:
    erin = okta_org.get_user(ERIN)
    okta_org.inject_failure("POST", f"/api/v1/users/{erin.id}/factors/", status=500)
    with pytest.raises(OktaServerError):
        await connect(backoff=0.01).verify_push(erin.id, erin.factors[0].id)
    assert wire.statuses("POST") == [500]


async def test_a_timed_out_get_is_retried(okta_org: OktaOrg, connect: Connect, wire: Wire) -> None:
    okta_org.inject_delay("GET", "/api/v1/users/", seconds=5)
    user = await connect(timeout=0.3, backoff=0.01).get_user(ERIN)
    assert user.profile.login == ERIN
    assert len(wire.sent("GET")) == 2 and wire.statuses("GET") == [200]


async def test_a_timed_out_post_is_not_retried(okta_org: OktaOrg, connect: Connect, wire: Wire) -> None:
    erin = okta_org.get_user(ERIN)
    okta_org.inject_delay("POST", f"/api/v1/users/{erin.id}/lifecycle/suspend", seconds=5)
    with pytest.raises(OktaTransportError) as caught:
        await connect(timeout=0.3, backoff=0.01).suspend_user(erin.id)
    assert (caught.value.method, caught.value.path) == ("POST", f"/api/v1/users/{erin.id}/lifecycle/suspend")
    assert "Timeout" in caught.value.reason
    assert len(wire.sent("POST")) == 1
    # Okta carried it out and only the answer was late: a retry would have met "not ACTIVE".
    assert erin.status is UserStatus.SUSPENDED


async def test_timeouts_after_the_last_retry_raise_transport_error(
    okta_org: OktaOrg, connect: Connect, wire: Wire
) -> None:
    okta_org.inject_delay("GET", "/api/v1/users/", seconds=5, times=10)
    with pytest.raises(OktaTransportError):
        await connect(timeout=0.2, max_retries=1, backoff=0.01).get_user(ERIN)
    assert len(wire.sent("GET")) == 2


async def test_a_refused_connection_is_retried_even_for_a_post(wire: Wire) -> None:
    """Nothing reached the server, so resending cannot repeat an action."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before use: nothing listens there
    okta = OktaClient(f"http://127.0.0.1:{port}", ApiTokenAuth(TOKEN), http=wire.http, max_retries=2, backoff=0.01)
    with pytest.raises(OktaTransportError) as caught:
        await okta.suspend_user("00u1")
    assert "ConnectError" in caught.value.reason
    assert len(wire.sent("POST")) == 3


# Credentials


async def test_a_wrong_api_token_is_an_auth_error(connect: Connect, wire: Wire) -> None:
    with pytest.raises(OktaAuthError) as caught:
        await connect(ApiTokenAuth("00wrong-token")).get_user(ERIN)
    assert (caught.value.status, caught.value.error_code) == (401, "E0000011")
    assert len(wire.requests) == 1


async def test_missing_permission_is_forbidden(okta_org: OktaOrg, connect: Connect) -> None:
    okta_org.add_api_token("00read-only-token", scopes=["okta.users.read"])
    okta = connect(ApiTokenAuth("00read-only-token"))
    erin = await okta.get_user(ERIN)
    with pytest.raises(OktaForbidden) as caught:
        await okta.suspend_user(erin.id)
    assert (caught.value.status, caught.value.error_code) == (403, "E0000006")


async def test_oauth_token_is_requested_once_and_reused(okta_org: OktaOrg, oauth: Connect, wire: Wire) -> None:
    okta = oauth()
    for _ in range(10):
        await okta.get_user(ERIN)
    [token_request] = wire.sent("POST", TOKEN_PATH)
    assert _issued(okta_org) == 1
    assert token_request.headers["User-Agent"] == f"okta-chatops/{__version__}"
    assert token_request.headers["Accept"] == "application/json"
    assert "Authorization" not in token_request.headers  # the client assertion is the credential
    bearer = {r.headers["Authorization"] for r in wire.sent("GET")}
    assert len(bearer) == 1 and bearer.pop().startswith("Bearer ")


async def test_client_assertion_is_a_fresh_short_lived_rs256_jwt(
    okta_sim: BackgroundServer, oauth: Connect, wire: Wire, rsa_pem: tuple[str, str]
) -> None:
    await oauth(key_id="key-2025").get_user(ERIN)
    await oauth().get_user(ERIN)
    forms = [parse_qs(r.content.decode()) for r in wire.sent("POST", TOKEN_PATH)]
    assert len(forms) == 2
    claims = []
    for form in forms:
        assert form["grant_type"] == ["client_credentials"]
        assert form["scope"] == [" ".join(SCOPES)]
        assert form["client_assertion_type"] == ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"]
        assertion = form["client_assertion"][0]
        claims.append(jwt.decode(assertion, rsa_pem[1], algorithms=["RS256"], audience=f"{okta_sim.url}{TOKEN_PATH}"))
        assert jwt.get_unverified_header(assertion)["alg"] == "RS256"
    assert jwt.get_unverified_header(forms[0]["client_assertion"][0])["kid"] == "key-2025"
    # Without a key id given, the key's RFC 7638 thumbprint: SHA-256 of {"e","kty","n"} in that order, compact.
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(serialization.load_pem_public_key(rsa_pem[1].encode())))
    canonical = json.dumps({"e": public["e"], "kty": "RSA", "n": public["n"]}, separators=(",", ":")).encode()
    thumbprint = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()
    assert jwt.get_unverified_header(forms[1]["client_assertion"][0])["kid"] == thumbprint
    for c in claims:
        assert c["iss"] == c["sub"] == CLIENT_ID
        assert 0 < c["exp"] - c["iat"] <= 300
    assert claims[0]["jti"] != claims[1]["jti"]


async def test_private_key_can_be_a_file_path(
    okta_org: OktaOrg, okta_sim: BackgroundServer, wire: Wire, oauth: Connect, rsa_pem: tuple[str, str], tmp_path: Path
) -> None:
    key_file = tmp_path / "okta.pem"
    key_file.write_text(rsa_pem[0])
    okta = OktaClient.from_private_key(okta_sim.url, CLIENT_ID, str(key_file), scopes=SCOPES, http=wire.http)
    assert (await okta.get_user(ERIN)).profile.login == ERIN
    assert _issued(okta_org) == 1


def test_a_private_key_that_cannot_sign_rs256_is_refused(tmp_path: Path) -> None:
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with pytest.raises(ValueError, match="RSA"):
        OktaClient.from_private_key("https://acme.okta.com", CLIENT_ID, ec_pem, scopes=SCOPES)
    garbage = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n"
    for mangled in (garbage, garbage.split("\n")[1]):  # the second is no PEM, so it is taken for a path
        with pytest.raises(ValueError) as caught:
            OktaClient.from_private_key("https://acme.okta.com", CLIENT_ID, mangled, scopes=SCOPES)
        assert "c2VjcmV0" not in str(caught.value)


async def test_concurrent_first_calls_share_one_token_request(okta_org: OktaOrg, oauth: Connect) -> None:
    okta = oauth()
    users = await asyncio.gather(*(okta.get_user(ERIN) for _ in range(50)))
    assert len(users) == 50
    assert _issued(okta_org) == 1


async def test_token_is_refreshed_before_it_expires(okta_org: OktaOrg, oauth: Connect, wire: Wire) -> None:
    okta_org.access_token_ttl = 1
    okta = oauth()
    await okta.get_user(ERIN)
    await asyncio.sleep(0.95)  # past the refresh point (90% of the 1 s life), before the token expires
    await okta.get_user(ERIN)
    assert _issued(okta_org) == 2
    assert 401 not in wire.statuses()


async def test_fifty_concurrent_callers_share_one_refresh(okta_org: OktaOrg, oauth: Connect, wire: Wire) -> None:
    okta_org.access_token_ttl = 1
    okta = oauth()
    await okta.get_user(ERIN)
    okta_org.access_token_ttl = 120  # the next token outlives the 50 calls, however slow the machine
    await asyncio.sleep(0.95)  # past the first token's refresh point (90% of its second)
    await asyncio.gather(*(okta.get_user(ERIN) for _ in range(50)))
    assert _issued(okta_org) == 2
    assert 401 not in wire.statuses()


async def test_a_rejected_token_is_refreshed_once_and_the_calls_retried(
    okta_org: OktaOrg, oauth: Connect, wire: Wire
) -> None:
    okta_org.access_token_ttl = 120
    okta = oauth()
    await okta.get_user(ERIN)
    okta_org.advance_time(121)  # Okta now considers the cached token expired; the client does not know
    users = await asyncio.gather(*(okta.get_user(ERIN) for _ in range(50)))
    assert len(users) == 50
    assert _issued(okta_org) == 2
    assert 0 < wire.statuses("GET").count(401) <= 30, "only the calls on the wire (max_in_flight) had the old token"


async def test_a_rate_limited_token_request_is_retried_after_its_reset(
    okta_org: OktaOrg, oauth: Connect, wire: Wire
) -> None:
    okta_org.set_rate_limit(limit=1, window_seconds=1, bucket="/oauth2/v1")
    await oauth().get_user(ERIN)
    await oauth().get_user(ERIN)  # a second client needs its own token, in the same window
    assert wire.statuses("POST", TOKEN_PATH) == [200, 429, 200]
    assert _issued(okta_org) == 2


async def test_token_endpoint_refusals_are_auth_errors(okta_org: OktaOrg, oauth: Connect) -> None:
    with pytest.raises(OktaAuthError) as unknown:
        await oauth(client_id="0oaunknown").get_user(ERIN)
    assert (unknown.value.status, unknown.value.error_code) == (401, "invalid_client")
    with pytest.raises(OktaAuthError) as scope:
        await oauth(scopes=["okta.apps.manage"]).get_user(ERIN)
    assert (scope.value.status, scope.value.error_code) == (400, "invalid_scope")
    assert "okta.apps.manage" in scope.value.error_summary


async def test_scopes_limit_what_an_oauth_client_may_do(okta_org: OktaOrg, oauth: Connect) -> None:
    okta = oauth(scopes=["okta.users.read"])
    erin = await okta.get_user(ERIN)
    with pytest.raises(OktaForbidden):
        await okta.suspend_user(erin.id)


# Secrets


async def test_secrets_stay_out_of_reprs_errors_and_logs(
    okta_org: OktaOrg,
    connect: Connect,
    oauth: Connect,
    wire: Wire,
    rsa_pem: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    okta_org.inject_failure("GET", "/api/v1/users/", status=500)
    api = connect(backoff=0.01)
    erin = await api.get_user(ERIN)
    reset = await api.reset_password(erin.id, send_email=False)
    assert reset.reset_url is not None
    reset_url = reset.reset_url.get_secret_value()
    with pytest.raises(OktaAuthError) as wrong_token:
        await connect(ApiTokenAuth("00wrong-secret-token")).get_user(ERIN)

    service = oauth()
    await service.get_user(ERIN)
    bearer = wire.sent("GET")[-1].headers["Authorization"].removeprefix("Bearer ")
    okta_org.inject_delay("GET", "/api/v1/users/", seconds=5)
    with pytest.raises(OktaTransportError) as timeout:
        await oauth(timeout=0.2, max_retries=0).get_user(ERIN)

    secrets = [TOKEN, "00wrong-secret-token", reset_url, bearer, rsa_pem[0].splitlines()[1]]
    texts = [
        repr(api), str(api), repr(api.auth), repr(service), repr(service.auth), repr(reset), str(reset),
        reset.model_dump_json(), str(wrong_token.value), repr(wrong_token.value), str(timeout.value),
        repr(timeout.value), caplog.text,
    ]
    assert "okta GET /api/v1/users/" in caplog.text  # the client does log, without the secrets
    for secret in secrets:
        for text in texts:
            assert secret not in text
