"""Who may call the API: SSWS API tokens, OAuth 2.0 service apps (client credentials grant with a
private_key_jwt client assertion) and the access tokens the org authorization server issues them.

Error codes and descriptions follow Okta's OAuth error catalogue; scope names are Okta's (`okta.users.read`, ...),
and a `.manage` scope includes its `.read` scope.

A service app holds public keys as Okta's app JWKS does: each with a `kid` and a status (ACTIVE or
INACTIVE). Okta verifies a client assertion with the ACTIVE key its header's `kid` names, and refuses an
assertion without a `kid` once the app has several keys ("The client_assertion JWT kid is invalid.").
A key registered as a bare PEM (no kid) verifies any assertion while it is the app's only key.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from oktasim import _errors
from oktasim._clock import Clock

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 3600  # Okta refuses client assertions that expire more than an hour ahead
CLOCK_SKEW = 60  # tolerance for the assertion's iat
MIN_RSA_BITS = 2048  # Okta refuses smaller RSA keys in an app's JWKS
MAX_CLIENT_KEYS = 50


def _with_implied(scopes: Iterable[str]) -> frozenset[str]:
    granted = set(scopes)
    granted |= {s.removesuffix(".manage") + ".read" for s in granted if s.endswith(".manage")}
    return frozenset(granted)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    scheme: str  # "SSWS" | "Bearer"
    scopes: frozenset[str] | None  # None: every scope (an unrestricted API token, like a super admin's)
    actor: dict[str, Any]  # the System Log actor of what it does

    def allows(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes


@dataclass(frozen=True)
class ClientKey:
    kid: str | None
    public_key: RSAPublicKey
    active: bool


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    keys: tuple[ClientKey, ...]
    scopes: frozenset[str]

    def key_for(self, kid: object) -> ClientKey:
        """The key that verifies an assertion whose header names `kid` (None: it names none)."""
        if len(self.keys) == 1 and self.keys[0].kid is None:
            return self.keys[0]  # a key registered before kids: Okta has nothing to match against
        found = [k for k in self.keys if kid is not None and k.kid == kid and k.active]
        if not found:
            raise _invalid_client("The client_assertion JWT kid is invalid.")
        return found[0]


# What `register_client` takes: a public key as PEM, one JWK (a dict, optionally with "status"), or a JWKS's keys.
PublicKeys = str | Mapping[str, Any] | Sequence[Mapping[str, Any]]


def client_keys(keys: PublicKeys) -> tuple[ClientKey, ...]:
    """The keys an app's JWKS would hold; ValueError with Okta's reason for what Okta refuses."""
    parsed: tuple[ClientKey, ...]
    if isinstance(keys, str):
        pem_key = load_pem_public_key(keys.encode())
        if not isinstance(pem_key, RSAPublicKey):
            raise ValueError("only RSA keys are supported")  # noqa: TRY004
        parsed = (ClientKey(None, pem_key, True),)
    else:
        jwks = [keys] if isinstance(keys, Mapping) else list(keys)
        parsed = tuple(_jwk(jwk) for jwk in jwks)
    if not parsed or len(parsed) > MAX_CLIENT_KEYS:
        raise ValueError(f"an app holds 1 to {MAX_CLIENT_KEYS} keys")
    if len(parsed) > 1 and any(k.kid is None for k in parsed):
        raise ValueError("Each key should have a unique kid when adding multiple keys.")
    if len({k.kid for k in parsed}) != len(parsed):
        raise ValueError("All keys in the 'jwks' must have a unique `kid`.")
    for key in parsed:
        if key.public_key.key_size < MIN_RSA_BITS:
            raise ValueError("RSA key length in the 'jwks' is less than '2,048' bits for the given key.")
    return parsed


def _jwk(jwk: Mapping[str, Any]) -> ClientKey:
    if jwk.get("kty") != "RSA" or jwk.get("use", "sig") != "sig":
        raise ValueError("only RSA signing keys (kty RSA, use sig) are supported")
    status = jwk.get("status", "ACTIVE")
    if status not in ("ACTIVE", "INACTIVE"):
        raise ValueError("status must be ACTIVE or INACTIVE")
    try:
        public = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps({k: v for k, v in jwk.items() if k != "status"}))
    except (jwt.InvalidKeyError, ValueError, KeyError) as exc:
        raise ValueError("not a valid RSA JWK") from exc
    if not isinstance(public, RSAPublicKey):
        raise ValueError("a public JWK is expected, not a private one")  # noqa: TRY004
    kid = jwk.get("kid")
    return ClientKey(str(kid) if kid else None, public, status == "ACTIVE")


@dataclass(frozen=True)
class AccessToken:
    client_id: str
    scopes: frozenset[str]
    expires_at: float


@dataclass(frozen=True)
class TokenRequest:
    """One call to /oauth2/v1/token, for tests that count them."""

    client_id: str | None
    scope: str
    error: str | None  # None when a token was issued


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def _invalid_client(description: str) -> OAuthError:
    return OAuthError(401, "invalid_client", description)


def _bearer_challenge(base: str, resource: str, error: str, description: str) -> dict[str, str]:
    value = (
        f'Bearer authorization_uri="{base}/oauth2/v1/authorize", realm="IdP", scope="", '
        f'error="{error}", error_description="{description}", resource="{resource}"'
    )
    return {"WWW-Authenticate": value}


class Credentials:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._api_tokens: dict[str, Principal] = {}
        self._clients: dict[str, OAuthClient] = {}
        self._access_tokens: dict[str, AccessToken] = {}
        self._used_jtis: set[str] = set()
        self.access_token_ttl = 3600
        self.token_requests: list[TokenRequest] = []

    def add_api_token(self, token: str, scopes: Iterable[str] | None, actor: dict[str, Any]) -> None:
        self._api_tokens[token] = Principal("SSWS", None if scopes is None else _with_implied(scopes), actor)

    def register_client(self, client_id: str, keys: PublicKeys, scopes: Iterable[str]) -> None:
        """A service app (client credentials, private_key_jwt) with its public keys and granted scopes."""
        self._clients[client_id] = OAuthClient(client_id, client_keys(keys), frozenset(scopes))

    # calls to the API

    def authenticate(self, authorization: str | None, base: str, resource: str) -> Principal:
        scheme, _, value = (authorization or "").partition(" ")
        value = value.strip()
        if scheme == "SSWS" and value in self._api_tokens:
            return self._api_tokens[value]
        if scheme != "Bearer":
            raise _errors.invalid_token()
        token = self._access_tokens.get(value)
        if token is None or token.expires_at <= self._clock.time():
            description = "The token has expired." if token else "The token is invalid."
            raise _errors.invalid_token(_bearer_challenge(base, resource, "invalid_token", description))
        actor = {
            "id": token.client_id,
            "type": "PublicClientApp",
            "alternateId": token.client_id,
            "displayName": token.client_id,
        }
        return Principal("Bearer", _with_implied(token.scopes), actor)

    @staticmethod
    def require(principal: Principal, scope: str, base: str, resource: str) -> None:
        if principal.allows(scope):
            return
        challenge = None
        if principal.scheme == "Bearer":
            challenge = _bearer_challenge(
                base, resource, "insufficient_scope", "The access token provided does not contain the required scopes."
            )
        raise _errors.access_denied(challenge)

    # the token endpoint

    def issue(self, form: Mapping[str, str], token_url: str) -> dict[str, Any]:
        """Answers a client credentials token request, or raises OAuthError; every request is recorded."""
        client_id: str | None = form.get("client_id")
        try:
            client = self._authenticate_client(form, token_url)
            client_id = client.client_id
            body = self._grant(client, form.get("scope", ""))
        except OAuthError as error:
            self.token_requests.append(TokenRequest(client_id, form.get("scope", ""), error.error))
            raise
        self.token_requests.append(TokenRequest(client_id, form.get("scope", ""), None))
        return body

    def _authenticate_client(self, form: Mapping[str, str], token_url: str) -> OAuthClient:
        grant_type = form.get("grant_type")
        if not grant_type:
            raise OAuthError(
                400,
                "invalid_request",
                "The token request must specify a 'grant_type'. Valid values: [client_credentials]",
            )
        if grant_type != "client_credentials":
            raise OAuthError(
                400,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization "
                "server. Configured grant types: [client_credentials].",
            )
        assertion = form.get("client_assertion")
        if not assertion:
            raise _invalid_client("No client credentials found.")
        if form.get("client_assertion_type") != JWT_BEARER:
            raise _invalid_client(
                "Client authentication failed. Either the client or the client credentials are invalid."
            )
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise _invalid_client("The parsing of the client_assertion failed.") from exc
        client = self._clients.get(str(unverified.get("iss")))
        if client is None:
            raise _invalid_client("The issuer claim for client_assertion is not a valid client_id.")
        if form.get("client_id", client.client_id) != client.client_id:
            raise _invalid_client("Invalid value for 'client_id' parameter.")
        if unverified.get("sub") != client.client_id:
            raise _invalid_client("The subject claim for client_assertion is not a valid client_id.")
        claims = self._verified_claims(assertion, client, token_url)
        jti = str(claims.get("jti") or "")
        if not jti:
            raise _invalid_client(
                "Client authentication failed. Either the client or the client credentials are invalid."
            )
        if jti in self._used_jtis:
            raise _invalid_client("The client_assertion token has already been used.")
        self._used_jtis.add(jti)
        return client

    def _verified_claims(self, assertion: str, client: OAuthClient, token_url: str) -> dict[str, Any]:
        key = client.key_for(jwt.get_unverified_header(assertion).get("kid"))
        try:
            claims: dict[str, Any] = jwt.decode(
                assertion,
                key.public_key,
                algorithms=["RS256"],
                audience=token_url,
                # Time claims are checked below against the org's clock, which tests can move forward.
                options={"require": ["exp"], "verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.InvalidAlgorithmError as exc:
            raise _invalid_client("The client_assertion JWT signature algorithm is invalid.") from exc
        except jwt.InvalidSignatureError as exc:
            raise _invalid_client("The client_assertion signature is invalid.") from exc
        except jwt.InvalidAudienceError as exc:
            raise _invalid_client(
                "The audience claim for client_assertion must be the endpoint invoked for the request."
            ) from exc
        except jwt.MissingRequiredClaimError as exc:
            raise _invalid_client("The client_assertion must contain the 'exp' claim as seconds since epoch.") from exc
        except jwt.PyJWTError as exc:
            raise _invalid_client("The parsing of the client_assertion failed.") from exc
        now = self._clock.time()
        exp, iat = claims["exp"], claims.get("iat")
        if not isinstance(exp, int | float):
            raise _invalid_client("The client_assertion must contain the 'exp' claim as seconds since epoch.")
        if exp <= now:
            raise _invalid_client("The client_assertion token is expired.")
        if exp > now + MAX_ASSERTION_LIFETIME + CLOCK_SKEW:
            raise _invalid_client("The client_assertion token has an expiration too far into the future.")
        if isinstance(iat, int | float) and iat > now + CLOCK_SKEW:
            raise _invalid_client("The client_assertion token must be issued before the current time.")
        return claims

    def _grant(self, client: OAuthClient, scope: str) -> dict[str, Any]:
        requested = scope.split()
        if not requested:
            description = "The authorization server resource does not have any configured default scopes, "
            raise OAuthError(400, "invalid_scope", description + "'scope' must be provided.")
        refused = [s for s in requested if s not in client.scopes]
        if refused:
            raise OAuthError(
                400, "invalid_scope", f"The following scopes are not allowed for this request: [{', '.join(refused)}]."
            )
        value = secrets.token_urlsafe(48)
        ttl = self.access_token_ttl
        self._access_tokens[value] = AccessToken(client.client_id, frozenset(requested), self._clock.time() + ttl)
        return {"token_type": "Bearer", "expires_in": ttl, "access_token": value, "scope": " ".join(requested)}
