"""Slack's request signing (v0), the way Slack signs what it sends to an app's Request URL."""

from __future__ import annotations

import hashlib
import hmac
import time


class SlackSigner:
    """Slack's v0 request signing: v0=hex(HMAC-SHA256(secret, "v0:{timestamp}:{body}"))."""

    def __init__(self, signing_secret: str) -> None:
        self.signing_secret = signing_secret

    def signature(self, timestamp: int, body: str) -> str:
        digest = hmac.new(self.signing_secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256)
        return f"v0={digest.hexdigest()}"

    def headers(self, body: str, *, timestamp: int | None = None) -> dict[str, str]:
        """The two signing headers; `timestamp` defaults to now (pass an old one for a stale request)."""
        ts = int(time.time()) if timestamp is None else timestamp
        return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": self.signature(ts, body)}
