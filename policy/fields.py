"""Value types of the policy file: durations, channels, Slack ids, role and verb names, glob lists.

Each rejects a bad value with a message a policy author can act on; the loader adds the line.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo
from pydantic_core import PydanticCustomError

from policy.verbs import ACCESS_SECTION_VERBS, ALWAYS_ALLOWED_VERBS, Verb

# The validation context key under which the loader passes {role name: grants everyone?}.
ROLES_CONTEXT = "roles"

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_ROLE_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
_CHANNEL = re.compile(r"^(#[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{2,})$")


def problem(message: str) -> PydanticCustomError:
    """A validation error whose text is exactly `message` (no "Value error, " prefix)."""
    # The message goes in the context so that braces in it are never read as a template.
    return PydanticCustomError("policy", "{problem}", {"problem": message})


def _duration_seconds(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = int(m.group(1)) * _UNIT_SECONDS[m.group(2)]
    else:
        raise problem(f"{value!r} is not a duration: write seconds (90) or a number and a unit (90s, 15m, 1h, 1d)")
    if seconds <= 0:
        raise problem(f"{value!r}: a duration must be longer than zero")
    return seconds


def _channel(value: str) -> str:
    if not _CHANNEL.match(value):
        raise problem(f"{value!r} is not a Slack channel: write '#name' (lower case, in quotes) or an id like C0123ABC")
    return value


def _slack_id(prefixes: str, what: str) -> AfterValidator:
    pattern = re.compile(rf"^[{prefixes}][A-Z0-9]{{2,}}$")

    def check(value: str) -> str:
        if not pattern.match(value):
            raise problem(f"{value!r} is not a Slack {what} id (they look like {prefixes[0]}0123ABCD)")
        return value

    return AfterValidator(check)


def _known_role(value: str, info: ValidationInfo) -> str:
    roles: Mapping[str, bool] | None = (info.context or {}).get(ROLES_CONTEXT)
    if roles is None:  # `roles` itself is broken; that is reported on its own
        return value
    if value not in roles:
        raise problem(f"unknown role {value!r} (defined roles: {', '.join(sorted(roles)) or 'none'})")
    return value


def _not_everyone(value: str, info: ValidationInfo) -> str:
    roles: Mapping[str, bool] = (info.context or {}).get(ROLES_CONTEXT) or {}
    if roles.get(value):
        raise problem(f"role {value!r} grants everyone: approvals by anyone would protect nothing")
    return value


def closest(word: str, choices: list[str]) -> str | None:
    """The choice most like `word` when one is close enough to be a likely typo."""
    matches = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return matches[0] if matches else None


def _verb(value: Any) -> Verb:
    if isinstance(value, Verb):
        return value
    names = [v.value for v in Verb]
    if isinstance(value, str) and value in names:
        return Verb(value)
    guess = closest(str(value), names)
    hint = f"did you mean {guess!r}?" if guess else f"verbs: {', '.join(names)}"
    raise problem(f"unknown verb {value!r} ({hint})")


def _role_name(value: str) -> str:
    if not _ROLE_NAME.match(value):
        raise problem(f"{value!r} is not a role name: use lower case letters, digits, '-' and '_'")
    return value


def _configurable(verb: Verb) -> Verb:
    if verb in ALWAYS_ALLOWED_VERBS:
        raise problem(f"{verb.value!r} is always allowed to everyone: remove it")
    if verb in ACCESS_SECTION_VERBS:
        who = "break_glass.roles" if verb == Verb.BREAK_GLASS else "requesters"
        raise problem(f"{verb.value!r} is governed by the 'access' section (access.groups.<group>.{who}): remove it")
    return verb


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


Seconds = Annotated[int, BeforeValidator(_duration_seconds)]
Channel = Annotated[str, AfterValidator(_channel)]
SlackUserId = Annotated[str, _slack_id("UW", "user")]
SlackUsergroupId = Annotated[str, _slack_id("S", "user group")]
RoleName = Annotated[str, AfterValidator(_role_name)]
RoleRef = Annotated[str, AfterValidator(_known_role)]
ApproverRoleRef = Annotated[RoleRef, AfterValidator(_not_everyone)]
VerbName = Annotated[Verb, BeforeValidator(_verb)]
ConfigurableVerb = Annotated[VerbName, AfterValidator(_configurable)]
NonEmpty = Annotated[str, Field(min_length=1)]
OneOrMany = BeforeValidator(_one_or_many)
UpperCase = BeforeValidator(_upper)
