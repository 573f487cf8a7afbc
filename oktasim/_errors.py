"""Okta's error bodies and the catalogue of errors the simulator returns.

Codes and summaries follow Okta's published error-code list (developer.okta.com/docs/reference/error-codes).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from typing import Any


class OktaError(Exception):
    """An error answered as Okta does: an HTTP status and an Error JSON body."""

    def __init__(
        self,
        status: int,
        code: str,
        summary: str,
        causes: Iterable[str] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {summary}")
        self.status = status
        self.code = code
        self.summary = summary
        self.causes = tuple(causes)
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {
            "errorCode": self.code,
            "errorSummary": self.summary,
            "errorLink": self.code,
            "errorId": "oae" + secrets.token_urlsafe(16)[:22],
            "errorCauses": [{"errorSummary": cause} for cause in self.causes],
        }


def validation(subject: str, *causes: str) -> OktaError:
    return OktaError(400, "E0000001", f"Api validation failed: {subject}", causes)


def malformed_body() -> OktaError:
    return OktaError(400, "E0000003", "The request body was not well-formed.")


def access_denied(headers: Mapping[str, str] | None = None) -> OktaError:
    return OktaError(403, "E0000006", "You do not have permission to perform the requested action", headers=headers)


def not_found(resource_id: str, kind: str) -> OktaError:
    return OktaError(404, "E0000007", f"Not found: Resource not found: {resource_id} ({kind})")


def path_not_found() -> OktaError:
    return OktaError(404, "E0000008", "The requested path was not found")


def invalid_token(headers: Mapping[str, str] | None = None) -> OktaError:
    return OktaError(401, "E0000011", "Invalid token provided", headers=headers)


def already_active() -> OktaError:
    return OktaError(403, "E0000016", "Activation failed because the user is already active")


def password_reset_failed() -> OktaError:
    return OktaError(403, "E0000017", "Password reset failed")


def method_not_allowed() -> OktaError:
    return OktaError(405, "E0000022", "The endpoint does not support the provided HTTP method")


def invalid_paging() -> OktaError:
    return OktaError(400, "E0000029", "Invalid paging request.")


def invalid_search() -> OktaError:
    return OktaError(400, "E0000031", "Invalid search criteria.")


def unlock_not_allowed() -> OktaError:
    return OktaError(403, "E0000032", "Unlock is not allowed for this user.")


def search_and_filter() -> OktaError:
    return OktaError(400, "E0000033", "Bad request. Can't specify a search query and filter in the same request.")


def status_forbids() -> OktaError:
    return OktaError(403, "E0000038", "This operation is not allowed in the user's current status.")


def rate_limited() -> OktaError:
    return OktaError(429, "E0000047", "API call exceeded rate limit due to too many requests.")


def invalid_log_filter(expression: str, reason: str) -> OktaError:
    return OktaError(400, "E0000053", f"Invalid filter '{expression}': {reason}")


def expired_password_needs_password() -> OktaError:
    summary = (
        "Could not create user. To create a user and expire their password immediately, a password must be specified."
    )
    return OktaError(400, "E0000124", summary, [summary])


def expired_password_needs_activation() -> OktaError:
    summary = "Could not create user. To create a user and expire their password immediately, `activate` must be true."
    return OktaError(400, "E0000125", summary, [summary])


def invalid_passcode() -> OktaError:
    return OktaError(403, "E0000068", "Invalid Passcode/Answer")


_SERVER_ERRORS = {
    429: ("E0000047", "API call exceeded rate limit due to too many requests."),
    503: ("E0000010", "Service is in read only mode"),
}


def server_error(status: int) -> OktaError:
    """An injected failure: Okta's body for that status (500-style for anything unlisted)."""
    code, summary = _SERVER_ERRORS.get(status, ("E0000009", "Internal Server Error"))
    return OktaError(status, code, summary)
