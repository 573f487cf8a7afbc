"""Credentials for Okta's Management API, as httpx.Auth flows.

- `ApiTokenAuth`: an SSWS API token (`Authorization: SSWS <token>`).
- `PrivateKeyJwtAuth`: an OAuth 2.0 service app. It asks the org authorization server for an access
  token with the client credentials grant, proving its identity with a JWT signed by its private key
  (private_key_jwt) and naming that key by its `kid`, caches the token and refreshes it shortly
  before it expires.

Key rotation works as Okta's does: the app in Okta holds both public keys while the client moves
from the old key to the new one. The client signs with its active key; given the retiring key as
well, it signs with that one only when Okta refuses the active key (`invalid_client`, e.g. its
public key is not in Okta yet), logs a warning saying so, and tries the active key again at the
next token.

Neither object ever shows its secret in a repr.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncGenerator, Generator, Sequence
from dataclasses import dataclass

import httpx
import jwt

from ._keys import ALGORITHM, SigningKey, load_signing_keys
from .errors import REQUEST_ID_HEADER, OktaAuthError

logger = logging.getLogger("oktaclient")

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
        """`private_key`: PEM text or a PEM file's path (oktaclient._keys), holding the active key and
        optionally, after it, the one being retired. `key_id` overrides the active key's kid."""
        if not client_id:
            raise ValueError("an OAuth client id is required")
        if not scopes:
            raise ValueError("at least one scope is required")
        self.client_id = client_id
        self.scopes = tuple(scopes)
        try:
            self._keys = load_signing_keys(private_key, key_id=key_id)
        except ValueError as exc:
            raise ValueError(f"the Okta private key {exc}") from None
        self.key_id = self._keys[0].kid
        self.token_url = f"{org_url.rstrip('/')}/oauth2/v1/token"
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
                    token_response = yield self._token_request(request, self._keys[0])
                    if len(self._keys) > 1 and await _refused_client(token_response):
                        self._warn_previous_key_used()
                        token_response = yield self._token_request(request, self._keys[1])
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

    def _warn_previous_key_used(self) -> None:
        active, previous = self._keys
        logger.warning(
            "Okta refused the client assertion signed with the active key (kid %s); signing with the previous "
            "key (kid %s) instead. Add the active key's public JWK to the service app %s in Okta "
            "(okta-chatops okta jwks prints it)",
            active.kid,
            previous.kid,
            self.client_id,
        )

    def _token_request(self, caller: httpx.Request, key: SigningKey) -> httpx.Request:
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.token_url,
            "iat": now,
            "exp": now + _ASSERTION_LIFETIME_SECONDS,
            "jti": str(uuid.uuid4()),  # Okta rejects a replayed jti
        }
        # Okta picks the public key by kid, and requires one when the app has several keys.
        assertion = jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})
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


async def _refused_client(response: httpx.Response) -> bool:
    """The token endpoint refused the client's credentials (`invalid_client`), not its request."""
    if response.status_code != httpx.codes.UNAUTHORIZED:
        return False
    await response.aread()
    try:
        return bool(response.json().get("error") == "invalid_client")
    except (ValueError, AttributeError):
        return False
