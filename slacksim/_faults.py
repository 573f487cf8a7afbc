"""Injected failures for Web API methods and response_urls: the next N calls answer a rate limit, an
error or a 5xx, or answer late (a client with a shorter timeout sees a timeout)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Failure:
    status: int | None  # None with `error` None too: the call is carried out, only late
    error: str | None
    retry_after: int | None  # seconds, sent as Retry-After with a 429
    delay: float  # seconds before the answer (and before the call takes effect)


@dataclass
class _Rule:
    method: str  # a Web API method name, "response_url", or "*" for any
    failure: Failure
    remaining: int
    channel: str | None = None  # only calls to this channel (its id); None: any


class FaultPlan:
    def __init__(self) -> None:
        self._rules: list[_Rule] = []

    def add(
        self, method: str, *, status: int | None, error: str | None, retry_after: int, times: int, delay: float,
        channel: str | None = None,
    ) -> None:
        if status is None and error is None and delay <= 0:
            raise ValueError("fail_next needs a status (429, 5xx), an error string or a delay")
        if status is None and error is None:
            failure = Failure(None, None, None, delay)
        else:
            status = 200 if status is None else status
            default_error = {429: "ratelimited"}.get(status, "fatal_error")
            failure = Failure(status, error or default_error, retry_after if status == 429 else None, delay)
        self._rules.append(_Rule(method, failure, times, channel))

    def take(self, method: str, channel: str | None = None) -> Failure | None:
        """The failure for this call, if a rule matches; `channel`: the id of the channel it is for."""
        for rule in self._rules:
            if rule.remaining > 0 and rule.method in ("*", method) and rule.channel in (None, channel):
                rule.remaining -= 1
                return rule.failure
        return None
