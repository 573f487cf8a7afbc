"""Async client for the Okta Management API (httpx): auth, rate limits, retries, pagination, typed errors.

    from oktaclient import OktaClient, search
    async with OktaClient.from_api_token("https://acme.okta.com", token) as okta:
        user = await okta.get_user("erin.employee@acme.example")
        async for u in okta.search_users(search.sw("profile.department", "Eng")):
            ...
"""

from . import search
from ._auth import ApiTokenAuth, PrivateKeyJwtAuth
from ._keys import SigningKey, load_signing_keys
from ._pagination import Page
from ._ratelimit import RateLimit
from ._version import __version__
from .client import OktaClient
from .errors import (
    OktaApiError,
    OktaAuthError,
    OktaBadRequest,
    OktaError,
    OktaForbidden,
    OktaNotFound,
    OktaRateLimited,
    OktaServerError,
    OktaTransportError,
)
from .models import Outcome

__all__ = [
    "ApiTokenAuth",
    "OktaApiError",
    "OktaAuthError",
    "OktaBadRequest",
    "OktaClient",
    "OktaError",
    "OktaForbidden",
    "OktaNotFound",
    "OktaRateLimited",
    "OktaServerError",
    "OktaTransportError",
    "Outcome",
    "Page",
    "PrivateKeyJwtAuth",
    "RateLimit",
    "SigningKey",
    "__version__",
    "load_signing_keys",
    "search",
]
