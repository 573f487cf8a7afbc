"""A line of `okta-chatops check`, and the guard that turns a failed call into one.

Marks: ✓ passed, ✗ failed (the exit code is 1), ! works but needs a look (exit code unchanged),
- skipped. Every line passes through the log redaction, with the configured secrets registered, so
no secret is printed even inside an error message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.advice import Advice
from bot.logs import redact


class Mark(StrEnum):
    PASSED = "✓"
    FAILED = "✗"
    WARNING = "!"
    SKIPPED = "-"


@dataclass(frozen=True)
class Result:
    name: str
    mark: Mark
    detail: str
    problems: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        return [redact(f"{self.mark} {self.name}: {self.detail}"), *(redact(f"    - {p}") for p in self.problems)]


def passed(name: str, detail: str, problems: tuple[str, ...] = ()) -> Result:
    return Result(name, Mark.PASSED, detail, problems)


def failed(name: str, detail: str, problems: tuple[str, ...] = ()) -> Result:
    return Result(name, Mark.FAILED, detail, problems)


def skipped(name: str, why: str) -> Result:
    return Result(name, Mark.SKIPPED, f"skipped ({why})")


Explain = Callable[[Exception], Advice | None]


async def attempt(name: str, step: Awaitable[Result], explain: Explain | None = None) -> Result:
    """`step`'s result; any failure to reach or use a service is this check's ✗, with the fix when
    `explain` knows it, never a crash of the command."""
    try:
        return await step
    except Exception as exc:  # noqa: BLE001 - reported, with its type, as the check's reason
        reason = " ".join(str(exc).split())  # one line
        advice = explain(exc) if explain is not None else None
        detail = f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__
        return failed(name, detail, (str(advice),) if advice is not None else ())
