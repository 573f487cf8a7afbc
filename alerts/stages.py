"""How many events pass each stage of the alert pipeline, told to whoever counts them.

alerts/ sits below bot/ and so cannot import the bot's metrics registry; the bot subscribes instead:

    alerts.stages.observe(lambda stage, n: HOOK_EVENTS.labels(stage=stage).inc(n))

With nobody subscribed, counting costs a loop over an empty list. `Tally` is the mechanism, for
other closed sets of counts too (alerts/deadletters.py counts dead letters by reason with one).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Generic, TypeVar

K = TypeVar("K", bound=StrEnum)


class Stage(StrEnum):
    RECEIVED = "received"  # stored in the stream by the hook endpoint (a redelivery counts again)
    POSTED = "posted"  # posted to Slack as a message of its own
    DEDUPLICATED = "deduplicated"  # seen again after it was handled: Okta's redelivery, or our own retry
    DROPPED = "dropped"  # routed nowhere by the policy
    DIGESTED = "digested"  # counted in a burst's digest message instead of a message of its own
    DEAD_LETTERED = "dead_lettered"  # refused by Slack for good: parked in the dead-letter stream


class Tally(Generic[K]):
    """Counts of a closed set of keys, passed on to the observers subscribed."""

    def __init__(self) -> None:
        self._observers: list[Callable[[K, int], None]] = []

    def observe(self, observer: Callable[[K, int], None]) -> Callable[[], None]:
        """Calls `observer(key, n)` as things are counted; returns the undo (e.g. for an AsyncExitStack callback)."""
        self._observers.append(observer)
        return lambda: self._observers.remove(observer)

    def count(self, key: K, n: int = 1) -> None:
        if n:
            for observer in self._observers:
                observer(key, n)


_stages: Tally[Stage] = Tally()
observe = _stages.observe
count = _stages.count
