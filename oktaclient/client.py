"""`OktaClient`: the Okta Management API operations okta-chatops uses, on one shared httpx.AsyncClient."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote as _quote_url
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from ._auth import ApiTokenAuth, PrivateKeyJwtAuth
from ._pagination import Page, page_from_response, paginate
from ._ratelimit import RateLimit, RateLimiter
from ._transport import Transport
from .errors import REQUEST_ID_HEADER
from .models import EventHook, Factor, FactorTransaction, Group, LogEvent, Outcome, User
from .search import Expression

_POLL_PATH = re.compile(r"/api/v1/users/[^/]+/factors/[^/]+/transactions/[^/]+")


def _segment(value: str) -> str:
    """One URL path segment: an id or login can never add a path of its own."""
    if not value:
        raise ValueError("an Okta id or login is required")
    return _quote_url(value, safe="")


def _event_hook_body(
    name: str, uri: str, event_types: Sequence[str], auth_header: str, secret: str | SecretStr
) -> dict[str, Any]:
    value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    return {
        "name": name,
        "events": {"type": "EVENT_TYPE", "items": list(event_types)},
        "channel": {
            "type": "HTTP",
            "version": "1.0.0",
            "config": {
                "uri": uri,
                "headers": [],
                "authScheme": {"type": "HEADER", "key": auth_header, "value": value},
            },
        },
    }


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _timestamp(value: datetime | str) -> str:
    """Okta's ISO 8601 form (UTC, milliseconds, Z) for a datetime; strings pass as given."""
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError("System Log times must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _outcome(response: httpx.Response, **fields: Any) -> Outcome:
    return Outcome(request_id=response.headers.get(REQUEST_ID_HEADER), **fields)


class OktaClient:
    """An Okta org's Management API.

    `async with OktaClient.from_api_token(org_url, token) as okta:`, or from_private_key(...) for an
    OAuth service app. Pass `http` to share an httpx.AsyncClient (it is then not closed here).
    Rate limits are honoured per bucket; 429s are retried for every method, 5xx and broken
    connections only for GET, PUT and DELETE (see _transport). Secrets never appear in reprs.
    """

    def __init__(
        self,
        org_url: str,
        auth: httpx.Auth,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_rate_limit_wait: float = 60.0,
        rate_limit_reserve: float = 0.05,
        max_in_flight: int = 30,
    ) -> None:
        """`auth`: ApiTokenAuth or PrivateKeyJwtAuth (or any httpx.Auth). Tuning:

        timeout: seconds per HTTP attempt. max_retries: attempts after the first.
        backoff: first retry delay (doubling, jittered) after a 5xx or a broken connection.
        max_rate_limit_wait: longest single wait for a rate-limit window to reset.
        rate_limit_reserve: share of each bucket left to other integrations before pausing.
        max_in_flight: most requests on the wire at once (Okta refuses beyond 75 per org, all integrations together).
        """
        parts = urlsplit(org_url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ValueError("org_url must be the org's base URL, e.g. https://acme.okta.com")
        self.org_url = f"{parts.scheme}://{parts.netloc}"
        self.auth = auth
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient()
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        limiter = RateLimiter(reserve_fraction=rate_limit_reserve, max_wait=max_rate_limit_wait)
        self._transport = Transport(
            self._http,
            self.org_url,
            auth,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            limiter=limiter,
            max_in_flight=max_in_flight,
        )

    @classmethod
    def from_api_token(cls, org_url: str, token: str, **options: Any) -> OktaClient:
        return cls(org_url, ApiTokenAuth(token), **options)

    @classmethod
    def from_private_key(
        cls,
        org_url: str,
        client_id: str,
        private_key_pem: str,
        *,
        scopes: Sequence[str],
        key_id: str | None = None,
        **options: Any,
    ) -> OktaClient:
        """An OAuth service app; `private_key_pem` is PEM text or the path of a PEM file."""
        return cls(org_url, PrivateKeyJwtAuth(org_url, client_id, private_key_pem, scopes, key_id), **options)

    def __repr__(self) -> str:
        return f"OktaClient(org_url={self.org_url!r}, auth={self.auth!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    @property
    def rate_limits(self) -> dict[str, RateLimit]:
        """The latest X-Rate-Limit-* values seen, by Okta rate-limit bucket (e.g. for metrics)."""
        return self._transport.limiter.seen

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return (await self._transport.request(method, path, **kwargs)).json()

    # Users

    async def ping(self) -> None:
        """One cheap authenticated read: the org answers and accepts our credentials (readiness checks)."""
        await self._transport.request("GET", "/api/v1/users", params={"limit": 1})

    async def get_user(self, id_or_login: str) -> User:
        return User.model_validate(await self._json("GET", f"/api/v1/users/{_segment(id_or_login)}"))

    def search_users(self, expr: Expression | str, *, limit: int = 200) -> AsyncIterator[User]:
        """Users matching a `search` expression (build it with oktaclient.search), all pages."""
        return paginate(self._transport, "/api/v1/users", {"search": str(expr), "limit": limit}, User)

    def list_user_groups(self, user_id: str) -> AsyncIterator[Group]:
        return paginate(self._transport, f"/api/v1/users/{_segment(user_id)}/groups", None, Group)

    async def list_factors(self, user_id: str) -> list[Factor]:
        response = await self._transport.request("GET", f"/api/v1/users/{_segment(user_id)}/factors")
        return page_from_response(response, Factor).items

    async def _lifecycle(self, user_id: str, operation: str, params: dict[str, str] | None = None) -> httpx.Response:
        return await self._transport.request(
            "POST", f"/api/v1/users/{_segment(user_id)}/lifecycle/{operation}", params=params
        )

    async def deactivate_user(self, user_id: str, send_email: bool = False) -> Outcome:
        return _outcome(await self._lifecycle(user_id, "deactivate", {"sendEmail": _flag(send_email)}))

    async def suspend_user(self, user_id: str) -> Outcome:
        return _outcome(await self._lifecycle(user_id, "suspend"))

    async def unsuspend_user(self, user_id: str) -> Outcome:
        return _outcome(await self._lifecycle(user_id, "unsuspend"))

    async def unlock_user(self, user_id: str) -> Outcome:
        return _outcome(await self._lifecycle(user_id, "unlock"))

    async def reset_password(self, user_id: str, send_email: bool = True) -> Outcome:
        """Start a password reset; with send_email=False, Outcome.reset_url is the one-time link."""
        response = await self._lifecycle(user_id, "reset_password", {"sendEmail": _flag(send_email)})
        if send_email:
            return _outcome(response)
        return _outcome(response, reset_url=SecretStr(response.json()["resetPasswordUrl"]))

    async def activate_user(self, user_id: str, send_email: bool = True) -> Outcome:
        """Activate a STAGED (or DEPROVISIONED) user; with `send_email`, Okta emails the activation link."""
        return _outcome(await self._lifecycle(user_id, "activate", {"sendEmail": _flag(send_email)}))

    async def reactivate_user(self, user_id: str, send_email: bool = True) -> Outcome:
        """Restart the activation of a PROVISIONED (or RECOVERY) user: a new activation email.
        Okta's own default is not to send it, so the flag is always sent."""
        return _outcome(await self._lifecycle(user_id, "reactivate", {"sendEmail": _flag(send_email)}))

    async def reset_factors(self, user_id: str) -> Outcome:
        """Unenroll every MFA factor of the user; they enrol again at their next sign-in."""
        return _outcome(await self._lifecycle(user_id, "reset_factors"))

    async def expire_password(self, user_id: str) -> Outcome:
        response = await self._lifecycle(user_id, "expire_password")
        return _outcome(response, user=User.model_validate(response.json()))

    async def clear_sessions(self, user_id: str, oauth_tokens: bool = False) -> Outcome:
        response = await self._transport.request(
            "DELETE", f"/api/v1/users/{_segment(user_id)}/sessions", params={"oauthTokens": _flag(oauth_tokens)}
        )
        return _outcome(response)

    # Groups

    def search_groups(
        self, expr_or_none: Expression | str | None = None, *, q: str | None = None
    ) -> AsyncIterator[Group]:
        """Groups matching a `search` expression, or whose name starts with `q`, or all groups."""
        params: dict[str, str] = {}
        if expr_or_none is not None:
            params["search"] = str(expr_or_none)
        if q is not None:
            params["q"] = q
        return paginate(self._transport, "/api/v1/groups", params, Group)

    async def get_group(self, group_id: str) -> Group:
        return Group.model_validate(await self._json("GET", f"/api/v1/groups/{_segment(group_id)}"))

    def list_group_users(self, group_id: str, *, limit: int = 1000) -> AsyncIterator[User]:
        """The group's members, all pages (Okta pages them by up to 1,000)."""
        return paginate(self._transport, f"/api/v1/groups/{_segment(group_id)}/users", {"limit": limit}, User)

    async def add_user_to_group(self, group_id: str, user_id: str) -> Outcome:
        path = f"/api/v1/groups/{_segment(group_id)}/users/{_segment(user_id)}"
        return _outcome(await self._transport.request("PUT", path))

    async def remove_user_from_group(self, group_id: str, user_id: str) -> Outcome:
        path = f"/api/v1/groups/{_segment(group_id)}/users/{_segment(user_id)}"
        return _outcome(await self._transport.request("DELETE", path))

    # System Log

    @staticmethod
    def _log_params(
        since: datetime | str | None,
        until: datetime | str | None,
        after: str | None,
        filter: Expression | str | None,
        limit: int,
    ) -> dict[str, str | int]:
        params: dict[str, str | int] = {"limit": limit}
        if since is not None:
            params["since"] = _timestamp(since)
        if until is not None:
            params["until"] = _timestamp(until)
        if after is not None:
            params["after"] = after
        if filter is not None:
            params["filter"] = str(filter)
        return params

    def list_log_events(
        self,
        *,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        after: str | None = None,
        filter: Expression | str | None = None,
        limit: int = 100,
    ) -> AsyncIterator[LogEvent]:
        """System Log events, oldest first, all pages (a polling query ends at its first empty page)."""
        return paginate(self._transport, "/api/v1/logs", self._log_params(since, until, after, filter, limit), LogEvent)

    async def poll_log_events(
        self,
        *,
        after: str | None = None,
        since: datetime | str | None = None,
        filter: Expression | str | None = None,
        limit: int = 100,
    ) -> Page[LogEvent]:
        """One page of a System Log poll: keep `page.after` and pass it to the next poll.

        Start with `since` (default: Okta's, 7 days back); continue with the `after` of the last
        page. Okta always returns a next link for polling queries, so `after` is set even when no
        events have arrived yet.
        """
        response = await self._transport.request(
            "GET", "/api/v1/logs", params=self._log_params(since, None, after, filter, limit)
        )
        return page_from_response(response, LogEvent)

    # Event hooks

    async def create_event_hook(
        self,
        name: str,
        uri: str,
        event_types: Sequence[str],
        auth_header: str = "Authorization",
        *,
        secret: str | SecretStr,
    ) -> EventHook:
        """Register an HTTPS endpoint for events; Okta sends `secret` in `auth_header` with each delivery."""
        body = _event_hook_body(name, uri, event_types, auth_header, secret)
        return EventHook.model_validate(await self._json("POST", "/api/v1/eventHooks", json=body))

    async def replace_event_hook(
        self,
        hook_id: str,
        name: str,
        uri: str,
        event_types: Sequence[str],
        auth_header: str = "Authorization",
        *,
        secret: str | SecretStr,
    ) -> EventHook:
        """Replace a hook's name, endpoint, event types and secret (Okta never returns the secret, so
        a replacement always carries one)."""
        body = _event_hook_body(name, uri, event_types, auth_header, secret)
        path = f"/api/v1/eventHooks/{_segment(hook_id)}"
        return EventHook.model_validate(await self._json("PUT", path, json=body))

    async def list_event_hooks(self) -> list[EventHook]:
        return page_from_response(await self._transport.request("GET", "/api/v1/eventHooks"), EventHook).items

    async def _event_hook_lifecycle(self, hook_id: str, operation: str) -> EventHook:
        path = f"/api/v1/eventHooks/{_segment(hook_id)}/lifecycle/{operation}"
        return EventHook.model_validate(await self._json("POST", path))

    async def verify_event_hook(self, hook_id: str) -> EventHook:
        """Ask Okta to call the endpoint's one-time verification (the endpoint echoes a challenge)."""
        return await self._event_hook_lifecycle(hook_id, "verify")

    async def activate_event_hook(self, hook_id: str) -> EventHook:
        return await self._event_hook_lifecycle(hook_id, "activate")

    async def deactivate_event_hook(self, hook_id: str) -> EventHook:
        return await self._event_hook_lifecycle(hook_id, "deactivate")

    async def delete_event_hook(self, hook_id: str) -> None:
        """Remove a hook; Okta deletes only an INACTIVE one (deactivate it first)."""
        await self._transport.request("DELETE", f"/api/v1/eventHooks/{_segment(hook_id)}")

    # Factors

    async def unenroll_factor(self, user_id: str, factor_id: str) -> Outcome:
        """Remove one factor (unenrolling Okta Verify push also removes the user's other Okta Verify factors)."""
        path = f"/api/v1/users/{_segment(user_id)}/factors/{_segment(factor_id)}"
        return _outcome(await self._transport.request("DELETE", path))

    async def verify_push(self, user_id: str, factor_id: str, *, number_challenge: bool = False) -> FactorTransaction:
        """Send an Okta Verify push; poll the result with poll_factor_transaction(tx.poll_url).

        `number_challenge`: the phone asks the user to pick a number, which Okta returns as
        `tx.correct_answer` (for someone else to read out to them). Never retried after a 5xx or
        timeout: a second attempt would send the user a second push.
        """
        path = f"/api/v1/users/{_segment(user_id)}/factors/{_segment(factor_id)}/verify"
        # A standard push takes no body; a number matching challenge requires one (the spec's note).
        body = {"json": {"useNumberMatchingChallenge": True}} if number_challenge else {}
        return FactorTransaction.model_validate(await self._json("POST", path, **body))

    async def poll_factor_transaction(self, url_or_ids: str | tuple[str, str, str]) -> FactorTransaction:
        """A push's current result, from its poll URL or (user_id, factor_id, transaction_id)."""
        if isinstance(url_or_ids, tuple):
            user_id, factor_id, transaction_id = (_segment(part) for part in url_or_ids)
            link = f"/api/v1/users/{user_id}/factors/{factor_id}/transactions/{transaction_id}"
        else:
            link = url_or_ids
            # The URL may have travelled through Slack (a button's value): accept only a poll URL.
            if not _POLL_PATH.fullmatch(urlsplit(link).path):
                raise ValueError("not a factor transaction poll URL")
        return FactorTransaction.model_validate(await self._json("GET", link))

