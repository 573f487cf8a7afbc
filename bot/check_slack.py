"""`check`'s Slack lines: the token and its scopes (auth.test), and every channel the policy names.

The bot has no chat:write.public, so it posts only where it is a member: each channel must exist
and have the bot in it. Names and ids are looked up among the channels the bot can see (public
ones, and private ones it is in), as conversations.list gives them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.advice import Advice, slack_advice
from bot.check_report import Result, attempt, failed, passed, skipped
from bot.manifest import FEATURE_SCOPES, METHOD_SCOPES, bot_scopes
from bot.settings import Settings
from policy import Policy

TIMEOUT_SECONDS = 10
MAX_CHANNEL_PAGES = 100  # of 1,000: a bound on the listing, far beyond any workspace's channels
NOT_CONFIGURED = "not configured: sandbox uses the simulator"


def _explain(exc: Exception) -> Advice | None:
    data = exc.response.data if isinstance(exc, SlackApiError) else None
    if not isinstance(data, dict):  # not Slack's JSON answer: a proxy's page, or no answer at all
        return None
    return slack_advice(str(data.get("error")), needed=data.get("needed"))


async def slack_checks(settings: Settings, policy: Policy | None) -> AsyncIterator[Result]:
    if settings.slack_bot_token is None:
        yield skipped("slack", NOT_CONFIGURED)
        return
    client = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url, timeout=TIMEOUT_SECONDS
    )
    found: dict[str, Any] = {}
    token = await attempt("slack", _token(client, found), _explain)
    yield token
    if policy is None:
        yield skipped("slack channels", "no policy")
    elif not found:
        yield skipped("slack channels", "the token was not accepted")
    else:
        yield await attempt("slack channels", _channels(client, policy, str(found["user"])), _explain)


async def _token(client: AsyncWebClient, found: dict[str, Any]) -> Result:
    try:
        response = await client.auth_test()
    except SlackApiError as exc:
        error = str(exc.response.get("error"))
        advice = slack_advice(error)
        return failed("slack", f"auth.test refused the token: {error}", (str(advice),) if advice else ())
    found.update(response.data)  # type: ignore[arg-type]  # auth.test answers an object
    who = f"bot @{response['user']} ({response['user_id']}) in {response['team']} ({response['team_id']})"
    # Slack reports the token's scopes in a header; a workspace that installed an older manifest lacks some.
    headers = {k.lower(): v for k, v in response.headers.items()}
    if "x-oauth-scopes" not in headers:
        return passed("slack", f"auth.test ok: {who}")
    granted = {s.strip() for s in headers["x-oauth-scopes"].split(",") if s.strip()}
    missing = [s for s in bot_scopes() if s not in granted]
    if missing:
        needs = tuple(f"{scope}: needed for {_uses(scope)}" for scope in missing)
        advice = slack_advice("missing_scope", needed=", ".join(missing))
        return failed("slack", f"{who} lacks scopes {', '.join(missing)}: reinstall the app from the manifest",
                      (*needs, str(advice)))
    return passed("slack", f"auth.test ok: {who}, every scope of the manifest granted")


def _uses(scope: str) -> str:
    methods = [method for method, scopes in METHOD_SCOPES.items() if scope in scopes]
    return ", ".join(methods) if methods else FEATURE_SCOPES.get(scope, "the app")


def policy_channels(policy: Policy) -> dict[str, list[str]]:
    """Each channel the policy names (as written) -> where, in the order of the file."""
    named: list[tuple[str, str | None]] = [("approvals.channel", policy.approvals.channel)]
    named += [(f"verbs.{verb.value}.approval.channel", rule.approval.channel if rule.approval else None)
              for verb, rule in policy.verbs.items()]
    named.append(("audit.channel", policy.audit.channel if policy.audit else None))
    named.append(("self_service.announce_channel", policy.self_service.announce_channel))
    if policy.alerts is not None:
        named.append(("alerts.default_channel", policy.alerts.default_channel))
        named += [(f"alerts.rules[{i}].channel", rule.channel) for i, rule in enumerate(policy.alerts.rules, 1)]
    channels: dict[str, list[str]] = {}
    for where, channel in named:
        if channel is not None:
            channels.setdefault(channel, []).append(where)
    return channels


async def _channels(client: AsyncWebClient, policy: Policy, bot: str) -> Result:
    wanted = policy_channels(policy)
    visible = await _visible_channels(client)
    problems: list[str] = []
    for channel, where in wanted.items():
        info = visible.get(channel.removeprefix("#") if channel.startswith("#") else channel)
        error = _unusable(info)
        if error is not None:
            advice = slack_advice(error, channel=channel, bot=bot)
            problems.append(f"{channel} ({', '.join(where)}): {error}: {advice}")
    if problems:
        return failed("slack channels", f"{len(problems)} of {len(wanted)} cannot be posted to", tuple(problems))
    return passed("slack channels", f"{', '.join(wanted)} exist and the bot is in each")


def _unusable(info: dict[str, Any] | None) -> str | None:
    """Why the bot cannot post in a channel, in Slack's words, or None."""
    if info is None:
        return "channel_not_found"
    if info.get("is_archived"):
        return "is_archived"
    return None if info.get("is_member") else "not_in_channel"


async def _visible_channels(client: AsyncWebClient) -> dict[str, dict[str, Any]]:
    """Every channel the bot can see (public ones, private ones it is in), by name and by id."""
    channels: dict[str, dict[str, Any]] = {}
    cursor = None
    for _ in range(MAX_CHANNEL_PAGES):
        page = await client.conversations_list(types="public_channel,private_channel", limit=1000, cursor=cursor)
        for channel in page["channels"]:
            channels[channel["name"]] = channels[channel["id"]] = channel
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return channels
