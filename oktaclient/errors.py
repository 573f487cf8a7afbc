"""Exceptions raised by the client: one class per kind of failure a caller handles differently.

Messages and reprs carry only what Okta said (status, errorCode, errorSummary, causes) and the
request id; never request headers, tokens or response bodies (a reset URL lives in a body).
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

REQUEST_ID_HEADER = "X-Okta-Request-Id"


class OktaError(Exception):
    """Base class of everything the client raises about talking to Okta."""


class OktaApiError(OktaError):
    """Okta answered with an error status (after any retries the client was allowed to make)."""

    def __init__(
        self,
        status: int,
        error_code: str,
        error_summary: str,
        error_causes: Sequence[str] = (),
        request_id: str | None = None,
    ) -> None:
        self.status = status
        self.error_code = error_code
        self.error_summary = error_summary
        self.error_causes = list(error_causes)
        self.request_id = request_id
        super().__init__(self._message())

    def _message(self) -> str:
        text = f"{self.status} {self.error_code}: {self.error_summary}"
        if self.error_causes:
            text += " (" + "; ".join(self.error_causes) + ")"
        if self.request_id:
            text += f" [request {self.request_id}]"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status}, error_code={self.error_code!r}, "
            f"error_summary={self.error_summary!r}, error_causes={self.error_causes!r}, "
            f"request_id={self.request_id!r})"
        )


class OktaBadRequest(OktaApiError):
    """The request cannot be carried out as asked: invalid input (400), or the target's current state
    does not allow the operation. Okta answers the latter with 400 E0000001 (suspend, unsuspend) or
    with 403 and a state-specific code (see WRONG_STATE_CODES); `status` keeps what Okta sent.
    """


class OktaAuthError(OktaApiError):
    """401: the API token or access token was rejected, or the OAuth client could not get a token."""


class OktaForbidden(OktaApiError):
    """403: authenticated, but the token's admin role or scopes do not allow this."""


class OktaNotFound(OktaApiError):
    """404: no such user, group, factor, hook or transaction."""


class OktaRateLimited(OktaApiError):
    """429 still being returned after the client waited for the rate-limit window and retried."""


class OktaServerError(OktaApiError):
    """5xx: Okta failed (after retries, for requests that are safe to repeat)."""


class OktaTransportError(OktaError):
    """No HTTP answer at all (timeout, refused or dropped connection) after any allowed retries."""

    def __init__(self, method: str, path: str, reason: str) -> None:
        self.method = method
        self.path = path
        self.reason = reason
        super().__init__(f"{method} {path}: {reason}")

    def __repr__(self) -> str:
        return f"OktaTransportError(method={self.method!r}, path={self.path!r}, reason={self.reason!r})"


# 403s that are about the user's status, not about permissions: activate on an active user
# (E0000016), reset_password (E0000017), unlock on a user not locked out (E0000032), any other
# lifecycle operation the status forbids (E0000038).
WRONG_STATE_CODES = frozenset({"E0000016", "E0000017", "E0000032", "E0000038"})

_BY_STATUS: dict[int, type[OktaApiError]] = {
    400: OktaBadRequest,
    401: OktaAuthError,
    403: OktaForbidden,
    404: OktaNotFound,
    429: OktaRateLimited,
}


def error_from_response(response: httpx.Response) -> OktaApiError:
    """The exception for an error response, from Okta's error body or an OAuth 2.0 error body."""
    status = response.status_code
    code, summary, causes = "", response.reason_phrase, []
    try:
        body = response.json()
    except ValueError:  # a proxy's HTML page, an empty body: the status still says enough
        body = None
    oauth = False
    if isinstance(body, dict) and "errorCode" in body:  # Okta's Error object (models.ErrorBody)
        code, summary = str(body["errorCode"]), str(body.get("errorSummary") or summary)
        causes = [str(c.get("errorSummary")) for c in body.get("errorCauses") or () if isinstance(c, dict)]
    elif isinstance(body, dict) and "error" in body:  # the /oauth2/v1/token endpoint (RFC 6749 section 5.2)
        code, summary = str(body["error"]), str(body.get("error_description") or body["error"])
        oauth = True
    cls: type[OktaApiError]
    if code in WRONG_STATE_CODES:
        cls = OktaBadRequest
    elif oauth and status < 500 and status != 429:
        cls = OktaAuthError  # invalid_client, invalid_scope, ...: the service app's credentials or grants
    elif status >= 500:
        cls = OktaServerError
    else:
        cls = _BY_STATUS.get(status, OktaApiError)
    return cls(status, code, summary, causes, response.headers.get(REQUEST_ID_HEADER))
