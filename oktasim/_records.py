"""The org's objects (users, groups, factors) and their JSON as Okta renders it.

Rendering needs the org's base URL for `_links`, which comes from the request being answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from oktaclient.models import UserStatus
from oktasim._clock import iso, iso_or_none
from oktasim._status import lifecycle_links


def href(url: str, *allow: str) -> dict[str, Any]:
    link: dict[str, Any] = {"href": url}
    if allow:
        link["hints"] = {"allow": list(allow)}
    return link


@dataclass
class Factor:
    id: str
    factor_type: str
    provider: str
    status: str
    created: datetime
    last_updated: datetime
    profile: dict[str, Any] = field(default_factory=dict)

    def log_target(self) -> dict[str, Any]:
        return {"id": self.id, "type": "Factor", "alternateId": self.factor_type, "displayName": self.factor_type}

    def to_json(self, base: str, user_id: str) -> dict[str, Any]:
        url = f"{base}/api/v1/users/{user_id}/factors/{self.id}"
        links = {"self": href(url, "GET", "DELETE"), "user": href(f"{base}/api/v1/users/{user_id}", "GET")}
        if self.status == "ACTIVE":
            links["verify"] = href(f"{url}/verify", "POST")
        else:
            links["activate"] = href(f"{url}/lifecycle/activate", "POST")
        return {
            "id": self.id,
            "factorType": self.factor_type,
            "provider": self.provider,
            "vendorName": self.provider,
            "status": self.status,
            "created": iso(self.created),
            "lastUpdated": iso(self.last_updated),
            "profile": self.profile,
            "_links": links,
        }


@dataclass
class User:
    id: str
    status: UserStatus
    profile: dict[str, Any]
    created: datetime
    last_updated: datetime
    type_id: str
    has_password: bool = True
    activated: datetime | None = None
    status_changed: datetime | None = None
    last_login: datetime | None = None
    password_changed: datetime | None = None
    factors: list[Factor] = field(default_factory=list)
    sessions: int = 0
    transitioning_to: UserStatus | None = None  # the target of an asynchronous transition under way

    @property
    def login(self) -> str:
        return str(self.profile["login"])

    @property
    def display_name(self) -> str:
        full = " ".join(str(p) for p in (self.profile.get("firstName"), self.profile.get("lastName")) if p)
        return str(self.profile.get("displayName") or full or self.login)

    def search_view(self) -> dict[str, Any]:
        """What `search` and `filter` expressions see: top-level attributes, profile.*, type.id."""
        return {
            "id": self.id,
            "status": self.status.value,
            "created": iso(self.created),
            "activated": iso_or_none(self.activated),
            "statusChanged": iso_or_none(self.status_changed),
            "lastUpdated": iso(self.last_updated),
            "lastLogin": iso_or_none(self.last_login),
            "passwordChanged": iso_or_none(self.password_changed),
            "profile": self.profile,
            "type": {"id": self.type_id},
        }

    def to_json(self, base: str) -> dict[str, Any]:
        url = f"{base}/api/v1/users/{self.id}"
        links: dict[str, Any] = {"self": href(url)}
        for name, op in lifecycle_links(self.status).items():
            links[name] = {"href": f"{url}/lifecycle/{op.value}", "method": "POST"}
        links["schema"] = href(f"{base}/api/v1/meta/schemas/user/{self.type_id}")
        links["type"] = href(f"{base}/api/v1/meta/types/user/{self.type_id}")
        credentials: dict[str, Any] = {"provider": {"type": "OKTA", "name": "OKTA"}}
        if self.has_password:
            credentials["password"] = {}
        body = {**self.search_view(), "credentials": credentials, "_links": links}
        if self.transitioning_to is not None:  # Okta returns the property only while a transition is under way
            body["transitioningToStatus"] = self.transitioning_to.value
        return body

    def log_target(self) -> dict[str, Any]:
        return {"id": self.id, "type": "User", "alternateId": self.login, "displayName": self.display_name}


@dataclass
class Group:
    id: str
    name: str
    description: str
    type: str  # OKTA_GROUP | BUILT_IN | APP_GROUP
    created: datetime
    last_updated: datetime
    last_membership_updated: datetime
    privileged: bool = False  # members hold an admin role (Okta logs privilege grants for them)
    member_ids: set[str] = field(default_factory=set)

    def search_view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "created": iso(self.created),
            "lastUpdated": iso(self.last_updated),
            "lastMembershipUpdated": iso(self.last_membership_updated),
            "profile": {"name": self.name, "description": self.description},
        }

    def to_json(self, base: str, users_count: int | None = None) -> dict[str, Any]:
        url = f"{base}/api/v1/groups/{self.id}"
        body = {
            **self.search_view(),
            "objectClass": ["okta:user_group"],
            "_links": {
                "logo": [
                    {"name": size, "href": f"{base}/assets/img/logos/groups/okta-{size}.png", "type": "image/png"}
                    for size in ("medium", "large")
                ],
                "users": href(f"{url}/users"),
                "apps": href(f"{url}/apps"),
            },
        }
        if users_count is not None:
            body["_embedded"] = {"stats": {"usersCount": users_count, "hasAdminPrivilege": self.privileged}}
        return body

    def log_target(self) -> dict[str, Any]:
        return {"id": self.id, "type": "UserGroup", "alternateId": "unknown", "displayName": self.name}
