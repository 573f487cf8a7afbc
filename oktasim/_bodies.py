"""Request bodies the API accepts, validated with pydantic; a bad body gets Okta's 400 answers
(E0000003 for JSON that does not parse, E0000001 with one errorCause per problem otherwise).
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from oktasim import _errors

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+\Z")
REQUIRED_PROFILE_FIELDS = ("login", "email", "firstName", "lastName")  # Okta's default user schema
# (minLength, maxLength) of the default profile's string attributes that have them, from the spec's UserProfile.
PROFILE_LENGTHS: dict[str, tuple[int, int]] = {
    "login": (5, 100),
    "email": (5, 100),
    "firstName": (1, 50),
    "lastName": (1, 50),
    "secondEmail": (0, 100),
    "mobilePhone": (0, 100),
    "primaryPhone": (0, 100),
    "city": (0, 128),
    "state": (0, 128),
    "zipCode": (0, 50),
    "countryCode": (0, 2),
    "streetAddress": (0, 1024),
    "postalAddress": (0, 4096),
}


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")  # Okta ignores what it does not know


class PasswordBody(_Body):
    value: str | None = None


class CredentialsBody(_Body):
    password: PasswordBody | None = None


class CreateUserBody(_Body):
    profile: dict[str, Any]
    credentials: CredentialsBody | None = None
    groupIds: list[str] = Field(default_factory=list)


class UpdateUserBody(_Body):
    profile: dict[str, Any] | None = None
    credentials: CredentialsBody | None = None


class GroupProfileBody(_Body):
    name: str = Field(min_length=1)
    description: str | None = None


class GroupBody(_Body):
    profile: GroupProfileBody


class HookHeaderBody(_Body):
    key: str = Field(min_length=1)
    value: str


class HookAuthSchemeBody(_Body):
    type: Literal["HEADER"] = "HEADER"
    key: str = Field(min_length=1)
    value: str | None = None


class HookConfigBody(_Body):
    uri: str = Field(pattern=r"^https?://")
    headers: list[HookHeaderBody] = Field(default_factory=list)
    authScheme: HookAuthSchemeBody | None = None


class HookChannelBody(_Body):
    type: Literal["HTTP"] = "HTTP"
    version: str = "1.0.0"
    config: HookConfigBody


class HookEventsBody(_Body):
    type: Literal["EVENT_TYPE"] = "EVENT_TYPE"
    items: list[str] = Field(min_length=1)


class EventHookBody(_Body):
    name: str = Field(min_length=1)
    events: HookEventsBody
    channel: HookChannelBody


class EnrollFactorBody(_Body):
    factorType: str
    provider: str | None = None
    profile: dict[str, Any] = Field(default_factory=dict)


class VerifyFactorBody(_Body):
    passCode: str | None = None
    useNumberMatchingChallenge: bool = False


Model = TypeVar("Model", bound=BaseModel)


def parse_body(model: type[Model], raw: bytes, subject: str) -> Model:
    try:
        data = json.loads(raw) if raw.strip() else None
    except ValueError as exc:
        raise _errors.malformed_body() from exc
    try:
        return model.model_validate({} if data is None else data)  # no body, or null, is an empty object
    except ValidationError as exc:
        causes = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or subject
            text = "The field cannot be left blank" if error["type"] == "missing" else error["msg"]
            causes.append(f"{where}: {text}")
        raise _errors.validation(subject, *causes) from exc


def check_profile(profile: dict[str, Any], login_taken: bool) -> None:
    """Okta's default user schema rules for a full profile; every problem becomes one errorCause."""
    problems = [(f, "The field cannot be left blank") for f in REQUIRED_PROFILE_FIELDS if not profile.get(f)]
    for field, (shortest, longest) in PROFILE_LENGTHS.items():
        value = profile.get(field)
        if not isinstance(value, str) or not value:  # blank and missing values are reported above
            continue
        if len(value) < shortest:
            problems.append((field, f"The field must have at least {shortest} characters"))
        elif len(value) > longest:
            problems.append((field, f"The field cannot exceed {longest} characters"))
    login, email = profile.get("login"), profile.get("email")
    if login and not _EMAIL.match(str(login)):
        problems.append(("login", "Username must be in the form of an email address"))
    if email and not _EMAIL.match(str(email)):
        problems.append(("email", "Does not match required pattern"))
    if login_taken:
        problems.append(("login", "An object with this field already exists in the current organization"))
    if problems:
        raise _errors.validation(problems[0][0], *(f"{field}: {message}" for field, message in problems))
