"""The one way the fake Slack says no."""

from __future__ import annotations

from typing import Any


class SlackError(Exception):
    """A refusal as Slack words it: `{"ok": false, "error": error, **extra}` with HTTP `status`
    (and `headers`, e.g. a 429's Retry-After)."""

    def __init__(self, error: str, *, status: int = 200, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, **self.extra}
