"""The `access` section: time-bound group membership (requestable groups, how long, approved by whom).

Pure rules. A group not listed here can still be given for a while by the helpdesk (`add-to-group
... for 4h`), capped by `max_duration`; only listed groups can be requested by employees.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from policy.fields import Channel, NonEmpty, RoleRef, Seconds, problem
from policy.sections import Section, VerbApproval


class GroupApproval(VerbApproval):
    """Who approves a request for the group; unset fields fall back to the `approvals` section.
    A request always needs approval by others, so `required` cannot be turned off."""

    @field_validator("required")
    @classmethod
    def _always(cls, required: bool) -> bool:
        if not required:
            raise problem("a request for access always needs approval by others: remove 'required: false'")
        return required


BREAK_GLASS_LIMIT = 3600  # break-glass access lasts an hour at most, whatever the policy says


class BreakGlass(Section):
    """Opt-in per group: holders of `roles` (the on-call) take the group for themselves at once, for
    at most `max_duration`, announced in `channel`; an approver of the group reviews it afterwards."""

    roles: tuple[RoleRef, ...]
    max_duration: Seconds = BREAK_GLASS_LIMIT
    channel: Channel | None = None  # default: the access section's alert channel (the security channel)

    @field_validator("roles")
    @classmethod
    def _someone(cls, roles: tuple[str, ...]) -> tuple[str, ...]:
        if not roles:
            raise problem("break_glass needs the roles that may take it (the on-call), e.g. roles: [security]")
        return roles

    @field_validator("max_duration")
    @classmethod
    def _an_hour_at_most(cls, seconds: int) -> int:
        if seconds > BREAK_GLASS_LIMIT:
            raise problem("break-glass access lasts at most 1h: lower max_duration")
        return seconds


class AccessGroup(Section):
    max_duration: Seconds
    requesters: tuple[RoleRef, ...] = ()  # who may `/okta request` it; none: only the helpdesk can give it
    approval: GroupApproval = GroupApproval()
    self_extension: bool = False  # the member may extend once, by up to the first duration, unapproved
    break_glass: BreakGlass | None = None  # none: never without approval


class Access(Section):
    reminder: Seconds = 900  # how long before the end the member is reminded (with Extend and Release)
    # the cap for the helpdesk's time-bound adds to groups not listed under `groups`; none: listed groups only
    max_duration: Seconds | None = None
    # where a removal Okta keeps refusing is reported; default: alerts.default_channel, else audit.channel
    alert_channel: Channel | None = None
    groups: dict[NonEmpty, AccessGroup] = {}  # noqa: RUF012 - pydantic copies field defaults
    failures_before_alert: Annotated[int, Field(ge=1)] = 3

    @model_validator(mode="after")
    def _distinct_names(self) -> Access:
        # Okta group names are looked up ignoring case here: two spellings of one group would be ambiguous.
        seen: dict[str, str] = {}
        for name in self.groups:
            other = seen.setdefault(name.casefold(), name)
            if other != name:
                raise problem(f"groups {other!r} and {name!r} differ only in case: list each group once")
        return self

    def group(self, name: str) -> AccessGroup | None:
        folded = name.casefold()
        return next((rule for listed, rule in self.groups.items() if listed.casefold() == folded), None)
