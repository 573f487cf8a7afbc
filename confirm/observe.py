"""What the flow tells whoever counts it (confirm/ sits below bot/ and cannot import its metrics):

confirm.observe.ANSWERS.observe(lambda answer, n: ...)        # questions closed, by answer
confirm.observe.CONTAINMENT.observe(lambda seconds: ...)      # event -> containment done
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from alerts.stages import Tally


class Answer(StrEnum):
    YES = "yes"
    NO = "no"  # "No" clicked, or reported to Okta by the employee
    TIMEOUT = "timeout"  # no answer in time, or nobody to ask (no Slack account)


class Timings:
    """Durations, passed on to the observers subscribed."""

    def __init__(self) -> None:
        self._observers: list[Callable[[float], None]] = []

    def observe(self, observer: Callable[[float], None]) -> Callable[[], None]:
        """Calls `observer(seconds)` for each duration; returns the undo."""
        self._observers.append(observer)
        return lambda: self._observers.remove(observer)

    def add(self, seconds: float) -> None:
        for observer in self._observers:
            observer(seconds)


ANSWERS: Tally[Answer] = Tally()
CONTAINMENT = Timings()
