"""Injected faults: the next N matching requests fail with a 5xx, or answer slowly."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class _Rule:
    method: str  # upper case, or "*" for any
    path_prefix: str
    remaining: int
    value: float  # the status to fail with, or the seconds to delay

    def matches(self, method: str, path: str) -> bool:
        return self.remaining > 0 and self.method in ("*", method.upper()) and path.startswith(self.path_prefix)


class FaultInjector:
    def __init__(self) -> None:
        self._failures: list[_Rule] = []
        self._delays: list[_Rule] = []

    def add_failure(self, method: str, path_prefix: str, status: int, times: int) -> None:
        self._failures.append(_Rule(method.upper(), path_prefix, times, status))

    def add_delay(self, method: str, path_prefix: str, seconds: float, times: int) -> None:
        self._delays.append(_Rule(method.upper(), path_prefix, times, seconds))

    def clear(self) -> None:
        self._failures.clear()
        self._delays.clear()

    def take_failure(self, method: str, path: str) -> int | None:
        value = self._take(self._failures, method, path)
        return None if value is None else int(value)

    def take_delay(self, method: str, path: str) -> float | None:
        return self._take(self._delays, method, path)

    @staticmethod
    def _take(rules: list[_Rule], method: str, path: str) -> float | None:
        for rule in rules:
            if rule.matches(method, path):
                rule.remaining -= 1
                return rule.value
        return None
