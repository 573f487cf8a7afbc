"""Settings: env vars and .env, every problem reported at once, secrets never shown."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from bot.settings import DEFAULT_OKTA_SCOPES, Settings, SettingsError, load_settings

ENV_NAMES = [name.upper() for name in Settings.model_fields]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_nothing_configured_is_a_sandbox() -> None:
    settings = load_settings()
    assert not settings.slack_configured and not settings.okta_configured
    assert settings.redis_url is None
    assert settings.okta_scopes == DEFAULT_OKTA_SCOPES


def test_every_problem_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKTA_ORG_URL", "ftp://acme.okta.com")
    monkeypatch.setenv("REDIS_URL", "http://localhost:6379")
    monkeypatch.setenv("SLACK_API_URL", "not a url")
    with pytest.raises(SettingsError) as info:
        load_settings()
    names = [p.split(":")[0] for p in info.value.problems]
    assert names == ["SLACK_API_URL", "OKTA_ORG_URL", "REDIS_URL"]
    assert str(info.value).count("\n  - ") == 3


def test_cross_field_problems_are_collected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "shh-signing-secret")
    monkeypatch.setenv("OKTA_CLIENT_ID", "0oa123")
    with pytest.raises(SettingsError) as info:
        load_settings()
    text = str(info.value)
    assert "SLACK_BOT_TOKEN: required when SLACK_SIGNING_SECRET" in text
    assert "OKTA_ORG_URL: required when Okta credentials are set" in text
    assert "shh-signing-secret" not in text


def test_secret_values_never_appear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "wrongprefix-SECRETVALUE")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "SIGNINGSECRETVALUE")
    monkeypatch.setenv("OKTA_ORG_URL", "https://acme.okta.com")
    monkeypatch.setenv("OKTA_API_TOKEN", "SSWSSECRETVALUE")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "must be a bot token" in str(info.value)
    assert "SECRETVALUE" not in str(info.value)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-SECRETVALUE")
    monkeypatch.setenv("POLICY_FILE", str(Path(__file__)))
    settings = load_settings()
    assert "SECRETVALUE" not in repr(settings) and "SECRETVALUE" not in str(settings.model_dump())


def test_okta_org_url_must_be_a_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKTA_ORG_URL", "https://acme.okta.com/api/v1")
    monkeypatch.setenv("OKTA_API_TOKEN", "t")
    with pytest.raises(SettingsError, match="OKTA_ORG_URL: must be the org's base URL"):
        load_settings()
    monkeypatch.setenv("OKTA_ORG_URL", "https://acme.okta.com/")
    assert load_settings().okta_org_url == "https://acme.okta.com"


def test_one_okta_auth_method(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKTA_ORG_URL", "https://acme.okta.com")
    with pytest.raises(SettingsError, match="one is required"):
        load_settings()
    monkeypatch.setenv("OKTA_API_TOKEN", "t")
    monkeypatch.setenv("OKTA_CLIENT_ID", "0oa1")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "not both" in str(info.value) and "OKTA_PRIVATE_KEY: required with OKTA_CLIENT_ID" in str(info.value)


def test_private_key_as_text_or_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pem = _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    monkeypatch.setenv("OKTA_ORG_URL", "https://acme.okta.com")
    monkeypatch.setenv("OKTA_CLIENT_ID", "0oa1")
    monkeypatch.setenv("OKTA_PRIVATE_KEY", pem)
    assert load_settings().okta_private_key_pem() == pem
    key_file = tmp_path / "okta.pem"
    key_file.write_text(pem)
    monkeypatch.setenv("OKTA_PRIVATE_KEY", str(key_file))
    assert load_settings().okta_private_key_pem() == pem
    # one line, as environment files and secret stores hold it: \n escapes, or spaces for the line breaks
    for one_line in (pem.strip().replace("\n", "\\n"), '"' + pem.strip().replace("\n", " ") + '"'):
        assert "\n" not in one_line
        monkeypatch.setenv("OKTA_PRIVATE_KEY", one_line)
        assert load_settings().okta_private_key_pem() == pem


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("/no/such/key.pem", "OKTA_PRIVATE_KEY: is not PEM text, and there is no file at /no/such/key.pem"),
        ("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----", "OKTA_PRIVATE_KEY: is damaged"),
        ("-----BEGIN PRIVATE KEY-----", "OKTA_PRIVATE_KEY: has a -----BEGIN line but no matching -----END line"),
        ("EC", "OKTA_PRIVATE_KEY: must be an RSA key"),
    ],
)
def test_bad_private_keys(monkeypatch: pytest.MonkeyPatch, value: str, message: str) -> None:
    if value == "EC":
        value = _pem(ec.generate_private_key(ec.SECP256R1()))
    monkeypatch.setenv("OKTA_ORG_URL", "https://acme.okta.com")
    monkeypatch.setenv("OKTA_CLIENT_ID", "0oa1")
    monkeypatch.setenv("OKTA_PRIVATE_KEY", value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


def test_scopes_are_split_on_spaces_and_commas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKTA_SCOPES", "okta.users.read, okta.users.manage okta.logs.read")
    assert load_settings().okta_scopes == ("okta.users.read", "okta.users.manage", "okta.logs.read")


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("REDIS_URL=redis://127.0.0.1:6390/2\n")
    assert load_settings().redis_url == "redis://127.0.0.1:6390/2"


def test_real_slack_needs_a_policy_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    with pytest.raises(SettingsError, match="POLICY_FILE: required with a real Slack workspace"):
        load_settings()


@pytest.mark.slow  # the CLI, as a process
def test_cli_reports_problems_without_a_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
    env.update(OKTA_ORG_URL="https://acme.okta.com", OKTA_API_TOKEN="SSWSSECRETVALUE", REDIS_URL="mysql://x")
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "REDIS_URL: must start with redis://" in done.stderr
    assert "SSWSSECRETVALUE" not in done.stderr + done.stdout


def test_a_previous_key_for_a_rotation(monkeypatch: pytest.MonkeyPatch) -> None:
    active, previous = (_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)) for _ in range(2))
    monkeypatch.setenv("OKTA_ORG_URL", "https://acme.okta.com")
    monkeypatch.setenv("OKTA_CLIENT_ID", "0oa1")
    monkeypatch.setenv("OKTA_PRIVATE_KEY", active)
    monkeypatch.setenv("OKTA_PRIVATE_KEY_PREVIOUS", previous)
    settings = load_settings()
    assert settings.okta_private_key_pem() == active + previous  # the active key first: it signs
    assert [k.pem() for k in settings.okta_signing_keys()] == [active, previous]
    monkeypatch.setenv("OKTA_PRIVATE_KEY_PREVIOUS", active.replace("\n", "\\n"))
    with pytest.raises(SettingsError, match="OKTA_PRIVATE_KEY_PREVIOUS: the same key as OKTA_PRIVATE_KEY"):
        load_settings()
    monkeypatch.setenv("OKTA_PRIVATE_KEY_PREVIOUS", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")
    with pytest.raises(SettingsError, match="OKTA_PRIVATE_KEY_PREVIOUS: is a public key"):
        load_settings()
    monkeypatch.delenv("OKTA_PRIVATE_KEY")
    monkeypatch.delenv("OKTA_CLIENT_ID")
    monkeypatch.setenv("OKTA_API_TOKEN", "t")
    with pytest.raises(SettingsError, match="OKTA_PRIVATE_KEY_PREVIOUS: only with OKTA_PRIVATE_KEY"):
        load_settings()
