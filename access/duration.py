"""Durations of access as people write and read them: `90m`, `4h`, `2d`."""

from __future__ import annotations

import re

_UNITS = {"m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"([1-9][0-9]{0,5})([mhd])", re.IGNORECASE)


def parse_duration(text: str) -> int | None:
    """Seconds for `<number><m|h|d>`, or None when `text` is not one."""
    match = _DURATION.fullmatch(text)
    return int(match.group(1)) * _UNITS[match.group(2).lower()] if match else None


def short_duration(seconds: int) -> str:
    """The one canonical way to write a whole number of minutes: the largest unit that divides it."""
    for unit in ("d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    raise ValueError(f"{seconds} s is not a whole number of minutes")


def time_left(seconds: float) -> str:
    """Roughly how long is left, for people: `3h 20m`, `45m`, `under a minute`."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "under a minute"
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (mins, "m")) if n]
    return " ".join(parts[:2])
