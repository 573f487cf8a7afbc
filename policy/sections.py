"""The sections of the policy file, as strict pydantic models.

Unknown keys are errors (a misspelt key would otherwise silently fall back to a default, which in a
permission file means a rule quietly not applying). The root model is `policy.policy.Policy`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails

from policy.fields import (
    ApproverRoleRef,
    Channel,
    NonEmpty,
    OneOrMany,
    RoleRef,
    Seconds,
    SlackUsergroupId,
    SlackUserId,
    UpperCase,
    VerbName,
    problem,
)
from policy.verbs import OKTA_WRITE_VERBS, VERIFIABLE_VERBS, Verb


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoleGrant(Section):
    """Who has a role: the union of every source listed."""

    slack_users: tuple[SlackUserId, ...] = ()
    slack_usergroups: tuple[SlackUsergroupId, ...] = ()
    okta_groups: tuple[NonEmpty, ...] = ()
    everyone: bool = False


class VerbApproval(Section):
    """A verb's approval setting; unset fields fall back to the `approvals` section."""

    required: bool = True
    required_approvals: Annotated[int, Field(ge=1)] | None = None
    approver_role: ApproverRoleRef | None = None
    expiry: Seconds | None = None
    channel: Channel | None = None


class VerbRule(Section):
    roles: tuple[RoleRef, ...]
    approval: VerbApproval | None = None


def require_write_verbs(verbs: Iterable[tuple[tuple[str | int, ...], Verb]]) -> None:
    """Approvals only make sense for verbs that change Okta (the approved request is then run).

    `verbs` pairs each verb with where it sits, so that each bad one is reported on its own line.
    """
    errors = [
        InitErrorDetails(
            type=problem(f"{verb}: only verbs that change Okta can need approval"), loc=loc, input=verb.value
        )
        for loc, verb in verbs
        if verb not in OKTA_WRITE_VERBS
    ]
    if errors:
        raise ValidationError.from_exception_data("approval", errors)


class Approvals(Section):
    channel: Channel
    approver_role: ApproverRoleRef
    required_approvals: Annotated[int, Field(ge=1)] = 1
    expiry: Seconds = 3600
    default_verbs: tuple[VerbName, ...] = ()

    @field_validator("default_verbs")
    @classmethod
    def _writes_only(cls, verbs: tuple[Verb, ...]) -> tuple[Verb, ...]:
        require_write_verbs(((i,), verb) for i, verb in enumerate(verbs))
        return verbs


class Protected(Section):
    okta_groups: tuple[NonEmpty, ...] = ()
    logins: tuple[NonEmpty, ...] = ()


class Audit(Section):
    channel: Channel


class Verification(Section):
    """`/okta verify` before helpdesk changes: the verbs in `before` are refused on a user whose
    Okta Verify push (number challenge) was not approved within the last `within` seconds."""

    before: tuple[VerbName, ...] = ()
    within: Annotated[Seconds, Field(ge=60, le=86400)] = 900

    @field_validator("before")
    @classmethod
    def _verifiable(cls, verbs: tuple[Verb, ...]) -> tuple[Verb, ...]:
        wrong = [verb.value for verb in verbs if verb not in VERIFIABLE_VERBS]
        if wrong:
            allowed = ", ".join(sorted(v.value for v in VERIFIABLE_VERBS))
            raise problem(f"{', '.join(wrong)}: only these verbs can wait for a verification: {allowed}")
        return verbs


class SelfServiceRule(Section):
    enabled: bool = False
    # On by default: a Slack session alone should not be enough to reopen an Okta account that
    # was locked because someone was guessing its password.
    verify_push: bool = True


class RateLimit(Section):
    count: Annotated[int, Field(ge=1)]
    per: Seconds


class SelfService(Section):
    roles: tuple[RoleRef, ...] = ()  # who may act on their own account
    unlock: SelfServiceRule = SelfServiceRule()
    reset_password: SelfServiceRule = SelfServiceRule()
    rate_limit: RateLimit = RateLimit(count=3, per=3600)
    email_attribute: Literal["profile.email", "profile.login"] = "profile.email"
    announce_channel: Channel | None = None

    @model_validator(mode="after")
    def _roles_when_enabled(self) -> SelfService:
        # No default audience: "everyone" would include Slack guests and people without an Okta account.
        if (self.unlock.enabled or self.reset_password.enabled) and not self.roles:
            raise problem("self-service is enabled but 'roles' is empty: say who may use it, e.g. roles: [employee]")
        return self


Globs = Annotated[tuple[NonEmpty, ...], OneOrMany, Field(min_length=1)]
Severity = Annotated[Literal["DEBUG", "INFO", "WARN", "ERROR"], UpperCase]
Outcome = Annotated[
    Literal["SUCCESS", "FAILURE", "SKIPPED", "ALLOW", "DENY", "CHALLENGE", "UNKNOWN"], UpperCase
]


class AlertMatch(Section):
    """Conditions on an event; all given keys must hold, and a list means any of its items."""

    event_type: Globs | None = None
    severity: Annotated[tuple[Severity, ...], OneOrMany, Field(min_length=1)] | None = None
    outcome: Annotated[tuple[Outcome, ...], OneOrMany, Field(min_length=1)] | None = None
    actor: Globs | None = None
    target: Globs | None = None


class AlertRule(Section):
    match: AlertMatch
    channel: Channel | None = None
    drop: bool = False

    @model_validator(mode="after")
    def _one_action(self) -> AlertRule:
        if (self.channel is None) == (not self.drop):
            raise problem("a rule needs exactly one action: 'channel: \"#name\"' or 'drop: true'")
        return self


class Digest(Section):
    threshold: Annotated[int, Field(ge=2)] = 20
    window: Seconds = 60


class Alerts(Section):
    default_channel: Channel
    digest: Digest = Digest()
    rules: tuple[AlertRule, ...] = ()
