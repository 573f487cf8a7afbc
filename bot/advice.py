"""What to fix when Okta or Slack refuses the bot: each known failure mapped to the setting to change
and how, for `check`, `hooks` and the start-up log alike.

Okta's and Slack's own words ("401 E0000011: Invalid token provided", "invalid_client: The issuer
claim for client_assertion is not a valid client_id", "not_in_channel") name the symptom; the admin
needs the cause. `okta_advice` and `slack_advice` return it, or None for a failure not known here
(the caller then shows the service's words alone).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.settings import Settings
from oktaclient import OktaApiError, OktaError, OktaTransportError

_SCOPE = re.compile(r"\bokta\.[A-Za-z]+\.(?:read|manage)\b")


@dataclass(frozen=True)
class Advice:
    setting: str  # what to change: an environment variable, or a place in Okta's or Slack's admin pages
    fix: str  # how

    def __str__(self) -> str:
        return f"fix {self.setting}: {self.fix}"


def okta_advice(exc: OktaError, settings: Settings, *, hooks: bool = False) -> Advice | None:
    """The fix for an Okta failure; `hooks`: it happened managing event hooks (`okta-chatops hooks`)."""
    org = settings.okta_org_url or "OKTA_ORG_URL"
    if isinstance(exc, OktaTransportError):
        return Advice(
            "OKTA_ORG_URL",
            f"nothing answered at {org}: check the address (https://<org>.okta.com, not the -admin one) and that "
            "this host may reach it over HTTPS (proxy, firewall)",
        )
    if not isinstance(exc, OktaApiError):
        return None
    token = settings.okta_api_token is not None
    said = exc.error_summary.lower()
    code = exc.error_code
    if code == "E0000011":
        if token:
            return Advice(
                "OKTA_API_TOKEN",
                f"{org} does not accept this token: it was revoked, expired after 30 days unused, or belongs to "
                "another org. Create one under Security > API > Tokens, as an admin with the roles the bot needs",
            )
        return Advice("OKTA_ORG_URL", f"{org} refused the access token it issued: use the org's own URL, no path")
    if code == "invalid_client":
        return _invalid_client(said, settings)
    if code == "invalid_dpop_proof" or "dpop" in said:
        return Advice(
            "the service app's DPoP setting",
            "under General > Client Credentials, turn off 'Require Demonstrating Proof of Possession (DPoP) header "
            "in token requests': the bot uses Bearer tokens",
        )
    if code == "invalid_scope":
        return Advice(
            "OKTA_SCOPES",
            f"the service app {settings.okta_client_id} was not granted {', '.join(refused_scopes(exc, settings))}: "
            "grant them on its Okta API Scopes tab, or remove them from OKTA_SCOPES",
        )
    if code == "unauthorized_client":
        return Advice(
            "OKTA_CLIENT_ID",
            "that app may not use the client credentials grant: the bot needs an API Services app "
            "(Applications > Create App Integration > API Services)",
        )
    if exc.status == 403 and code == "E0000006":
        return _forbidden(token, hooks=hooks)
    if exc.status == 404 and hooks:
        return Advice("the event hook id", "Okta has no such event hook: `okta-chatops hooks list` shows the ids")
    if exc.status == 429:
        return Advice(
            "nothing", "Okta's rate limit for this endpoint is spent (the org's other integrations share it): wait a "
            "minute and try again",
        )
    return None


def refused_scopes(exc: OktaApiError, settings: Settings) -> list[str]:
    """The scopes an invalid_scope answer refused: those it names, or (if it names none) every one asked for."""
    if exc.error_code != "invalid_scope":
        return []
    return sorted(set(_SCOPE.findall(exc.error_summary))) or list(settings.okta_scopes)


def _invalid_client(said: str, settings: Settings) -> Advice:
    client = settings.okta_client_id
    if "issuer" in said or "subject" in said or "client_id" in said:
        return Advice(
            "OKTA_CLIENT_ID",
            f"{settings.okta_org_url} has no service app with Client ID {client!r}: copy it from Applications > "
            "(the app) > General > Client Credentials, and check that OKTA_ORG_URL is the org the app is in",
        )
    if "signature" in said:
        return Advice(
            "OKTA_PRIVATE_KEY",
            f"the key matches no public key registered on the service app {client}: add this key's public JWK "
            "under General > Client Credentials > Public Keys, or set the private key of the registered one",
        )
    if any(word in said for word in ("expired", "issued before", "too far")):
        return Advice("this host's clock", "Okta judged the client assertion's times by its own clock: sync it (NTP)")
    return Advice(
        "the service app's client authentication",
        "under General > Client Credentials, set Client authentication to 'Public key / Private key' "
        "(the bot authenticates with private_key_jwt)",
    )


def _forbidden(token: bool, *, hooks: bool) -> Advice:
    if hooks and token:
        return Advice(
            "OKTA_API_TOKEN",
            "the token's admin may not manage event hooks: use a token created by a Super Administrator "
            "(an API token has the permissions of the admin who created it)",
        )
    if hooks:
        return Advice(
            "OKTA_SCOPES",
            "the service app may not manage event hooks: grant okta.eventHooks.manage and okta.eventHooks.read on "
            "its Okta API Scopes tab, add both to OKTA_SCOPES, and give it an admin role that covers event hooks",
        )
    if token:
        return Advice(
            "OKTA_API_TOKEN",
            "the token's admin lacks the role for this (an API token has its creator's permissions): create it as "
            "an admin with the roles listed in docs/deploy.md, step 3",
        )
    return Advice(
        "OKTA_SCOPES",
        "the service app may not do this: its scopes (Okta API Scopes tab, and OKTA_SCOPES) or its admin roles "
        "(Admin roles tab) lack the permission; docs/deploy.md, step 3, lists both",
    )


def slack_advice(
    error: str, *, channel: str | None = None, needed: str | None = None, bot: str = "okta"
) -> Advice | None:
    """The fix for a Slack Web API error code; `channel` and `needed` (missing_scope) give it context."""
    where = channel or "the channel"
    if error == "invalid_auth":
        return Advice(
            "SLACK_BOT_TOKEN",
            "Slack does not accept this token (mistyped, or reissued when the app was reinstalled): copy the Bot "
            "User OAuth Token (xoxb-…) from the app's OAuth & Permissions page",
        )
    if error == "not_authed":
        return Advice("SLACK_BOT_TOKEN", "no token reached Slack: set it to the app's Bot User OAuth Token")
    if error in ("token_revoked", "token_expired", "account_inactive"):
        return Advice(
            "SLACK_BOT_TOKEN",
            "the token was revoked or the app uninstalled: install the app to the workspace again and set the new "
            "Bot User OAuth Token",
        )
    if error == "missing_scope":
        return Advice(
            "the Slack app's scopes",
            f"the token lacks {needed or 'a scope'}: update the app from `okta-chatops manifest` (App Manifest > "
            "paste > Save), reinstall it, and set the Bot User OAuth Token if it changed",
        )
    if error == "not_in_channel":
        return Advice(where, f"the bot is not a member: type /invite @{bot} in {where}")
    if error == "channel_not_found":
        return Advice(
            "POLICY_FILE",
            f"the bot sees no channel {where}: create it, correct the name in the policy file, or, if it is "
            "private, invite the bot to it",
        )
    if error == "is_archived":
        return Advice("POLICY_FILE", f"{where} is archived: unarchive it, or name another channel in the policy file")
    if error == "ratelimited":
        return Advice("nothing", "Slack's rate limit for this method is spent: wait a minute and try again")
    return None
