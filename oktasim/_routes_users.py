"""/api/v1/users: list and search, create, read, update, delete, lifecycle operations, groups, sessions."""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.responses import Response

from oktaclient.models import UserStatus
from oktasim import _errors
from oktasim._bodies import CreateUserBody, UpdateUserBody, check_profile
from oktasim._http import Call, json_response, no_content, operation, paged
from oktasim._records import Group, User
from oktasim._search import Comparison, Expression, SearchSyntaxError, compile_expression, matches, resolve_path
from oktasim._status import Op

READ, MANAGE = "okta.users.read", "okta.users.manage"
_FILTERABLE = frozenset(
    {"status", "lastUpdated", "id", "profile.login", "profile.email", "profile.firstName", "profile.lastName"}
)
_CONTAINS_OK = frozenset({"profile.firstName", "profile.lastName", "profile.email", "profile.login"})
_Q_FIELDS = ("firstName", "lastName", "email")  # Okta's `q` never looks at the login
_PUBLIC_OPS = frozenset(Op) - {Op.LOCK}


def _search_allows(c: Comparison) -> bool:
    """`search`: any attribute; no ne/ew; `co` only on the four name/login fields."""
    return c.op not in ("ne", "ew") and (c.op != "co" or c.attribute in _CONTAINS_OK)


def _filter_allows(c: Comparison) -> bool:
    """`filter`: a few attributes, `eq` only (lastUpdated may also be compared)."""
    ranged = c.attribute == "lastUpdated" and c.op in ("gt", "ge", "lt", "le")
    return c.attribute in _FILTERABLE and (c.op == "eq" or ranged)


def _expression(text: str, *, search: bool) -> Expression:
    try:
        return compile_expression(text, _search_allows if search else _filter_allows, allow_not=search)
    except SearchSyntaxError as exc:
        raise _errors.invalid_search() from exc


def _matching(users: list[User], expr: Expression, *, case_sensitive: bool) -> list[User]:
    return [u for u in users if matches(expr, u.search_view(), case_sensitive=case_sensitive)]


async def list_users(call: Call) -> Response:
    search, filter_ = call.query("search"), call.query("filter")
    if search and filter_:
        raise _errors.search_and_filter()
    q = None if search or filter_ else call.query("q")
    users = call.org.directory.users_by_id()
    sort_by = call.query("sortBy") if search else None
    if search:
        users = _matching(users, _expression(search, search=True), case_sensitive=False)
    elif filter_:
        users = _matching(users, _expression(filter_, search=False), case_sensitive=True)
    else:
        # Plain listing and `q` leave DEPROVISIONED users out; search and filter include them.
        users = [u for u in users if u.status is not UserStatus.DEPROVISIONED]
        if q:
            prefix = q.casefold()
            users = [
                u for u in users if any(str(u.profile.get(f) or "").casefold().startswith(prefix) for f in _Q_FIELDS)
            ]
    if sort_by:
        # Okta orders ties by id: sort by id first, then (stably) by the sort value.
        descending = (call.query("sortOrder") or "asc").lower() == "desc"
        users.sort(
            key=lambda u: str(next(iter(resolve_path(u.search_view(), sort_by)), "")).casefold(), reverse=descending
        )
    return paged(
        call,
        users,
        lambda u: u.to_json(call.base),
        default_limit=10 if q else 200,
        max_limit=200,
        sorted_by_id=not sort_by,
        paginate=not q,
    )


async def create_user(call: Call) -> Response:
    body = await call.body(CreateUserBody, "user")
    directory = call.org.directory
    password = body.credentials is not None and body.credentials.password is not None
    activate = call.flag("activate", True)
    next_login = call.query("nextLogin")
    if next_login not in (None, "changePassword"):
        raise _errors.validation("nextLogin", "nextLogin: must be changePassword")
    if next_login and not password:
        raise _errors.expired_password_needs_password()
    if next_login and not activate:
        raise _errors.expired_password_needs_activation()
    check_profile(body.profile, login_taken=directory.login_owner(str(body.profile.get("login", ""))) is not None)
    groups = _assignable_groups(call, body.groupIds)  # every group is checked before anything is created
    origin = call.origin()
    user = call.org.ops.create_user(
        body.profile, password, activate, expire_password=next_login is not None, origin=origin
    )
    for group in groups:
        call.org.ops.set_membership(group, user, True, origin)
    return json_response(user.to_json(call.base))


def _assignable_groups(call: Call, group_ids: list[str]) -> list[Group]:
    """The groups of `groupIds`, or Okta's 400 naming each id that is unknown or not an OKTA_GROUP."""
    groups, causes = [], []
    for group_id in group_ids:
        group = call.org.directory.groups.get(group_id)
        if group is None:
            causes.append(f"groupIds: Group with id {group_id} was not found")
        elif group.type != "OKTA_GROUP":  # Everyone (BUILT_IN) and app groups: Okta manages their members
            causes.append(f"groupIds: Cannot add users to group {group_id} of type {group.type}")
        else:
            groups.append(group)
    if causes:
        raise _errors.validation("groupIds", *causes)
    return groups


async def get_user(call: Call) -> Response:
    return json_response(call.org.directory.user_or_404(call.path("id")).to_json(call.base))


async def _update(call: Call, *, replace: bool) -> Response:
    user = call.org.directory.user_or_404(call.path("id"))
    if user.status is UserStatus.DEPROVISIONED:
        raise _errors.status_forbids()
    body = await call.body(UpdateUserBody, "user")
    origin, now = call.origin(), call.org.clock.now()
    if body.profile is not None or replace:
        profile = dict(body.profile or {}) if replace else {**user.profile, **(body.profile or {})}
        owner = call.org.directory.login_owner(str(profile.get("login", "")))
        check_profile(profile, login_taken=owner is not None and owner is not user)
        call.org.directory.rename_login(user, str(profile["login"]))
        user.profile = profile
        call.org.log.emit(
            "user.account.update_profile", origin, message="Update user profile for Okta", targets=[user.log_target()]
        )
    if body.credentials is not None and body.credentials.password is not None:
        user.has_password, user.password_changed = True, now
        call.org.log.emit(
            "user.account.update_password", origin, message="Update user password for Okta", targets=[user.log_target()]
        )
    user.last_updated = now
    return json_response(user.to_json(call.base))


async def delete_user(call: Call) -> Response:
    call.org.ops.delete_user(call.org.directory.user_or_404(call.path("id")), call.origin())
    return no_content()


async def lifecycle(call: Call) -> Response:
    name = call.path("op")
    if name not in _PUBLIC_OPS:
        raise _errors.path_not_found()
    op = Op(name)
    user = call.org.directory.user_or_404(call.path("id"))
    send_email = call.flag("sendEmail", op is not Op.REACTIVATE)  # Okta's defaults: reactivate false, else true
    revoke_sessions = call.flag("revokeSessions", False)
    origin = call.origin()
    call.org.ops.transition(user, op, origin)
    if revoke_sessions:
        call.org.ops.clear_sessions(user, origin)
    return json_response(_lifecycle_result(call, op, user, send_email))


def _lifecycle_result(call: Call, op: Op, user: User, send_email: bool) -> dict[str, Any]:
    token = call.org.ids.chars(20)
    if op in (Op.ACTIVATE, Op.REACTIVATE) and not send_email:
        return {"activationUrl": f"{call.base}/welcome/{token}", "activationToken": token}
    if op is Op.RESET_PASSWORD and not send_email:
        return {"resetPasswordUrl": f"{call.base}/reset_password/{token}"}
    if op is Op.EXPIRE_PASSWORD:
        return user.to_json(call.base)
    if op is Op.EXPIRE_PASSWORD_WITH_TEMP:
        return {"tempPassword": token[:8]}
    return {}


async def list_user_groups(call: Call) -> Response:
    directory = call.org.directory
    user = directory.user_or_404(call.path("id"))
    return json_response([g.to_json(call.base) for g in directory.groups_of(user)])


async def revoke_sessions(call: Call) -> Response:
    call.org.ops.clear_sessions(call.org.directory.user_or_404(call.path("userId")), call.origin())
    return no_content()


ROUTES = [
    operation("GET", "/api/v1/users", READ, list_users),
    operation("POST", "/api/v1/users", MANAGE, create_user),
    operation("GET", "/api/v1/users/{id}", READ, get_user),
    operation("POST", "/api/v1/users/{id}", MANAGE, partial(_update, replace=False)),
    operation("PUT", "/api/v1/users/{id}", MANAGE, partial(_update, replace=True)),
    operation("DELETE", "/api/v1/users/{id}", MANAGE, delete_user),
    operation("GET", "/api/v1/users/{id}/groups", READ, list_user_groups),
    operation("POST", "/api/v1/users/{id}/lifecycle/{op}", MANAGE, lifecycle),
    operation("DELETE", "/api/v1/users/{userId}/sessions", MANAGE, revoke_sessions),
]
