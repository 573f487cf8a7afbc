"""/api/v1/groups: list and search groups, add or read a group, list its members, assign and unassign members."""

from __future__ import annotations

from functools import partial

from starlette.responses import Response

from oktasim import _errors
from oktasim._bodies import GroupBody
from oktasim._http import Call, json_response, no_content, operation, paged
from oktasim._records import Group
from oktasim._search import Comparison, SearchSyntaxError, compile_expression, matches

READ, MANAGE = "okta.groups.read", "okta.groups.manage"
_SEARCHABLE = frozenset(
    {
        "id",
        "type",
        "created",
        "lastUpdated",
        "lastMembershipUpdated",
        "profile.name",
        "profile.description",
        "source.id",
    }
)
_RANGED = frozenset({"lastUpdated", "lastMembershipUpdated"})


def _search_allows(c: Comparison) -> bool:
    return c.attribute in _SEARCHABLE and c.op in ("eq", "sw", "co", "pr", "gt", "ge", "lt", "le")


def _filter_allows(c: Comparison) -> bool:
    return (c.attribute in ("id", "type") and c.op == "eq") or (c.attribute in _RANGED and c.op != "pr")


async def list_groups(call: Call) -> Response:
    directory = call.org.directory
    groups = directory.groups_by_id()
    search, filter_, q = call.query("search"), call.query("filter"), call.query("q")
    if search and filter_:
        raise _errors.search_and_filter()
    if search or filter_:
        try:
            expr = compile_expression(search or filter_ or "", _search_allows if search else _filter_allows)
        except SearchSyntaxError as exc:
            raise _errors.invalid_search() from exc
        groups = [g for g in groups if matches(expr, g.search_view(), case_sensitive=filter_ is not None)]
    if q:
        groups = [g for g in groups if g.name.casefold().startswith(q.casefold())]
    with_stats = "stats" in (call.query("expand") or "").split(",")

    def render(group: Group) -> dict[str, object]:
        return group.to_json(call.base, directory.member_count(group) if with_stats else None)

    return paged(call, groups, render, default_limit=10_000, max_limit=10_000)


async def add_group(call: Call) -> Response:
    body = await call.body(GroupBody, "group")
    org = call.org
    if org.directory.group_named(body.profile.name) is not None:
        raise _errors.validation("name", "name: An object with this field already exists in the current organization")
    group = org.add_group(body.profile.name, body.profile.description or "")
    org.log.emit("group.lifecycle.create", call.origin(), message="Create okta group", targets=[group.log_target()])
    return json_response(group.to_json(call.base))


async def get_group(call: Call) -> Response:
    directory = call.org.directory
    return json_response(directory.group_or_404(call.path("groupId")).to_json(call.base))


async def list_group_users(call: Call) -> Response:
    directory = call.org.directory
    members = directory.members(directory.group_or_404(call.path("groupId")))
    return paged(call, members, lambda u: u.to_json(call.base), default_limit=1000, max_limit=1000)


async def _set_membership(call: Call, member: bool) -> Response:
    directory = call.org.directory
    group = directory.group_or_404(call.path("groupId"))
    user = directory.users.get(call.path("userId"))  # membership paths take a user id, not a login
    if user is None:
        raise _errors.not_found(call.path("userId"), "User")
    call.org.ops.set_membership(group, user, member, call.origin())
    return no_content()


ROUTES = [
    operation("GET", "/api/v1/groups", READ, list_groups),
    operation("POST", "/api/v1/groups", MANAGE, add_group),
    operation("GET", "/api/v1/groups/{groupId}", READ, get_group),
    operation("GET", "/api/v1/groups/{groupId}/users", READ, list_group_users),
    operation("PUT", "/api/v1/groups/{groupId}/users/{userId}", MANAGE, partial(_set_membership, member=True)),
    operation("DELETE", "/api/v1/groups/{groupId}/users/{userId}", MANAGE, partial(_set_membership, member=False)),
]
