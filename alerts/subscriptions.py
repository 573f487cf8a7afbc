"""Which event types the Okta event hook subscribes to: the ones the alert policy can post.

Okta sends a hook only the event types it subscribes to, and lets it subscribe only to types marked
eligible for event hooks. Everything the default channel could take would be hundreds of types,
mostly noise, so an eligible type is subscribed when
- a rule that posts names it in `event_type`, or the formatter has a layout of its own for it
  (FORMATTED_EVENT_TYPES), and
- no rule before that drops every event of the type (a drop rule that looks at the type alone).
Rules that post without looking at the type (by actor, severity, ...) add no types of their own:
name those types on the command line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase

from alerts.format import FORMATTED_EVENT_TYPES
from policy.sections import AlertMatch, AlertRule


def hook_event_types(rules: Sequence[AlertRule], eligible: Iterable[str]) -> list[str]:
    """The eligible event types the rules (tried in order, as routing does) may post, sorted."""
    return sorted(t for t in set(eligible) if _posted(rules, t))


def _posted(rules: Sequence[AlertRule], event_type: str) -> bool:
    for rule in rules:
        globs = rule.match.event_type
        if globs is not None and not _named(event_type, globs):
            continue  # never matches events of this type
        if rule.drop:
            if _type_only(rule.match):
                return False  # every event of this type stops here
        elif globs is not None:
            return True
    return _named(event_type, FORMATTED_EVENT_TYPES)


def _named(event_type: str, globs: Iterable[str]) -> bool:
    return any(fnmatchcase(event_type, glob) for glob in globs)


def _type_only(match: AlertMatch) -> bool:
    return match.model_dump(exclude={"event_type"}, exclude_none=True) == {}
