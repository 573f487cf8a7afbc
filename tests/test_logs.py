"""Structured JSON logs: their fields, the request id, and that no secret ever reaches a line."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bot.logs import UVICORN_LOGGERS, bind_request_id, configure_logging, register_settings_secrets
from bot.server import BackgroundServer
from bot.settings import Settings
from tests.process_support import served_bot

SLACK_BOT_TOKEN = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"
SLACK_USER_TOKEN = "xoxp-1111-2222-3333-abcdef"
SLACK_APP_TOKEN = "xapp-1-A0123ABCDEF-1234567890-0f0e0d0c0b0a"
OKTA_API_TOKEN = "00aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abc"
JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiIwb2ExMjMiLCJzY3AiOlsib2t0YS51c2Vycy5yZWFkIl19.c2lnbmF0dXJl"
RESET_TOKEN = "XE6wE17zmphl3KqAPFxO"
SIGNIN_RESET_TOKEN = "Zk9q8Lm7Np6Oo5Pp4Qq3"
QUERY_TOKEN = "q7Rr2Ss1Tt0Uu9Vv8Ww7"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
HOOK_SECRET = "hook/secret with spaces+symbols"
KEY_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"
PRIVATE_KEY = f"-----BEGIN PRIVATE KEY-----\n{KEY_BODY}\n-----END PRIVATE KEY-----"

ALL_SECRETS = [
    SLACK_BOT_TOKEN,
    SLACK_USER_TOKEN,
    SLACK_APP_TOKEN,
    OKTA_API_TOKEN,
    JWT,
    RESET_TOKEN,
    SIGNIN_RESET_TOKEN,
    QUERY_TOKEN,
    SIGNING_SECRET,
    HOOK_SECRET,
    "hook%2Fsecret%20with%20spaces%2Bsymbols",  # the hook secret as it looks in a URL
    KEY_BODY,
]


class Captured:
    """configure_logging into a buffer; `lines()` parses what was logged, after checking it holds no secret."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.configure()

    def configure(self) -> None:
        configure_logging("INFO", stream=self.buffer)

    def lines(self, *loggers: str) -> list[dict[str, Any]]:
        text = self.buffer.getvalue()
        for secret in ALL_SECRETS:
            assert secret not in text, f"a secret reached the log: {secret}"
        parsed = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
        return [line for line in parsed if not loggers or line["logger"] in loggers]


@pytest.fixture
def captured() -> Iterator[Captured]:
    root = logging.getLogger()
    saved_root = (root.handlers[:], root.level)
    saved_uvicorn = {
        name: (logging.getLogger(name).handlers[:], logging.getLogger(name).propagate) for name in UVICORN_LOGGERS
    }
    yield Captured()
    root.handlers[:], root.level = saved_root
    for name, (handlers, propagate) in saved_uvicorn.items():
        logging.getLogger(name).handlers[:] = handlers
        logging.getLogger(name).propagate = propagate


def test_each_line_is_a_json_object_with_the_standard_fields_and_extras(captured: Captured) -> None:
    logging.getLogger("commands.helpdesk").warning(
        "unlocked %s", "lee", extra={"verb": "unlock", "okta_request_id": "r1"}
    )
    (line,) = captured.lines("commands.helpdesk")
    assert line["level"] == "WARNING" and line["logger"] == "commands.helpdesk" and line["msg"] == "unlocked lee"
    assert line["verb"] == "unlock" and line["okta_request_id"] == "r1"
    assert line["request_id"] is None
    assert line["ts"].endswith("Z") and "T" in line["ts"]


async def test_the_request_id_follows_the_work_into_the_tasks_it_starts(captured: Captured) -> None:
    log = logging.getLogger("bot.slack_app")

    async def okta_call() -> None:
        log.info("calling okta")

    with bind_request_id("req-42") as request_id:
        log.info("command received")
        await asyncio.create_task(okta_call())
    log.info("after")
    with bind_request_id() as fresh:
        log.info("next command")

    assert request_id == "req-42" and len(fresh) == 16 and fresh != request_id
    assert [(line["msg"], line["request_id"]) for line in captured.lines("bot.slack_app")] == [
        ("command received", "req-42"),
        ("calling okta", "req-42"),
        ("after", None),
        ("next command", fresh),
    ]


def test_no_secret_reaches_a_line_in_any_part_of_a_record(captured: Captured) -> None:
    register_settings_secrets(
        Settings(slack_signing_secret=SIGNING_SECRET, okta_hook_secret=HOOK_SECRET, _env_file=None)
    )
    log = logging.getLogger("okc.test")
    log.info("slack tokens %s and %s, app token %s", SLACK_BOT_TOKEN, SLACK_USER_TOKEN, SLACK_APP_TOKEN)
    log.info("headers: Authorization: SSWS %s / authorization: Bearer %s", OKTA_API_TOKEN, JWT)
    log.info("client_assertion=%s&grant_type=client_credentials", JWT)
    log.info("a bare JWT %s in text", JWT)
    log.info("reset link https://acme.okta.com/reset_password/%s for lee", RESET_TOKEN)
    log.info("reset link https://acme.okta.com/signin/reset-password/%s?fromURI=x", SIGNIN_RESET_TOKEN)
    log.info("GET /callback?state=s&token=%s&next=1", QUERY_TOKEN)
    log.info("hook secret %r, url-encoded %s", HOOK_SECRET, "hook%2Fsecret%20with%20spaces%2Bsymbols")
    payload = {"headers": {"Authorization": HOOK_SECRET}, "tokens": [SLACK_BOT_TOKEN], "ok": 1}
    log.info("key loaded:\n%s", PRIVATE_KEY)
    log.info("delivery", extra={"payload": payload, "signature": SIGNING_SECRET})

    class Opaque:
        def __str__(self) -> str:
            return f"Opaque({SLACK_APP_TOKEN})"

    log.info("object", extra={"thing": Opaque()})
    try:
        raise RuntimeError(f"Okta said no to SSWS {OKTA_API_TOKEN} at /reset_password/{RESET_TOKEN}")
    except RuntimeError:
        log.exception("call failed")

    lines = captured.lines("okc.test")  # asserts no secret in the text
    assert payload["headers"]["Authorization"] == HOOK_SECRET  # the caller's data is left as it was
    by_msg = {line["msg"]: line for line in lines}
    assert by_msg["delivery"]["payload"] == {
        "headers": {"Authorization": "[REDACTED]"},
        "tokens": ["[REDACTED]"],
        "ok": 1,
    }
    assert by_msg["delivery"]["signature"] == "[REDACTED]"
    assert by_msg["object"]["thing"] == "Opaque([REDACTED])"
    assert "key loaded:\n[REDACTED]" in by_msg
    assert "RuntimeError: Okta said no to SSWS [REDACTED]" in by_msg["call failed"]["exc"]
    # What is not secret survives, so the lines stay useful.
    assert "https://acme.okta.com/reset_password/[REDACTED] for lee" in lines[4]["msg"]
    assert lines[6]["msg"] == "GET /callback?state=s&token=[REDACTED]&next=1"
    assert lines[1]["msg"] == "headers: Authorization: SSWS [REDACTED] / authorization: Bearer [REDACTED]"


async def test_uvicorn_logs_are_json_lines_and_redacted_too(captured: Captured) -> None:
    async def ok(_: Any) -> PlainTextResponse:
        return PlainTextResponse("ok")

    server = BackgroundServer(Starlette(routes=[Route("/callback", ok)]), log_level="info")
    # uvicorn (re)installs its own handlers when a server's config is built: configure afterwards.
    captured.configure()
    async with server, httpx.AsyncClient() as http:
        assert (await http.get(f"{server.url}/callback", params={"token": QUERY_TOKEN})).status_code == 200
    access = captured.lines("uvicorn.access")
    assert len(access) == 1 and "GET /callback?token=[REDACTED] HTTP/1.1" in access[0]["msg"]


@pytest.mark.parametrize("log_access", [None, "true"])
@pytest.mark.slow  # the serve command, as a process
async def test_serve_logs_http_requests_only_when_asked(log_access: str | None, tmp_path: Path) -> None:
    printed: list[str] = []
    env = {} if log_access is None else {"LOG_ACCESS": log_access}
    async with served_bot(env, tmp_path, output=printed) as bot:
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{bot.url}/healthz")).status_code == 200
        bot.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(bot.process.wait(), 20) == 0
    logged = [json.loads(line) for line in printed if line.startswith("{")]
    access = [line for line in logged if line["logger"] == "uvicorn.access" and "/healthz" in line["msg"]]
    assert len(access) == (0 if log_access is None else 1)
    assert any(line["logger"] == "uvicorn.error" for line in logged)  # the rest of the log is there either way
