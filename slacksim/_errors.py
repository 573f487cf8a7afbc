"""The one way the fake Slack says no."""

from __future__ import annotations

from typing import Any


class SlackError(Exception):
    """A refusal as Slack words it: `{"ok": false, "error": error, **extra}` with HTTP `status`."""

    def __init__(self, error: str, *, status: int = 200, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, **self.extra}
