"""One audit record and its encoding as Redis Stream fields.

The field layout is defined once, here: `AuditRecord.to_fields()` is what both `AuditLog.append`
and the Lua scripts (approval transitions) write, and `from_fields()` reads it back.

Secrets never go into records: the model has no field for a token, a password or a reset link,
unknown fields are rejected, and callers put only short human-readable text in `detail`
(a role name, Okta's errorSummary), never a credential or a one-time URL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator

# "access": the time-bound access service acting on its own (a membership ending on time)
Source = Literal["command", "button", "approval", "self-service", "hook", "access"]

DETAIL_MAX = 500  # a stream of a million entries stays small; long Okta error text is cut, not refused


def shorten(text: str) -> str:
    return text if len(text) <= DETAIL_MAX else text[: DETAIL_MAX - 1] + "…"


class AuditRecord(BaseModel):
    """Who did what to whom, and how it ended. All fields are strings in the stream; None is ""."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    actor: str  # Slack user id, or "system:<part>" for the bot's own steps (e.g. the sweeper)
    actor_email: str | None = None
    verb: str
    target: str | None = None  # login or Okta id
    outcome: str  # allowed, refused, succeeded, failed, requested, approved, denied, expired, ...
    detail: Annotated[str, AfterValidator(shorten)] = ""
    okta_request_id: str | None = None
    approval_id: str | None = None
    source: Source

    @field_validator("at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # a naive time is ambiguous in a trail read across time zones: refuse it rather than guess
        if value.tzinfo is None:
            raise ValueError("at must be timezone-aware")
        return value.astimezone(UTC)

    def to_fields(self) -> list[str]:
        """The flat [name, value, ...] list for XADD, in declaration order."""
        flat: list[str] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            flat += [name, value.isoformat() if isinstance(value, datetime) else (value or "")]
        return flat

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> AuditRecord:
        return cls.model_validate({name: value for name, value in fields.items() if value != ""})


class AuditEntry(BaseModel):
    """A record as read back, with its stream entry id (time-ordered, usable as a cursor for `since`)."""

    model_config = ConfigDict(frozen=True)

    id: str
    record: AuditRecord
