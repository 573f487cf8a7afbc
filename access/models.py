"""A time-bound membership (a grant), as stored: a Redis hash of strings, `to_hash`/`from_hash` its codec.

Times are epoch seconds (the Lua scripts compare them with the caller's `now`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class GrantState(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class Ending(StrEnum):
    """How a grant ended; each ends it once, through the same lease."""

    EXPIRED = "expired"
    RELEASED = "released"


class Grant(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    state: GrantState = GrantState.ACTIVE
    user_id: str  # Okta
    login: str
    group_id: str
    group_name: str
    notify: str  # the Slack member told of the grant, its reminder and its end
    granted_by: str  # Slack member: who gave it (the approver, for an approved request)
    asked_by: str = ""  # Slack member who asked for it (an agent, the member); `granted_by` when nobody approved
    reason: str = ""
    approval_id: str = ""
    starts: float
    ends: float
    first_seconds: int  # the duration first granted: what Extend adds
    self_extended: bool = False
    extensions: int = 0
    # a member before the grant keeps the membership at its end: a grant never removes access it did not give
    preexisting: bool = False
    attempts: int = 0  # failed removals so far
    break_glass: bool = False  # taken by the on-call without approval: an approver reviews it afterwards
    reviewed_by: str = ""  # the Slack member who reviewed the break-glass grant
    reviewed_at: float | None = None
    announced: str = ""  # where the break-glass announcement is, `<channel id> <ts>`, to mark it reviewed
    ended_at: float | None = None
    ending: Ending | None = None

    def to_hash(self) -> dict[str, str]:
        return {name: _encode(getattr(self, name)) for name in type(self).model_fields}

    @classmethod
    def from_hash(cls, fields: dict[str, str]) -> Grant:
        data: dict[str, Any] = {k: v for k, v in fields.items() if k in cls.model_fields and v != ""}
        for flag in ("self_extended", "preexisting", "break_glass"):
            data[flag] = flag in data
        return cls.model_validate(data)


def _encode(value: object) -> str:
    if isinstance(value, bool):  # before str(): a flag is present ("1") or empty
        return "1" if value else ""
    if isinstance(value, float):
        return repr(value)
    return "" if value is None else str(value)
