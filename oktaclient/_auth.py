"""Credentials for Okta's Management API, as httpx.Auth flows.

- `ApiTokenAuth`: an SSWS API token (`Authorization: SSWS <token>`).
- `PrivateKeyJwtAuth`: an OAuth 2.0 service app. It asks the org authorization server for an access
  token with the client credentials grant, proving its identity with a JWT signed by its private key
  (private_key_jwt), caches the token and refreshes it shortly before it expires.

Neither object ever shows its secret in a repr.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from .errors import REQUEST_ID_HEADER, OktaAuthError

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Okta accepts client assertions that expire within an hour; a short life limits replay.
_ASSERTION_LIFETIME_SECONDS = 300
# Refresh this long before expiry: 10% of the token's life, at most a minute (Okta issues 1 h tokens).
_REFRESH_FRACTION = 0.1
_MAX_REFRESH_MARGIN_SECONDS = 60.0


class ApiTokenAuth(httpx.Auth):
    """`Authorization: SSWS <token>` on every request."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("an Okta API token is required")
        self._header = f"SSWS {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return "ApiTokenAuth(token=<redacted>)"


def load_private_key(pem_or_path: str) -> RSAPrivateKey:
    """An RSA private key from PEM text or from the path of a PEM file (RS256 needs RSA)."""
    text = pem_or_path.strip()
    try:
        data = text.encode() if text.startswith("-----BEGIN") else Path(text).expanduser().read_bytes()
    except (OSError, ValueError):
        # The "path" may be mangled key material, and OSError's message would quote it.
        raise ValueError("the Okta private key is neither PEM text nor the path of a readable file") from None
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):  # TypeError: the key is encrypted
        # cryptography's message can quote the input; the key material must not reach a log.
        raise ValueError("the Okta private key is not an unencrypted PEM private key") from None
    if not isinstance(key, RSAPrivateKey):
        # a configuration error, reported as a ValueError like the others
        raise ValueError("the Okta private key must be an RSA key: client assertions are signed with RS256")  # noqa: TRY004
    return key


@dataclass(frozen=True)
class _AccessToken:
    value: str
    refresh_at: float  # time.monotonic()

    def __repr__(self) -> str:
        return f"_AccessToken(value=<redacted>, refresh_at={self.refresh_at})"


class PrivateKeyJwtAuth(httpx.Auth):
    """OAuth 2.0 client credentials with a private_key_jwt client assertion; async clients only.

    The token request is made from inside the auth flow, so it goes through the same httpx client
    and, when it fails, its error response becomes the answer to the caller's request (and is mapped
    to an exception like any other). One asyncio.Lock makes concurrent callers share one refresh.
    """

    def __init__(
        self,
        org_url: str,
        client_id: str,
        private_key: str,
        scopes: Sequence[str],
        key_id: str | None = None,
    ) -> None:
        if not client_id:
            raise ValueError("an OAuth client id is required")
        if not scopes:
            raise ValueError("at least one scope is required")
        self.client_id = client_id
        self.scopes = tuple(scopes)
        self.key_id = key_id
        self.token_url = f"{org_url.rstrip('/')}/oauth2/v1/token"
        self._key = load_private_key(private_key)
        self._token: _AccessToken | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"PrivateKeyJwtAuth(client_id={self.client_id!r}, scopes={self.scopes!r}, key_id={self.key_id!r})"

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("PrivateKeyJwtAuth works with httpx.AsyncClient only")

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        rejected: _AccessToken | None = None
        for _ in range(2):  # the second round only after a 401: the token was revoked or expired early
            async with self._lock:
                if rejected is not None and self._token is rejected:
                    self._token = None  # callers that waited for the lock will use the new token
                if self._token is None or self._token.refresh_at <= time.monotonic():
                    token_response = yield self._token_request(request)
                    if token_response.status_code != httpx.codes.OK:
                        return  # the caller gets the token endpoint's error
                    await token_response.aread()
                    self._token = self._parse_token(token_response)
                token = self._token
            request.headers["Authorization"] = f"Bearer {token.value}"
            response = yield request
            if response.status_code != httpx.codes.UNAUTHORIZED:
                return
            rejected = token

    def _token_request(self, caller: httpx.Request) -> httpx.Request:
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.token_url,
            "iat": now,
            "exp": now + _ASSERTION_LIFETIME_SECONDS,
            "jti": str(uuid.uuid4()),  # Okta rejects a replayed jti
        }
        jwt_headers = {"kid": self.key_id} if self.key_id else None
        assertion = jwt.encode(claims, self._key, algorithm="RS256", headers=jwt_headers)
        form = {
            "grant_type": "client_credentials",
            "scope": " ".join(self.scopes),
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": assertion,
        }
        headers = {"Accept": "application/json", "User-Agent": caller.headers.get("User-Agent", "")}
        # A hand-built request has no timeout of its own: give it the caller's.
        extensions = {"timeout": caller.extensions.get("timeout", {})}
        return httpx.Request("POST", self.token_url, data=form, headers=headers, extensions=extensions)

    @staticmethod
    def _parse_token(response: httpx.Response) -> _AccessToken:
        try:
            body = response.json()
            token_type, value, lifetime = body["token_type"], str(body["access_token"]), float(body["expires_in"])
        except (ValueError, KeyError, TypeError):
            token_type = None
        # token_type "DPoP" means the app requires proof-of-possession, which this client does not do.
        if token_type != "Bearer":
            raise OktaAuthError(
                response.status_code,
                "unusable_token_response",
                f"expected a Bearer access token from the token endpoint, got token_type {token_type!r}",
                request_id=response.headers.get(REQUEST_ID_HEADER),
            )
        margin = min(lifetime * _REFRESH_FRACTION, _MAX_REFRESH_MARGIN_SECONDS)
        return _AccessToken(value=value, refresh_at=time.monotonic() + lifetime - margin)
