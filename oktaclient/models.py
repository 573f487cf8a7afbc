"""Pydantic models of the Okta JSON the project reads (shapes from the official OpenAPI spec).

Okta adds fields over time and orgs extend profiles, so unknown fields are kept, never rejected.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class _OktaModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class UserStatus(StrEnum):
    STAGED = "STAGED"
    PROVISIONED = "PROVISIONED"
    ACTIVE = "ACTIVE"
    RECOVERY = "RECOVERY"
    LOCKED_OUT = "LOCKED_OUT"
    PASSWORD_EXPIRED = "PASSWORD_EXPIRED"
    SUSPENDED = "SUSPENDED"
    DEPROVISIONED = "DEPROVISIONED"


class UserProfile(_OktaModel):
    login: str
    email: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    displayName: str | None = None
    title: str | None = None
    department: str | None = None
    manager: str | None = None
    managerId: str | None = None
    mobilePhone: str | None = None
    secondEmail: str | None = None


class User(_OktaModel):
    id: str
    status: UserStatus
    created: datetime | None = None
    activated: datetime | None = None
    statusChanged: datetime | None = None
    lastLogin: datetime | None = None
    lastUpdated: datetime | None = None
    passwordChanged: datetime | None = None
    transitioningToStatus: str | None = None
    profile: UserProfile

    @property
    def display_name(self) -> str:
        p = self.profile
        full = " ".join(part for part in (p.firstName, p.lastName) if part)
        return p.displayName or full or p.login


class GroupProfile(_OktaModel):
    name: str
    description: str | None = None


class Group(_OktaModel):
    id: str
    type: str | None = None  # OKTA_GROUP, APP_GROUP, BUILT_IN
    created: datetime | None = None
    lastUpdated: datetime | None = None
    lastMembershipUpdated: datetime | None = None
    profile: GroupProfile


class Factor(_OktaModel):
    id: str
    factorType: str  # push, sms, token:software:totp, webauthn, ...
    provider: str | None = None
    vendorName: str | None = None
    status: str | None = None  # ACTIVE, PENDING_ACTIVATION, ...
    created: datetime | None = None
    lastUpdated: datetime | None = None
    profile: dict[str, Any] = Field(default_factory=dict)


class FactorTransaction(_OktaModel):
    """Result of a factor verify call, or of polling its transaction (push)."""

    factorResult: str  # WAITING, SUCCESS, REJECTED, TIMEOUT, ...
    expiresAt: datetime | None = None
    links: dict[str, Any] = Field(default_factory=dict, alias="_links")
    embedded: dict[str, Any] = Field(default_factory=dict, alias="_embedded")

    @property
    def poll_url(self) -> str | None:
        """Where to poll a WAITING push; absent once the transaction has finished."""
        poll = self.links.get("poll")
        return poll.get("href") if isinstance(poll, dict) else None

    @property
    def correct_answer(self) -> int | None:
        """The number the user must pick on the phone when the org enforces number matching."""
        challenge = self.embedded.get("challenge")
        return challenge.get("correctAnswer") if isinstance(challenge, dict) else None


class LogActor(_OktaModel):
    id: str | None = None
    type: str | None = None
    alternateId: str | None = None
    displayName: str | None = None


class LogTarget(LogActor):
    pass


class LogOutcome(_OktaModel):
    result: str | None = None  # SUCCESS, FAILURE, SKIPPED, ALLOW, DENY, CHALLENGE, UNKNOWN
    reason: str | None = None


class LogGeolocation(_OktaModel):
    lat: float | None = None
    lon: float | None = None


class LogGeographicalContext(_OktaModel):
    city: str | None = None
    state: str | None = None
    country: str | None = None
    postalCode: str | None = None
    geolocation: LogGeolocation | None = None


class LogClient(_OktaModel):
    ipAddress: str | None = None
    userAgent: dict[str, Any] | None = None
    zone: str | None = None
    device: str | None = None
    geographicalContext: LogGeographicalContext | None = None


class LogEvent(_OktaModel):
    uuid: str
    published: datetime
    eventType: str
    version: str | None = None
    severity: str | None = None  # DEBUG, INFO, WARN, ERROR
    displayMessage: str | None = None
    legacyEventType: str | None = None
    actor: LogActor | None = None
    client: LogClient | None = None
    outcome: LogOutcome | None = None
    target: list[LogTarget] | None = None
    debugContext: dict[str, Any] | None = None
    securityContext: dict[str, Any] | None = None
    transaction: dict[str, Any] | None = None
    authenticationContext: dict[str, Any] | None = None


class EventHookChannelConfigHeader(_OktaModel):
    key: str
    value: str


class EventHookChannelConfigAuthScheme(_OktaModel):
    type: str = "HEADER"
    key: str = "Authorization"
    value: str | None = None  # write-only in Okta: never returned


class EventHookChannelConfig(_OktaModel):
    uri: str
    headers: list[EventHookChannelConfigHeader] | None = None
    authScheme: EventHookChannelConfigAuthScheme | None = None


class EventHookChannel(_OktaModel):
    type: str = "HTTP"
    version: str = "1.0.0"
    config: EventHookChannelConfig


class EventSubscriptions(_OktaModel):
    type: str = "EVENT_TYPE"
    items: list[str]


class EventHook(_OktaModel):
    id: str | None = None
    name: str
    status: str | None = None  # ACTIVE, INACTIVE
    verificationStatus: str | None = None  # VERIFIED, UNVERIFIED
    events: EventSubscriptions
    channel: EventHookChannel
    created: datetime | None = None
    lastUpdated: datetime | None = None


class EventHookDelivery(_OktaModel):
    """The body Okta POSTs to an event hook endpoint."""

    eventType: str  # "com.okta.event_hook"
    eventTypeVersion: str | None = None
    cloudEventsVersion: str | None = None
    source: str | None = None
    eventId: str | None = None
    eventTime: datetime | None = None
    contentType: str | None = None
    data: EventHookData


class EventHookData(_OktaModel):
    events: list[LogEvent]


class ErrorCause(_OktaModel):
    errorSummary: str


class ErrorBody(_OktaModel):
    errorCode: str
    errorSummary: str
    errorLink: str | None = None
    errorId: str | None = None
    errorCauses: list[ErrorCause] = Field(default_factory=list)


class Outcome(BaseModel):
    """What a write operation returns: enough for the audit trail and the reply, nothing more.

    `reset_url` is a one-time credential (set only by reset_password(send_email=False)), so it is a
    SecretStr: it never shows in a repr, a log line or an exception.
    """

    model_config = ConfigDict(frozen=True)

    request_id: str | None  # Okta's X-Okta-Request-Id: ties the audit record to Okta's System Log
    user: User | None = None
    reset_url: SecretStr | None = None


EventHookDelivery.model_rebuild()
