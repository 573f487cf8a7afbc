"""`okta-chatops okta keygen` / `okta jwks`, and `okta-sim --service-app-key` registering what they print."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.keys_cli import IMAGE_USER
from bot.settings import Settings
from oktaclient import OktaAuthError, OktaClient, load_signing_keys
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
ERIN = "erin.employee@acme.example"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


async def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    args = build_parser().parse_args(list(argv))
    code = await args.run(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _keygen_as(*privileges: str) -> list[str]:
    """The CLI in a child process, with `setpriv` options (root without a capability, for instance)."""
    return ["setpriv", *privileges, sys.executable, "-m", "bot.cli", "okta", "keygen"]


async def test_keygen_writes_a_key_only_the_image_user_reads_and_prints_its_public_jwk(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "okta-chatops.key"
    code, stdout, stderr = await cli(capsys, "okta", "keygen", "--out", str(out))
    assert code == 0
    info = out.stat()
    assert stat.S_IMODE(info.st_mode) == 0o400
    assert (info.st_uid, info.st_gid) == IMAGE_USER
    jwk = json.loads(stdout)  # stdout is the JWK alone, ready for `> okta-chatops.jwk.json`
    [key] = load_signing_keys(str(out))
    assert jwk == key.public_jwk() and jwk["kid"] == key.kid and (jwk["use"], jwk["alg"]) == ("sig", "RS256")
    assert "BEGIN" not in stdout + stderr and '"d"' not in stdout  # nothing private: no PEM, no private JWK member
    assert "owner 10001:10001, mode 0400" in stderr and key.kid in stderr
    # a key is never overwritten
    code, stdout, stderr = await cli(capsys, "okta", "keygen", "--out", str(out))
    assert code == 1 and "already exists" in stderr and stdout == ""
    assert load_signing_keys(str(out))[0].kid == key.kid


def test_the_image_user_is_the_dockerfiles() -> None:
    users = [line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("USER ")]
    assert users == [f"{IMAGE_USER[0]}:{IMAGE_USER[1]}"]


@pytest.mark.slow  # a real process
def test_keygen_without_the_right_to_give_the_key_away_says_how_and_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "okta-chatops.key"
    if os.geteuid() == 0:  # root without CAP_CHOWN is any user giving a file away
        command = _keygen_as("--inh-caps=-all", "--bounding-set=-chown")
    else:
        command = [sys.executable, "-m", "bot.cli", "okta", "keygen"]
    result = subprocess.run([*command, "--out", str(out)], capture_output=True, text=True, check=False, cwd=ROOT)
    assert result.returncode == 1, result.stderr
    assert "only root can give the key to uid 10001" in result.stderr
    assert "docker run --rm --user 0" in result.stderr and f"--owner {os.geteuid()}:{os.getegid()}" in result.stderr
    assert not out.exists() and result.stdout == ""


async def test_keygen_for_a_bot_that_runs_as_you(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "mine.key"
    code, _, _ = await cli(capsys, "okta", "keygen", "--out", str(out), "--owner", f"{os.geteuid()}:{os.getegid()}")
    assert code == 0 and out.stat().st_uid == os.geteuid()
    with pytest.raises(SystemExit):
        build_parser().parse_args(["okta", "keygen", "--out", str(out), "--owner", "okc"])
    assert "expected UID:GID in numbers" in (capsys.readouterr().err)


async def test_jwks_prints_both_keys_of_a_rotation_active_first(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = tmp_path / "old.key", tmp_path / "new.key"
    for path in (old, new):
        assert (await cli(capsys, "okta", "keygen", "--out", str(path)))[0] == 0
    monkeypatch.setenv("OKTA_ORG_URL", "https://acme.okta.com")
    monkeypatch.setenv("OKTA_CLIENT_ID", "0oa1")
    monkeypatch.setenv("OKTA_PRIVATE_KEY", str(new))
    monkeypatch.setenv("OKTA_PRIVATE_KEY_PREVIOUS", str(old))
    code, stdout, _ = await cli(capsys, "okta", "jwks")
    assert code == 0
    kids = [k["kid"] for k in json.loads(stdout)["keys"]]
    assert kids == [load_signing_keys(str(new))[0].kid, load_signing_keys(str(old))[0].kid]
    code, stdout, stderr = await cli(capsys, "okta", "jwks", "--key", str(tmp_path / "missing.key"))
    assert code == 1 and "there is no file at" in stderr and stdout == ""


@pytest.fixture
async def simulator_with_service_app(tmp_path: Path) -> AsyncIterator[tuple[str, str, Path]]:
    """`okta-chatops okta-sim --service-app-key` with a keygen'd key: (org URL, client id, key file)."""
    key, jwk = tmp_path / "okta-chatops.key", tmp_path / "okta-chatops.jwk.json"
    with jwk.open("w") as stdout:
        keygen = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "okta", "keygen", "--out", str(key), "--owner", f"{os.geteuid()}",
            stdout=stdout, cwd=ROOT,
        )
        assert await keygen.wait() == 0
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "okta-sim", "--port", str(free_port()), "--token", "00hook-admin",
        "--service-app-key", str(jwk), "--service-app-scopes", "okta.users.read",
        stdout=asyncio.subprocess.PIPE, cwd=ROOT,
    )
    assert process.stdout is not None
    try:
        registered = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        listening = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        assert registered.startswith("Service app okta-chatops: client id 0oa"), registered
        client_id = registered.split("client id ", 1)[1].split()[0]
        yield listening.rsplit(" ", 1)[1].strip(), client_id, key
    finally:
        process.terminate()
        await process.wait()


@pytest.mark.slow  # a real process
async def test_the_simulator_registers_the_service_app_from_its_cli(
    simulator_with_service_app: tuple[str, str, Path],
) -> None:
    org_url, client_id, key = simulator_with_service_app
    assert len(client_id) == 20
    async with OktaClient.from_private_key(org_url, client_id, str(key), scopes=["okta.users.read"]) as okta:
        assert (await okta.get_user(ERIN)).profile.login == ERIN
    async with OktaClient.from_private_key(org_url, client_id, str(key), scopes=["okta.users.manage"]) as okta:
        with pytest.raises(OktaAuthError, match="invalid_scope"):
            await okta.get_user(ERIN)


@pytest.mark.slow  # a real process
def test_the_simulator_refuses_a_file_that_holds_no_jwk(tmp_path: Path) -> None:
    bad = tmp_path / "key.json"
    bad.write_text('["not", "a", "jwk"]')
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "okta-sim", "--token", "t", "--service-app-key", str(bad)],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )
    assert result.returncode == 2 and f"{bad} holds neither a JWK nor a JWKS" in result.stderr
