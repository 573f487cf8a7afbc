"""Structured logs: one JSON object per line, a request id that follows a command, no secrets.

`configure_logging()` sends the root logger (and uvicorn's loggers, which it makes propagate) to
one handler with the JSON formatter and the redaction filter. Every line carries `ts`, `level`,
`logger`, `msg` and `request_id`, plus any `extra=` fields.

The request id lives in a contextvar: bind it where a Slack request or a hook delivery enters
(`with bind_request_id():`) and every log line of that work, in the tasks it starts too, carries
it; Okta's own X-Okta-Request-Id can then be logged next to it to follow the call into Okta.

Redaction happens on the record itself (message, arguments, exception text, extra fields) before
any formatter sees it: Slack tokens, SSWS and Bearer credentials, JWTs, Okta one-time links and
`token=` parameters, and every value passed to `register_secret` (the signing secret, the hook
secret, the API token...). A log line can then be shipped anywhere.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import quote

from pydantic import BaseModel, SecretStr

REDACTED = "[REDACTED]"

REQUEST_ID: ContextVar[str | None] = ContextVar("okc_request_id", default=None)

# Loggers that uvicorn configures with handlers of its own; they are sent to the root logger instead.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

# Every pattern is linear in its input: each starts at a literal or at the start of a run of token
# characters (a lookbehind, not \b, which also matches inside runs such as "-eyJ-eyJ..."), and no
# two unbounded quantifiers can trade characters. A pattern that scans a run and then fails at every
# position of it would make one long hostile line cost seconds (issue 13; tests/test_logs.py).
_TOKEN_CHAR = r"[A-Za-z0-9_-]"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Slack bot, user, refresh... tokens and app-level tokens
    (re.compile(rf"(?<!{_TOKEN_CHAR})xox[a-z]-[0-9A-Za-z-]+"), REDACTED),
    (re.compile(rf"(?<!{_TOKEN_CHAR})xapp-[0-9A-Za-z-]+"), REDACTED),
    # Authorization header values, Okta's SSWS API tokens and OAuth access tokens
    (re.compile(r"\b(SSWS|Bearer)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE), rf"\1 {REDACTED}"),
    # PEM private keys (OKTA_PRIVATE_KEY given as text); without its END line, to the end of the text
    (
        re.compile(r"-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----.*?(?:-----END [A-Z ]{0,40}PRIVATE KEY-----|\Z)", re.DOTALL),
        REDACTED,
    ),
    # JWTs anywhere (client assertions, access and id tokens); the signature may be empty (alg none)
    (re.compile(rf"(?<!{_TOKEN_CHAR})eyJ{_TOKEN_CHAR}*\.eyJ{_TOKEN_CHAR}*\.{_TOKEN_CHAR}*"), REDACTED),
    # Okta one-time links: password reset and activation (the last path segment is the credential)
    (re.compile(r"(/(?:reset_password|signin/reset-password|welcome|tokens)/)[^\s/'\"<>?#]+"), rf"\1{REDACTED}"),
    # any *token= parameter, in a URL or in key=value text (the name before "token" is kept as it is)
    (re.compile(r"(token=)[^&\s'\"<>,;]+", re.IGNORECASE), rf"\1{REDACTED}"),
)
# Log text is bounded before it is matched and written: a request can put any amount of text into a
# message (a path, a header), and a log line is no place for more than this.
MAX_TEXT = 8192
MAX_TRACEBACK = 32768
_MARGIN = 1024  # longer than any secret the patterns or register_secret know

_registered: set[str] = set()
_registered_pattern: re.Pattern[str] | None = None


def register_secret(value: str) -> None:
    """Redact `value` (and its URL-encoded form) wherever it appears in a log record from now on."""
    global _registered_pattern
    if not value:
        return
    _registered.update({value, quote(value, safe="")})
    # Longest first, so a secret that contains another is removed whole.
    alternatives = sorted(_registered, key=len, reverse=True)
    _registered_pattern = re.compile("|".join(re.escape(s) for s in alternatives))


def register_settings_secrets(settings: BaseModel) -> None:
    """register_secret for every SecretStr field of `settings` (tokens, signing and hook secrets...)."""
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            register_secret(value.get_secret_value())


def redact(text: str, limit: int = MAX_TEXT) -> str:
    """`text` with every known kind of secret replaced by [REDACTED], cut to about `limit` characters.

    Only the first `limit` characters and a margin are matched, so the work is bounded whatever
    the input; the margin lets a secret that straddles the cut be recognised whole before the cut."""
    head = text[: limit + _MARGIN]
    if _registered_pattern is not None:
        head = _registered_pattern.sub(REDACTED, head)
    for pattern, replacement in _PATTERNS:
        head = pattern.sub(replacement, head)
    if len(text) <= limit and len(head) <= limit:
        return head
    return f"{head[:limit]}… [cut: {len(text)} characters in all]"


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(v) for v in value]
    return value


# What every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
# uvicorn's extra: the message again with terminal colours (redacted like the rest, never printed).
_COLOR_MESSAGE = "color_message"


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}


class RedactingFilter(logging.Filter):
    """Rewrites each record in place so that no handler or formatter after it can see a secret.

    Attach it to handlers (a filter on a logger does not see records propagated from its children).
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        # exc_text is what formatters print; the traceback objects could still be rendered anew.
        record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, MAX_TRACEBACK)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, MAX_TRACEBACK)
        for key, value in extra_fields(record).items():
            setattr(record, key, _redact_value(value))  # a copy: the caller's dicts stay untouched
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, request_id, extra fields, exc/stack."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": REQUEST_ID.get(),
        }
        line.update((k, v) for k, v in extra_fields(record).items() if k != _COLOR_MESSAGE)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        # Objects in extra fields are rendered here, after the filter ran: redact their text too.
        return json.dumps(line, default=lambda obj: redact(str(obj)), ensure_ascii=False)


def new_request_id() -> str:
    return secrets.token_hex(8)


@contextmanager
def bind_request_id(value: str | None = None) -> Iterator[str]:
    """`with bind_request_id() as rid:` every log line inside (and in tasks started inside) carries rid."""
    request_id = value or new_request_id()
    token = REQUEST_ID.set(request_id)
    try:
        yield request_id
    finally:
        REQUEST_ID.reset(token)


class _JsonHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler configure_logging installs; its type lets a second call replace it."""


def configure_logging(level: str | int = "INFO", stream: TextIO | None = None, *, access: bool = True) -> logging.Handler:
    """Send all logging, uvicorn's included, as redacted JSON lines to `stream` (default stderr);
    with `access=False`, without uvicorn's line per HTTP request.

    Call it after the uvicorn servers are constructed: uvicorn.Config (re)installs uvicorn's own
    handlers when it is created. Calling it again replaces the handler it installed before.
    """
    handler = _JsonHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _JsonHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs each request at INFO: a dozen lines per command that say nothing /metrics does not
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # uvicorn decides per connection whether to log requests by whether this logger has handlers
    logging.getLogger("uvicorn.access").propagate = access
    return handler
