"""Which Slack channel an Okta event goes to: the first matching alert rule, else the default."""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from oktaclient.models import LogEvent
from policy.sections import AlertMatch, Alerts


def route(alerts: Alerts | None, event: LogEvent) -> str | None:
    """The channel for `event`, or None when a rule drops it or alerts are not configured."""
    if alerts is None:
        return None
    for rule in alerts.rules:
        if matches(rule.match, event):
            return None if rule.drop else rule.channel
    return alerts.default_channel


def matches(match: AlertMatch, event: LogEvent) -> bool:
    actor = event.actor.alternateId if event.actor else None
    targets = [t.alternateId for t in event.target or () if t.alternateId]
    outcome = event.outcome.result if event.outcome else None
    return (
        (match.event_type is None or _any_glob([event.eventType], match.event_type, fold=False))
        and (match.severity is None or (event.severity or "").upper() in match.severity)
        and (match.outcome is None or (outcome or "").upper() in match.outcome)
        and (match.actor is None or _any_glob([actor] if actor else [], match.actor, fold=True))
        and (match.target is None or _any_glob(targets, match.target, fold=True))
    )


def _any_glob(values: Iterable[str], globs: Iterable[str], *, fold: bool) -> bool:
    """Any value matches any glob. Event types are exact lower-case names; logins are compared
    case-insensitively because Okta treats them so."""
    if fold:
        values, globs = [v.casefold() for v in values], [g.casefold() for g in globs]
    return any(fnmatchcase(v, g) for v in values for g in globs)
