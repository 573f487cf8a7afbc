"""How many events pass each stage of the alert pipeline, told to whoever counts them.

alerts/ sits below bot/ and so cannot import the bot's metrics registry; the bot subscribes instead:

    alerts.stages.observe(lambda stage, n: HOOK_EVENTS.labels(stage=stage).inc(n))

With nobody subscribed, counting costs a loop over an empty list.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum


class Stage(StrEnum):
    RECEIVED = "received"  # stored in the stream by the hook endpoint (a redelivery counts again)
    POSTED = "posted"  # posted to Slack as a message of its own
    DEDUPLICATED = "deduplicated"  # seen again after it was handled: Okta's redelivery, or our own retry
    DROPPED = "dropped"  # routed nowhere by the policy
    DIGESTED = "digested"  # counted in a burst's digest message instead of a message of its own


Observer = Callable[[Stage, int], None]
_observers: list[Observer] = []


def observe(observer: Observer) -> Callable[[], None]:
    """Calls `observer(stage, n)` as events pass; returns the undo (e.g. for an AsyncExitStack callback)."""
    _observers.append(observer)
    return lambda: _observers.remove(observer)


def count(stage: Stage, n: int = 1) -> None:
    if n:
        for observer in _observers:
            observer(stage, n)
