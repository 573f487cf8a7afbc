"""The `was_this_you` section: which Okta events make the bot ask the employee "Was this you?",
what a "No" sets off, and how long an answer may take. Pure rules; the flow is in confirm/.

Every signal is on by default (the issue's defaults); a section that is present but wrong stops
the bot from starting, like every other section (fail closed).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, field_validator

from policy.fields import ApproverRoleRef, Channel, Seconds, problem
from policy.sections import Section


class Containment(StrEnum):
    """What a "No" does to the account at once, in this order."""

    CLEAR_SESSIONS = "clear_sessions"
    RESET_FACTORS = "reset_factors"
    EXPIRE_PASSWORD = "expire_password"
    SUSPEND = "suspend"


class NewCountry(Section):
    enabled: bool = True
    lookback: Seconds = 30 * 86400  # a country not seen for the user within this time is new


class PushBombing(Section):
    enabled: bool = True
    rejections: Annotated[int, Field(ge=2, le=100)] = 3
    within: Seconds = 600


class Ask(Section):
    """The events that ask the employee."""

    factor_enrolled: bool = True  # user.mfa.factor.activate
    factor_removed: bool = True  # user.mfa.factor.deactivate, user.mfa.factor.reset_all
    password_changed: bool = True  # user.account.update_password / reset_password by someone else
    new_country: NewCountry = NewCountry()  # user.session.start SUCCESS from a new country
    push_bombing: PushBombing = PushBombing()  # rejected Okta Verify pushes in a burst


class WasThisYou(Section):
    channel: Channel  # incidents and escalations, with the security role's buttons
    security_role: ApproverRoleRef  # who may press those buttons (never a role that grants everyone)
    answer_within: Seconds = 1800
    # One question per user per incident: events for a user within this time of the first join it.
    incident_window: Seconds = 3600
    containment: Annotated[tuple[Containment, ...], Field(min_length=1)] = (Containment.CLEAR_SESSIONS,)
    ask: Ask = Ask()

    @field_validator("containment")
    @classmethod
    def _no_repeats(cls, steps: tuple[Containment, ...]) -> tuple[Containment, ...]:
        if len(set(steps)) != len(steps):
            raise problem("containment lists a step twice")
        return steps
