"""The one exception the Slack port raises: no slack_sdk or aiohttp type leaks above it."""

from __future__ import annotations

import re

# Slack's error codes are short snake_case words; anything else (a proxy's HTML page, a hostile
# answer) is reported as one closed value, so logs and metrics labels stay bounded.
_CODE = re.compile(r"[a-z0-9_]{1,64}")

# Worth trying again later: Slack was busy or broken, or the answer never came. Every other error
# (invalid_blocks, msg_too_long, channel_not_found, not_in_channel, invalid_auth, ...) will be
# answered the same way however often the call is repeated.
TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout", "connection_error"}
)


def error_code(raw: object) -> str:
    return raw if isinstance(raw, str) and _CODE.fullmatch(raw) else "unknown_error"


class SlackError(Exception):
    """A Slack Web API call that did not succeed.

    `error`: Slack's error code (bounded, see `error_code`), or `connection_error` when no answer
    came. `certain`: Slack answered, so it certainly did not act (False: it may have, e.g. a 5xx or a
    connection cut after the request was sent). `retryable`: the same call may succeed later.
    """

    def __init__(self, method: str, error: str, *, status: int | None = None, certain: bool = True) -> None:
        super().__init__(f"{method}: {error}" + (f" (HTTP {status})" if status else ""))
        self.method = method
        self.error = error_code(error)
        self.status = status
        self.certain = certain

    @property
    def retryable(self) -> bool:
        return self.error in TRANSIENT or (self.status is not None and (self.status == 429 or self.status >= 500))
