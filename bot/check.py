"""`okta-chatops check`: is this deployment ready? One ✓/✗ line per check, exit code 0 or 1.

Checks the settings and the policy file, then talks to what is configured: Redis (version and
role), Slack (auth.test, and the granted scopes against the manifest's) and Okta (a one-user
listing, which also obtains an access token for an OAuth service app). Parts left unset are
skipped: the sandbox runs them on stand-ins. Every line passes through the log redaction, with
the configured secrets registered, so no secret is printed even inside an error message.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.logs import redact, register_settings_secrets
from bot.manifest import bot_scopes
from bot.settings import Settings, SettingsError, load_settings
from oktaclient import OktaClient
from policy import PolicyError, load_policy

MIN_REDIS = (6, 2)  # the alert workers claim stale stream entries with XAUTOCLAIM (6.2)
TIMEOUT_SECONDS = 10.0
NOT_CONFIGURED = "skipped (not configured: sandbox uses the simulator)"


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool | None  # None: skipped
    detail: str
    problems: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        mark = {True: "✓", False: "✗", None: "-"}[self.ok]
        return [redact(f"{mark} {self.name}: {self.detail}"), *(redact(f"    - {p}") for p in self.problems)]


def register(sub: Any) -> None:
    check = sub.add_parser(
        "check", help="check the settings, the policy file and the Slack, Okta and Redis credentials"
    )
    check.add_argument("--policy", type=Path, help="the policy file to check (default: POLICY_FILE)")
    check.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(serving=True, **({"policy_file": args.policy} if args.policy else {}))
    except SettingsError as exc:
        _show(Result("settings", False, "invalid; nothing else was checked", tuple(exc.problems)))
        return 1
    register_settings_secrets(settings)
    results = [Result("settings", True, "valid")]
    _show(results[0])
    for check in (_policy, _redis, _slack, _okta):
        results.append(await _guarded(check, settings))
        _show(results[-1])  # as it comes: a slow service is seen to be the slow one
    return 0 if all(r.ok is not False for r in results) else 1


def _show(result: Result) -> None:
    for line in result.lines():
        print(line, flush=True)


async def _guarded(check: Callable[[Settings], Awaitable[Result]], settings: Settings) -> Result:
    """Any failure to reach or use a service is that check's ✗, never a crash of the command."""
    try:
        return await check(settings)
    except Exception as exc:  # noqa: BLE001 - reported, with its type, as the check's reason
        name, reason = check.__name__.removeprefix("_"), " ".join(str(exc).split())  # one line
        return Result(name, False, f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__)


async def _policy(settings: Settings) -> Result:
    if settings.policy_file is None:
        return Result("policy", None, "skipped (no POLICY_FILE and no --policy)")
    try:
        policy = load_policy(settings.policy_file)
    except PolicyError as exc:
        return Result("policy", False, f"{exc.source}: {len(exc.problems)} problem(s)", tuple(exc.problems))
    # which membership changes always need approval, and why: the derived groups are easy to overlook
    privileged = tuple(f"privileged group {group!r}: {'; '.join(why)}" for group, why in policy.privileged.items())
    return Result("policy", True, f"{settings.policy_file} is valid ({len(policy.roles)} roles)", privileged)


async def _redis(settings: Settings) -> Result:
    if settings.redis_url is None:
        return Result("redis", None, "skipped (not configured: the bot runs an embedded Redis under DATA_DIR)")
    client = aioredis.Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_timeout=TIMEOUT_SECONDS,
        socket_connect_timeout=TIMEOUT_SECONDS,
    )
    async with client:
        server = await client.info("server")
        role = (await client.info("replication"))["role"]
    version = str(server["redis_version"])
    where = _redis_location(settings.redis_url)
    if tuple(int(part) for part in version.split(".")[:2]) < MIN_REDIS:
        return Result("redis", False, f"Redis {version} at {where}: {'.'.join(map(str, MIN_REDIS))} or later is needed")
    if role != "master":
        return Result("redis", False, f"Redis {version} at {where} is a {role}: point REDIS_URL at the primary")
    return Result("redis", True, f"Redis {version} at {where}, primary")


def _redis_location(url: str) -> str:
    """Where REDIS_URL points, without its credentials."""
    parts = urlsplit(url)
    return parts.path if parts.scheme == "unix" else f"{parts.hostname}:{parts.port or 6379}"


async def _slack(settings: Settings) -> Result:
    if settings.slack_bot_token is None:
        return Result("slack", None, NOT_CONFIGURED)
    client = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url, timeout=int(TIMEOUT_SECONDS)
    )
    try:
        response = await client.auth_test()
    except SlackApiError as exc:
        return Result("slack", False, f"auth.test refused the token: {exc.response.get('error')}")
    who = f"bot @{response['user']} ({response['user_id']}) in {response['team']} ({response['team_id']})"
    # Slack reports the token's scopes in a header; a workspace that installed an older manifest lacks some.
    headers = {k.lower(): v for k, v in response.headers.items()}
    if "x-oauth-scopes" not in headers:
        return Result("slack", True, f"auth.test ok: {who}")
    granted = {s.strip() for s in headers["x-oauth-scopes"].split(",") if s.strip()}
    missing = [s for s in bot_scopes() if s not in granted]
    if missing:
        return Result("slack", False, f"{who} lacks scopes {', '.join(missing)}: reinstall the app from the manifest")
    return Result("slack", True, f"auth.test ok: {who}, every scope of the manifest granted")


async def _okta(settings: Settings) -> Result:
    if settings.okta_org_url is None:
        return Result("okta", None, NOT_CONFIGURED)
    org = settings.okta_org_url
    options: dict[str, Any] = {"timeout": TIMEOUT_SECONDS, "max_retries": 0}
    if settings.okta_api_token is not None:
        how = "API token"
        client = OktaClient.from_api_token(org, settings.okta_api_token.get_secret_value(), **options)
    else:
        how = f"OAuth service app {settings.okta_client_id} (scopes {' '.join(settings.okta_scopes)})"
        client = OktaClient.from_private_key(
            org,
            settings.okta_client_id or "",
            settings.okta_private_key_pem() or "",
            scopes=settings.okta_scopes,
            **options,
        )
    async with client:
        await client.ping()  # GET /api/v1/users?limit=1 (for an OAuth app, after getting an access token)
    return Result("okta", True, f"{org} accepted the {how} (listed users)")
