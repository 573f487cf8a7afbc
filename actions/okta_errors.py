"""Okta's errors, said so that a helpdesk agent knows what happened and what to do next."""

from __future__ import annotations

from oktaclient.errors import (
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
from slacktext import escape


def explain(exc: OktaError, action: str) -> str:
    """One mrkdwn paragraph: what failed (`action`, e.g. "Suspending Lee Locked"), why, what now."""
    if not isinstance(exc, OktaApiError):
        reason = exc.reason if isinstance(exc, OktaTransportError) else str(exc)
        return f"{action} failed: Okta did not answer ({escape(reason)}). It may or may not have happened; look the user up."
    causes = "; ".join(escape(c) for c in exc.error_causes)
    said = f"Okta says: _{escape(exc.error_summary.rstrip('.'))}_" + (f" ({causes})" if causes else "")
    ref = f" Okta request id `{escape(exc.request_id)}`." if exc.request_id else ""
    match exc:
        case OktaBadRequest():
            why = "Okta refused it: the account's current state does not allow this."
        case OktaNotFound():
            why = "Okta no longer finds that user or group."
        case OktaRateLimited():
            why = "Okta's rate limit is exhausted even after waiting; try again in a minute."
        case OktaServerError():
            why = "Okta had an internal error; try again shortly."
        case OktaForbidden():
            why = "The bot's Okta credentials may not do this (admin role or scope missing); tell your Okta admin."
        case OktaAuthError():
            why = "The bot's Okta credentials were rejected; tell your Okta admin."
        case _:
            why = "Okta refused it."
    return f"{action} failed. {why} {said}.{ref}"
