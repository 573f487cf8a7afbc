"""`okta-chatops check` against the Okta simulator, the Slack stand-in and real Redis, over loopback HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.cli import build_parser
from bot.manifest import bot_scopes
from bot.redis_server import EmbeddedRedis
from bot.server import BackgroundServer
from bot.settings import Settings
from tests.conftest import SIM_API_TOKEN, free_port

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_POLICY = ROOT / "policy" / "example.yaml"


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


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, okta_sim, slack, ws, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    """Every part configured, pointing at the stand-ins and the test Redis."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", ws.bot_token)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", ws.signing_secret)
    monkeypatch.setenv("SLACK_API_URL", f"{slack.url}/api/")
    monkeypatch.setenv("OKTA_ORG_URL", okta_sim.url)
    monkeypatch.setenv("OKTA_API_TOKEN", SIM_API_TOKEN)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("POLICY_FILE", str(EXAMPLE_POLICY))


async def test_everything_configured_and_working_passes(configured: None, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = await check(capsys)
    assert code == 0
    assert [line[:1] for line in lines if not line.startswith(" ")] == ["✓"] * 5
    assert line_for(lines, "policy").startswith(f"✓ policy: {EXAMPLE_POLICY} is valid (")
    assert "auth.test ok: bot @" in line_for(lines, "slack")
    assert "accepted the API token" in line_for(lines, "okta")
    assert ", primary" in line_for(lines, "redis")


async def test_check_lists_the_privileged_groups_and_why(configured: None, capsys: pytest.CaptureFixture[str]) -> None:
    _, lines = await check(capsys)
    under_policy = lines[lines.index(line_for(lines, "policy")) + 1 :]
    listed = [line.strip() for line in under_policy if line.startswith("    - privileged group")]
    # the example lists Okta Admins; every group that grants a role is privileged as well
    assert "- privileged group 'Okta Admins': listed in privileged_groups" in listed
    assert "- privileged group 'Approvers': grants the role 'approver'" in listed
    assert "- privileged group 'Helpdesk': grants the role 'helpdesk'" in listed
    assert "- privileged group 'Security': grants the role 'security'" in listed


async def test_rejected_credentials_fail_without_showing_them(
    configured: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-0000-wrong-token")
    monkeypatch.setenv("OKTA_API_TOKEN", "00wrong-api-token")
    code, lines = await check(capsys)
    assert code == 1
    assert line_for(lines, "slack") == "✗ slack: auth.test refused the token: invalid_auth"
    assert line_for(lines, "okta").startswith("✗ okta: OktaAuthError: 401")
    assert line_for(lines, "settings").startswith("✓") and line_for(lines, "redis").startswith("✓")
    output = "\n".join(lines)
    assert "wrong-token" not in output and "00wrong-api-token" not in output


async def test_unreachable_okta_fails_that_check_only(
    configured: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OKTA_ORG_URL", f"http://127.0.0.1:{free_port()}")
    code, lines = await check(capsys)
    assert code == 1
    assert line_for(lines, "okta").startswith("✗ okta: OktaTransportError")
    assert line_for(lines, "slack").startswith("✓")


async def test_nothing_configured_is_the_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = await check(capsys)
    assert code == 0
    assert lines == [
        "✓ settings: valid",
        "- policy: skipped (no POLICY_FILE and no --policy)",
        "- redis: skipped (not configured: the bot runs an embedded Redis under DATA_DIR)",
        "- slack: skipped (not configured: sandbox uses the simulator)",
        "- okta: skipped (not configured: sandbox uses the simulator)",
    ]


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


@pytest.mark.parametrize(
    ("requested", "passes"),
    [("okta.users.manage okta.groups.read", True), ("okta.users.manage okta.factors.manage", False)],
)
async def test_an_oauth_service_app_is_checked_with_the_scopes_it_requests(
    configured: None,
    monkeypatch: pytest.MonkeyPatch,
    okta_org,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
    requested: str,
    passes: bool,
) -> None:
    private_pem, public_pem = _rsa_key()
    okta_org.register_oauth_client("0oachatops", public_pem, ["okta.users.manage", "okta.groups.read"])
    monkeypatch.delenv("OKTA_API_TOKEN")
    monkeypatch.setenv("OKTA_CLIENT_ID", "0oachatops")
    monkeypatch.setenv("OKTA_PRIVATE_KEY", private_pem)
    monkeypatch.setenv("OKTA_SCOPES", requested)
    code, lines = await check(capsys)
    okta = line_for(lines, "okta")
    if passes:
        assert code == 0 and okta.startswith("✓ okta:") and "OAuth service app 0oachatops" in okta
    else:
        assert code == 1 and okta.startswith("✗ okta: OktaAuthError") and "invalid_scope" in okta
    assert "PRIVATE KEY" not in "\n".join(lines)


@pytest.fixture
async def slack_reporting_scopes() -> AsyncIterator[BackgroundServer]:
    """auth.test as real Slack answers it: the token's scopes in the X-OAuth-Scopes header."""
    granted = [s for s in bot_scopes() if s != "users:read.email"]

    async def auth_test(_: Request) -> JSONResponse:
        body = {"ok": True, "user": "okta", "user_id": "U0BOT", "team": "Acme", "team_id": "T0ACME"}
        return JSONResponse(body, headers={"X-OAuth-Scopes": ",".join(granted)})

    async with BackgroundServer(Starlette(routes=[Route("/api/auth.test", auth_test, methods=["POST"])])) as server:
        yield server


async def test_a_token_missing_a_manifest_scope_fails(
    configured: None,
    monkeypatch: pytest.MonkeyPatch,
    slack_reporting_scopes: BackgroundServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SLACK_API_URL", f"{slack_reporting_scopes.url}/api/")
    code, lines = await check(capsys)
    assert code == 1
    assert line_for(lines, "slack") == (
        "✗ slack: bot @okta (U0BOT) in Acme (T0ACME) lacks scopes users:read.email: reinstall the app from the manifest"
    )
