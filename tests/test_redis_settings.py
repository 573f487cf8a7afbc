"""Redis settings: REDIS_URL (TLS, ACL), Sentinel, or the embedded server; contradictions fail at start-up,
never quietly fall back to the embedded server or to a connection without TLS; secrets are never shown."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.logs import redact, register_settings_secrets
from bot.settings import SettingsError, load_settings
from tests.test_settings import ENV_NAMES, clean_env  # noqa: F401 - the autouse fixture: no settings from outside


def _problems(**values: object) -> list[str]:
    with pytest.raises(SettingsError) as info:
        load_settings(**values)
    return info.value.problems


def test_nothing_set_is_the_embedded_server() -> None:
    settings = load_settings()
    assert settings.redis_embedded and not settings.redis_sentinel and settings.redis_replica_acks == 0


def test_sentinel_settings() -> None:
    settings = load_settings(
        redis_sentinels="sentinel-1:26379, sentinel-2,[fd00::3]:26380", redis_sentinel_master="okc",
        redis_sentinel_password="sentinel-secret", redis_password="data-secret", redis_tls=True,
    )
    assert settings.redis_sentinels == (("sentinel-1", 26379), ("sentinel-2", 26379), ("fd00::3", 26380))
    assert settings.redis_uses_tls and not settings.redis_embedded
    assert settings.redis_replica_acks == 1  # by default with Sentinel: each write on a replica too
    assert load_settings(redis_sentinels="s:1", redis_sentinel_master="okc", redis_wait_replicas=0).redis_replica_acks == 0


def test_credentials_move_out_of_the_url() -> None:
    settings = load_settings(redis_url="rediss://okc-bot:p%40ss%2Fword@redis.internal:6380/2")
    assert settings.redis_url == "rediss://redis.internal:6380/2"  # safe to show
    assert settings.redis_username == "okc-bot"
    assert settings.redis_password is not None and settings.redis_password.get_secret_value() == "p@ss/word"
    assert "p@ss" not in repr(settings)
    register_settings_secrets(settings)  # as `serve` and `check` do: the password is redacted from logs
    assert "p@ss/word" not in redact("AUTH okc-bot p@ss/word")


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"redis_sentinels": "s:26379"}, "REDIS_SENTINEL_MASTER: required with REDIS_SENTINELS"),
        ({"redis_sentinel_master": "okc"}, "REDIS_SENTINELS: required with REDIS_SENTINEL_MASTER"),
        (
            {"redis_sentinels": "s:26379", "redis_sentinel_master": "okc", "redis_url": "redis://r:6379/0"},
            "REDIS_URL and REDIS_SENTINELS: set one of them",
        ),
        ({"redis_url": "redis://r:6379/0", "redis_sentinel_password": "x"}, "REDIS_SENTINELS: required when REDIS_SENTINEL_PASSWORD"),
        ({"redis_password": "x"}, "REDIS_URL or REDIS_SENTINELS: required with REDIS_PASSWORD"),
        ({"redis_wait_replicas": 1}, "REDIS_URL or REDIS_SENTINELS: required with REDIS_WAIT_REPLICAS"),
        ({"redis_url": "redis://r:6379/0", "redis_username": "u"}, "REDIS_PASSWORD: required with REDIS_USERNAME"),
        ({"redis_url": "redis://:a@r:6379/0", "redis_password": "b"}, "both set a password"),
        ({"redis_url": "redis://r:6379/0", "redis_tls": True}, "REDIS_TLS: only with REDIS_SENTINELS"),
        ({"redis_url": "redis://r:6379/0", "redis_tls_ca_file": "/etc/hosts"}, "only with TLS"),
        ({"redis_url": "redis://r:6379/0", "redis_tls_cert_check": "none"}, "only with TLS"),
        ({"redis_url": "rediss://r:6380/0", "redis_tls_ca_file": "/no/such/ca.pem"}, "REDIS_TLS_CA_FILE: no such file"),
        ({"redis_url": "rediss://r:6380/0?ssl_cert_reqs=none"}, "REDIS_URL: takes no query parameters but db="),
        ({"redis_url": "redis:///0"}, "REDIS_URL: must name a host"),
        ({"redis_sentinels": "s:notaport", "redis_sentinel_master": "okc"}, "REDIS_SENTINELS: 's:notaport' is not host:port"),
    ],
)
def test_contradictions_fail_closed(values: dict[str, object], problem: str) -> None:
    assert any(problem in p for p in _problems(**values)), _problems(**values)


def test_a_bad_url_is_never_echoed_with_its_password() -> None:
    [problem] = _problems(redis_url="redis://:hunter2-secret@r:6379/0?ssl_cert_reqs=none")
    assert problem.startswith("REDIS_URL:") and "hunter2-secret" not in problem


@pytest.mark.slow  # a real process
def test_serve_refuses_sentinels_without_a_master_before_starting_anything(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
    env.update(REDIS_SENTINELS="sentinel-1:26379,sentinel-2:26379", REDIS_SENTINEL_PASSWORD="sentinel-secret",
               DATA_DIR=str(tmp_path / "data"))
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "REDIS_SENTINEL_MASTER: required with REDIS_SENTINELS" in done.stderr
    assert "sentinel-secret" not in done.stderr + done.stdout
    assert not (tmp_path / "data").exists()  # no embedded Redis was started in its place
