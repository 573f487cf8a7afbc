"""`okta-chatops check` against the Okta simulator, the Slack stand-in and real Redis, over loopback HTTP:
each thing a deployment can get wrong that `check` can reach shows as a failed line saying what to fix."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from alerts.subscriptions import hook_event_types
from bot.cli import build_parser
from bot.hooks_cli import eligible_event_types
from bot.redis_server import EmbeddedRedis
from bot.settings import Settings
from oktaclient import OktaClient
from oktasim import OktaOrg
from policy import load_policy
from slacksim import SlackWorkspace
from tests.conftest import SIM_API_TOKEN, free_port
from tests.hooks_support import WAS_THIS_YOU_HOOKED, hook_endpoint, registered_hook

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_POLICY = ROOT / "policy" / "example.yaml"
HOOK_SECRET = "hook-secret-for-check-0123456789"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


async def check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    args = build_parser().parse_args(["check", *argv])
    code = await args.run(args)
    return code, capsys.readouterr().out.splitlines()


def line_for(lines: list[str], name: str) -> str:
    (line,) = [line for line in lines if line[2:].startswith(f"{name}:")]
    return line


def under(lines: list[str], name: str) -> list[str]:
    """The problem lines under a check's line."""
    rest = lines[lines.index(line_for(lines, name)) + 1 :]
    taken = []
    for line in rest:
        if not line.startswith("    - "):
            break
        taken.append(line.removeprefix("    - "))
    return taken


def policy_event_types() -> list[str]:
    """What the example policy needs: its alert rules' event types and those was_this_you asks about."""
    alerts = load_policy(EXAMPLE_POLICY).alerts
    assert alerts is not None
    return sorted(set(hook_event_types(alerts.rules, eligible_event_types())) | set(WAS_THIS_YOU_HOOKED))


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, okta_sim, slack, ws, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    """Every part configured, pointing at the stand-ins and the test Redis."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", ws.bot_token)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", ws.signing_secret)
    monkeypatch.setenv("SLACK_API_URL", f"{slack.url}/api/")
    monkeypatch.setenv("OKTA_ORG_URL", okta_sim.url)
    monkeypatch.setenv("OKTA_API_TOKEN", SIM_API_TOKEN)
    monkeypatch.setenv("OKTA_HOOK_SECRET", HOOK_SECRET)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("POLICY_FILE", str(EXAMPLE_POLICY))


@pytest.fixture
async def endpoint(redis: aioredis.Redis) -> AsyncIterator[str]:
    """The bot's hook endpoint, running with HOOK_SECRET."""
    async with hook_endpoint(redis, HOOK_SECRET) as url:
        yield url


@pytest.fixture
async def hooked(configured: None, endpoint: str, okta: OktaClient) -> str:
    """`configured`, with the event hook registered and verified; its URL."""
    await registered_hook(okta, endpoint, HOOK_SECRET, policy_event_types())
    return endpoint


async def test_everything_configured_and_working_passes(hooked: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = await check(capsys)
    assert code == 0, "\n".join(lines)
    checks = [line.split(":")[0] for line in lines if not line.startswith(" ")]
    assert checks == [
        f"✓ {name}"
        for name in ("settings", "secrets", "policy", "redis", "slack", "slack channels", "okta", "okta groups", "okta hook")
    ]
    assert line_for(lines, "secrets") == "✓ secrets: SLACK_SIGNING_SECRET, OKTA_HOOK_SECRET well formed"
    assert line_for(lines, "policy").startswith(f"✓ policy: {EXAMPLE_POLICY} is valid (")
    assert "auth.test ok: bot @" in line_for(lines, "slack")
    assert line_for(lines, "slack channels") == (
        "✓ slack channels: #approvals, #okta-audit, #helpdesk, #security-alerts exist and the bot is in each"
    )
    assert "accepted the API token" in line_for(lines, "okta")
    assert line_for(lines, "okta groups") == (
        "✓ okta groups: 'Helpdesk', 'Security', 'Approvers', 'Everyone', 'Okta Admins' exist"
    )
    assert line_for(lines, "okta hook").startswith("✓ okta hook: event hook who")
    assert f"({hooked}) is active and verified, subscribed to the {len(policy_event_types())} event types" in (
        line_for(lines, "okta hook")
    )
    assert ", primary" in line_for(lines, "redis")


async def test_a_hook_without_what_was_this_you_asks_about_fails(
    configured: None, endpoint: str, okta: OktaClient, capsys: pytest.CaptureFixture[str]
) -> None:
    alerts = load_policy(EXAMPLE_POLICY).alerts
    assert alerts is not None
    alerts_only = hook_event_types(alerts.rules, eligible_event_types())
    await registered_hook(okta, endpoint, HOOK_SECRET, alerts_only)
    code, lines = await check(capsys)
    missing = sorted(set(WAS_THIS_YOU_HOOKED) - set(alerts_only))
    assert code == 1 and "user.account.report_suspicious_activity_by_enduser" in missing
    assert line_for(lines, "okta hook").endswith(f"lacks event types the policy needs: {', '.join(missing)}")


async def test_check_lists_the_privileged_groups_and_why(configured: None, capsys: pytest.CaptureFixture[str]) -> None:
    _, lines = await check(capsys)
    under_policy = lines[lines.index(line_for(lines, "policy")) + 1 :]
    listed = [line.strip() for line in under_policy if line.startswith("    - privileged group")]
    # the example lists Okta Admins; every group that grants a role is privileged as well
    assert "- privileged group 'Okta Admins': listed in privileged_groups" in listed
    assert "- privileged group 'Approvers': grants the role 'approver'" in listed
    assert "- privileged group 'Helpdesk': grants the role 'helpdesk'" in listed
    assert "- privileged group 'Security': grants the role 'security'" in listed


async def test_rejected_credentials_fail_with_the_fix_and_without_showing_them(
    configured: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-0000-wrong-token")
    monkeypatch.setenv("OKTA_API_TOKEN", "00wrong-api-token")
    code, lines = await check(capsys)
    assert code == 1
    assert line_for(lines, "slack") == "✗ slack: auth.test refused the token: invalid_auth"
    assert under(lines, "slack")[0].startswith("fix SLACK_BOT_TOKEN: Slack does not accept this token")
    assert line_for(lines, "okta").startswith("✗ okta: OktaAuthError: 401 E0000011: Invalid token provided")
    assert under(lines, "okta")[0].startswith("fix OKTA_API_TOKEN: ")
    assert "Security > API > Tokens" in under(lines, "okta")[0]
    # what needs the rejected credentials is not tried
    assert "slack channels" in line_for(lines, "slack channels") and line_for(lines, "slack channels")[0] == "-"
    assert not [line for line in lines if line[2:].startswith(("okta groups", "okta hook"))]
    assert line_for(lines, "settings").startswith("✓") and line_for(lines, "redis").startswith("✓")
    output = "\n".join(lines)
    assert "wrong-token" not in output and "00wrong-api-token" not in output


async def test_unreachable_okta_fails_that_check_only(
    hooked: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OKTA_ORG_URL", f"http://127.0.0.1:{free_port()}")
    code, lines = await check(capsys)
    assert code == 1
    assert line_for(lines, "okta").startswith("✗ okta: OktaTransportError")
    assert under(lines, "okta")[0].startswith("fix OKTA_ORG_URL: nothing answered at http://127.0.0.1:")
    assert line_for(lines, "slack").startswith("✓")


async def test_nothing_configured_is_the_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = await check(capsys)
    assert code == 0
    assert lines == [
        "✓ settings: valid",
        "- secrets: skipped (no Slack signing secret or hook secret needed by what is configured)",
        "- policy: skipped (no POLICY_FILE and no --policy)",
        "- redis: skipped (not configured: the bot runs an embedded Redis under DATA_DIR)",
        "- slack: skipped (not configured: sandbox uses the simulator)",
        "- okta: skipped (not configured: sandbox uses the simulator)",
    ]


@pytest.mark.parametrize("value", ["", "   "])
async def test_an_empty_signing_secret_fails(
    configured: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", value)
    code, lines = await check(capsys)
    assert code == 1
    assert lines[:2] == [
        "✗ settings: invalid; nothing else was checked",
        "    - SLACK_SIGNING_SECRET: required when SLACK_BOT_TOKEN is set (HTTP mode)",
    ]


async def test_a_signing_secret_slack_would_never_issue_fails(
    hooked: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], ws: SlackWorkspace
) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "the-verification-token-instead")
    monkeypatch.setenv("OKTA_API_TOKEN", SIM_API_TOKEN + "\n")  # pasted with its line break
    code, lines = await check(capsys)
    assert code == 1
    assert line_for(lines, "secrets") == "✗ secrets: cannot work as set"
    assert under(lines, "secrets") == [
        "OKTA_API_TOKEN: has spaces or a line break at an end (copied with it?): remove them",
        ("SLACK_SIGNING_SECRET: not a Slack signing secret (32 hexadecimal characters), so every request from Slack "
        "would be refused: copy Basic Information > App Credentials > Signing Secret"),
    ]


async def test_a_missing_hook_secret_fails(
    configured: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OKTA_HOOK_SECRET")
    code, lines = await check(capsys)
    assert code == 1
    assert under(lines, "secrets") == [
        ("OKTA_HOOK_SECRET: not set, so the bot refuses every event hook delivery and no Okta alert arrives: set a "
        "long random value (openssl rand -hex 32), then run `okta-chatops hooks register`"),
    ]
    # reading the System Log instead, the bot needs no hook secret, and no hook
    monkeypatch.setenv("OKTA_POLL_LOGS", "true")
    code, lines = await check(capsys)
    assert line_for(lines, "secrets") == "✓ secrets: SLACK_SIGNING_SECRET well formed"
    assert not [line for line in lines if line[2:].startswith("okta hook")]


async def test_a_rotation_under_way_is_a_warning(
    hooked: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OKTA_HOOK_SECRET_PREVIOUS", "the-old-hook-secret-0123456789")
    code, lines = await check(capsys)
    assert code == 0
    assert line_for(lines, "secrets") == "! secrets: well formed; the previous hook secret is still accepted"
    assert under(lines, "secrets")[0].startswith("OKTA_HOOK_SECRET_PREVIOUS: a rotation is under way")


async def test_invalid_settings_list_every_problem_and_stop(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "not-a-bot-token-s3cret")
    code, lines = await check(capsys)
    assert code == 1
    assert lines == [
        "✗ settings: invalid; nothing else was checked",
        "    - SLACK_BOT_TOKEN: must be a bot token (starts with xoxb-)",
        "    - SLACK_SIGNING_SECRET: required when SLACK_BOT_TOKEN is set (HTTP mode)",
        "    - POLICY_FILE: required with a real Slack workspace (start from policy/example.yaml)",
        (
            "    - Slack is configured but Okta is not: set OKTA_ORG_URL and its credentials, or "
            "ALLOW_PARTIAL_SANDBOX=true to run against a simulated Okta on purpose (never in production)"
        ),
    ]


async def test_a_broken_policy_file_is_reported_line_by_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("roles:\n  helpdesk: {slack_users: [nobody]}\n")
    code, lines = await check(capsys, "--policy", str(policy))
    assert code == 1
    assert line_for(lines, "policy").startswith(f"✗ policy: {policy}:")
    assert any(line.startswith("    - ") for line in lines)


async def test_production_without_redis_url_warns_of_one_redis_per_replica(
    hooked: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REDIS_URL")
    code, lines = await check(capsys)
    assert code == 0
    assert line_for(lines, "redis").startswith("! redis: no REDIS_URL: each replica runs an embedded Redis of its own")
    assert "two or more would each keep their own approvals" in line_for(lines, "redis")


async def test_a_redis_replica_is_refused(
    configured: None,
    monkeypatch: pytest.MonkeyPatch,
    redis_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import redis.asyncio as aioredis

    replica = EmbeddedRedis(tmp_path / "replica", port=free_port(), persist=False)
    url = replica.start()
    try:
        primary_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
        async with aioredis.Redis.from_url(url) as client:
            await client.replicaof("127.0.0.1", primary_port)
        monkeypatch.setenv("REDIS_URL", url)
        code, lines = await check(capsys)
    finally:
        replica.stop()
    assert code == 1
    assert "is a slave: point REDIS_URL at the primary" in line_for(lines, "redis")


def _rsa_key() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private.decode(), public.decode()


ALL_SCOPES = "okta.users.manage okta.groups.manage okta.logs.read okta.eventHooks.read"


Grant = Callable[..., None]


@pytest.fixture
def grant(monkeypatch: pytest.MonkeyPatch, okta_org: OktaOrg) -> Grant:
    """The bot authenticates as the OAuth service app 0oachatops; `grant("scope ...", requested=...)`
    sets what its admin granted it (registering the app again, as an admin editing its Okta API Scopes
    tab) and OKTA_SCOPES (by default, what was granted)."""
    private_pem, public_pem = _rsa_key()
    monkeypatch.delenv("OKTA_API_TOKEN")
    monkeypatch.setenv("OKTA_CLIENT_ID", "0oachatops")
    monkeypatch.setenv("OKTA_PRIVATE_KEY", private_pem)

    def grant(scopes: str, requested: str | None = None) -> None:
        okta_org.register_oauth_client("0oachatops", public_pem, scopes.split())
        monkeypatch.setenv("OKTA_SCOPES", requested or scopes)

    return grant


async def test_a_service_app_granted_what_the_policy_needs_passes(
    hooked: str, grant: Grant, capsys: pytest.CaptureFixture[str]
) -> None:
    grant(ALL_SCOPES)
    code, lines = await check(capsys)
    assert code == 0, "\n".join(lines)
    assert "OAuth service app 0oachatops" in line_for(lines, "okta")
    assert line_for(lines, "okta scopes") == (
        "✓ okta scopes: OKTA_SCOPES covers every verb the policy allows (okta.groups.manage, okta.groups.read, "
        "okta.logs.read, okta.users.manage, okta.users.read)"
    )
    assert line_for(lines, "okta hook").startswith("✓ okta hook:")
    assert "PRIVATE KEY" not in "\n".join(lines)


async def test_scopes_missing_from_the_request_or_the_grant_name_the_verbs_they_break(
    configured: None, grant: Grant, capsys: pytest.CaptureFixture[str]
) -> None:
    # OKTA_SCOPES leaves out groups.manage; it asks for factors.manage, which the app was not granted
    grant(
        "okta.users.manage okta.groups.read okta.logs.read",
        requested="okta.users.manage okta.groups.read okta.logs.read okta.factors.manage",
    )
    code, lines = await check(capsys)
    assert code == 1
    assert line_for(lines, "okta").startswith("✗ okta: OktaAuthError: 400 invalid_scope: ")
    assert under(lines, "okta") == [
        ("fix OKTA_SCOPES: the service app 0oachatops was not granted okta.factors.manage: grant them on its Okta API "
        "Scopes tab, or remove them from OKTA_SCOPES"),
    ]
    assert line_for(lines, "okta scopes") == "✗ okta scopes: the service app cannot do everything the policy allows"
    assert under(lines, "okta scopes") == [
        (
            "okta.groups.manage: needed by add-to-group, remove-from-group, bulk-add-to-group, bulk-remove-from-group, "
            "time-bound access (request), time-bound access (break-glass); not in OKTA_SCOPES: add it (and grant it on the "
            "service app's Okta API Scopes tab)"
        ),
        "okta.factors.manage: not granted, and nothing the policy allows needs it: remove it from OKTA_SCOPES",
    ]

    # asked for but not granted, and needed: the verbs it breaks are named
    grant("okta.users.read okta.groups.manage okta.logs.read", requested="okta.users.manage okta.groups.manage okta.logs.read")
    code, lines = await check(capsys)
    assert under(lines, "okta scopes") == [
        ("okta.users.manage: needed by unlock, reset-password, expire-password, clear-sessions, suspend, unsuspend, "
        "deactivate, reset-mfa, activate, reactivate, verify, self-service unlock, self-service reset-password; not granted to "
        "the service app: grant it on "
        "its Okta API Scopes tab"),
    ]


@pytest.mark.parametrize(
    ("setting", "value", "fix"),
    [
        ("OKTA_CLIENT_ID", "0oatypo", "fix OKTA_CLIENT_ID: http://127.0.0.1:"),
        ("OKTA_PRIVATE_KEY", _rsa_key()[0], "fix OKTA_PRIVATE_KEY: the key matches no public key registered on the "),
    ],
)
async def test_a_service_app_okta_does_not_recognise_is_told_what_to_fix(
    configured: None, grant: Grant, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    setting: str, value: str, fix: str,
) -> None:
    grant(ALL_SCOPES)
    monkeypatch.setenv(setting, value)
    code, lines = await check(capsys)
    assert code == 1
    assert line_for(lines, "okta").startswith("✗ okta: OktaAuthError: 401 invalid_client: The ")
    assert under(lines, "okta")[0].startswith(fix)
    assert "PRIVATE KEY" not in "\n".join(lines)


async def test_a_hook_the_credential_may_not_read_is_a_warning(
    hooked: str, grant: Grant, capsys: pytest.CaptureFixture[str]
) -> None:
    grant("okta.users.manage okta.groups.manage okta.logs.read")
    code, lines = await check(capsys)
    assert code == 0, "\n".join(lines)
    assert line_for(lines, "okta hook") == "! okta hook: not confirmed: OKTA_SCOPES lacks okta.eventHooks.read"


async def test_a_token_missing_a_manifest_scope_fails(
    hooked: str, ws: SlackWorkspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws.scopes -= {"users:read.email", "groups:read"}  # an app installed from an older manifest
    code, lines = await check(capsys)
    assert code == 1
    assert line_for(lines, "slack") == (
        "✗ slack: bot @okta-chatops (U0OKTABOT01) in Acme (T0ACME00001) lacks scopes groups:read, users:read.email: "
        "reinstall the app from the manifest"
    )
    assert under(lines, "slack")[:2] == [
        "groups:read: needed for conversations.list",
        "users:read.email: needed for users.info, users.lookupByEmail",
    ]
    fix = "fix the Slack app's scopes: the token lacks groups:read, users:read.email: update the app from"
    assert under(lines, "slack")[2].startswith(fix)
    # the channel listing, which needs groups:read, fails as Slack answers it
    assert line_for(lines, "slack channels").startswith("✗ slack channels: SlackApiError: ")
    assert "missing_scope" in line_for(lines, "slack channels")
    assert under(lines, "slack channels")[0].startswith("fix the Slack app's scopes: the token lacks groups:read")


def _policy_naming(tmp_path: Path, groups: str, channels: str) -> Path:
    text = EXAMPLE_POLICY.read_text()
    text = text.replace('okta_groups: ["Helpdesk"]', f"okta_groups: [{groups}]")
    text = text.replace('channel: "#approvals"', f"channel: {channels}")
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


async def test_groups_the_policy_names_must_exist_in_okta(
    hooked: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = _policy_naming(tmp_path, '"IT Servicedesk", "helpdesk"', '"#approvals"')
    # protection compares names case-insensitively: this spelling protects the group all the same
    protected = ('okta_groups: ["Okta Admins"]\n  logins', 'okta_groups: ["okta admins"]\n  logins')
    policy.write_text(policy.read_text().replace(*protected))
    code, lines = await check(capsys, "--policy", str(policy))
    assert code == 1
    assert "okta admins" in policy.read_text()
    assert line_for(lines, "okta groups") == "✗ okta groups: 2 of 7 groups the policy names do not exist"
    assert under(lines, "okta groups") == [
        ("'IT Servicedesk' (role helpdesk): no such group in Okta: correct the name in the policy file, or create the "
        "group"),
        ("'helpdesk' (role helpdesk): no such group in Okta: Okta spells it 'Helpdesk', and role grants compare names "
        "exactly"),
    ]


async def test_channels_the_policy_names_must_exist_with_the_bot_in_them(
    hooked: str, tmp_path: Path, ws: SlackWorkspace, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = _policy_naming(tmp_path, '"Helpdesk"', '"#aprovals"')
    text = policy.read_text().replace('channel: "#okta-audit"\n', 'channel: "#general"\n', 1)
    policy.write_text(text.replace('announce_channel: "#helpdesk"', 'announce_channel: "C0NOSUCH01"'))
    code, lines = await check(capsys, "--policy", str(policy))
    assert code == 1
    assert line_for(lines, "slack channels") == "✗ slack channels: 3 of 6 cannot be posted to"
    assert under(lines, "slack channels") == [
        ("#aprovals (approvals.channel): channel_not_found: fix POLICY_FILE: the bot sees no channel #aprovals: "
        "create it, correct the name in the policy file, or, if it is private, invite the bot to it"),
        ("#general (audit.channel): not_in_channel: fix #general: the bot is not a member: type /invite @okta-chatops "
        "in #general"),
        ("C0NOSUCH01 (self_service.announce_channel): channel_not_found: fix POLICY_FILE: the bot sees no channel "
        "C0NOSUCH01: create it, correct the name in the policy file, or, if it is private, invite the bot to it"),
    ]


async def test_no_event_hook_fails(configured: None, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = await check(capsys)
    assert code == 1
    assert line_for(lines, "okta hook") == (
        "✗ okta hook: no event hook sends to an okta-chatops endpoint, so no Okta alert arrives"
    )
    assert under(lines, "okta hook") == [
        "once the bot runs at its public URL: okta-chatops hooks register --url https://<host>/okta/hooks"
    ]


async def test_a_second_hook_fails(hooked: str, okta: OktaClient, capsys: pytest.CaptureFixture[str]) -> None:
    typo = hooked.replace("127.0.0.1", "localhost")  # the same bot, by another name: events would arrive twice
    stray = await okta.create_event_hook("okta-chatops alerts", typo, policy_event_types(), secret=HOOK_SECRET)
    code, lines = await check(capsys)
    assert code == 1
    assert line_for(lines, "okta hook").startswith("✗ okta hook: 2 event hooks send to okta-chatops endpoints")
    assert any(line.startswith(f"{stray.id} ACTIVE UNVERIFIED {typo}") for line in under(lines, "okta hook"))


async def test_a_hook_whose_deliveries_the_bot_refuses_fails(
    hooked: str, okta: OktaClient, okta_org: OktaOrg, capsys: pytest.CaptureFixture[str]
) -> None:
    [hook] = await okta.list_event_hooks()
    assert hook.id is not None
    # What `hooks register` used to do with a wrong secret: the working hook now sends one the bot refuses.
    await okta.replace_event_hook(hook.id, hook.name, hooked, hook.events.items, secret="not-the-bots-secret-at-all")
    okta_org.lock_out("erin.employee@acme.example", failures=2)
    await okta_org.hooks_idle()
    code, lines = await check(capsys)
    assert code == 1
    assert line_for(lines, "okta hook").startswith(f"✗ okta hook: Okta failed 1 deliveries to event hook {hook.id} (")
    assert line_for(lines, "okta hook").endswith(": endpoint answered HTTP 401")
    assert under(lines, "okta hook") == [
        (f"the bot refused the secret Okta sends: run `okta-chatops hooks register --url {hooked}` with the bot's "
        "OKTA_HOOK_SECRET (events refused meanwhile are lost: Okta does not retry a 4xx)")
    ]


def test_every_verb_says_which_okta_scopes_it_needs() -> None:
    from bot.okta_scopes import VERB_SCOPES
    from policy import Verb

    assert set(VERB_SCOPES) == set(Verb), "a new verb needs its scopes in bot/okta_scopes.py"
