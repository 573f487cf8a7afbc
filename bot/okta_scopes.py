"""Which Okta OAuth scopes each thing the bot does needs, from Okta's OpenAPI specification of the
endpoints it calls (../shared/okta-openapi), so that `check` can say which verb a missing scope breaks.

A `.manage` scope includes its `.read` scope at Okta's org authorization server.
"""

from __future__ import annotations

from collections.abc import Iterable

from policy import Policy, Verb

USERS_READ, USERS_MANAGE = "okta.users.read", "okta.users.manage"
GROUPS_READ, GROUPS_MANAGE = "okta.groups.read", "okta.groups.manage"
LOGS_READ = "okta.logs.read"
HOOKS_READ, HOOKS_MANAGE = "okta.eventHooks.read", "okta.eventHooks.manage"

# Every command first finds the caller's Okta account and groups (search users, a user's groups).
_CALLER = (USERS_READ,)
# verb -> what it calls beyond that: users' lifecycle, passwords, sessions and push factors are
# okta.users.manage; a target group is found with okta.groups.read and changed with okta.groups.manage.
VERB_SCOPES: dict[Verb, tuple[str, ...]] = {
    Verb.LOOKUP: (USERS_READ,),
    Verb.GROUPS: (USERS_READ,),
    Verb.UNLOCK: (USERS_MANAGE,),
    Verb.RESET_PASSWORD: (USERS_MANAGE,),
    Verb.EXPIRE_PASSWORD: (USERS_MANAGE,),
    Verb.SUSPEND: (USERS_MANAGE,),
    Verb.UNSUSPEND: (USERS_MANAGE,),
    Verb.DEACTIVATE: (USERS_MANAGE,),
    Verb.CLEAR_SESSIONS: (USERS_MANAGE,),
    Verb.ADD_TO_GROUP: (GROUPS_READ, GROUPS_MANAGE),
    Verb.REMOVE_FROM_GROUP: (GROUPS_READ, GROUPS_MANAGE),
    Verb.APPROVALS: (),
    Verb.CANCEL: (),
    Verb.REQUEST: (GROUPS_READ, GROUPS_MANAGE),  # the approved membership is added, then removed at its end
    Verb.BREAK_GLASS: (GROUPS_READ, GROUPS_MANAGE),  # the on-call's own membership, added now and removed at its end
    Verb.ACCESS: (),  # grants are read from Redis; a named user is found with the caller's scope
    Verb.HELP: (),
    Verb.HISTORY: (),  # the bot's own audit trail, once the user is found
    Verb.ACTIVITY: (LOGS_READ,),  # the System Log filtered on the user
    Verb.RESET_MFA: (USERS_MANAGE,),  # list and reset factors
    Verb.ACTIVATE: (USERS_MANAGE,),
    Verb.REACTIVATE: (USERS_MANAGE,),
    Verb.VERIFY: (USERS_MANAGE,),  # the push verify (the factor list and its poll are read scopes)
    # users resolved one by one (logins, ids, Slack members' emails), the group's members read once
    Verb.BULK_ADD_TO_GROUP: (USERS_READ, GROUPS_READ, GROUPS_MANAGE),
    Verb.BULK_REMOVE_FROM_GROUP: (USERS_READ, GROUPS_READ, GROUPS_MANAGE),
}
# Reading the System Log instead of receiving event hooks (OKTA_POLL_LOGS).
POLLING = "alerts from the System Log (OKTA_POLL_LOGS)"


def with_implied(scopes: Iterable[str]) -> frozenset[str]:
    """`scopes` and the `.read` scope each `.manage` one includes."""
    granted = set(scopes)
    return frozenset(granted | {s.removesuffix(".manage") + ".read" for s in granted if s.endswith(".manage")})


def needs(policy: Policy, *, poll_logs: bool) -> dict[str, list[str]]:
    """scope -> what the policy lets the bot do that needs it (verbs, self-service, polling), in order."""
    uses: dict[str, list[str]] = {}

    def add(what: str, scopes: Iterable[str]) -> None:
        for scope in (*_CALLER, *scopes):
            if what not in uses.setdefault(scope, []):
                uses[scope].append(what)

    for verb in policy.verbs:
        add(verb.value, VERB_SCOPES[verb])
    service = policy.self_service
    for verb, rule in ((Verb.UNLOCK, service.unlock), (Verb.RESET_PASSWORD, service.reset_password)):
        if rule.enabled and service.roles:
            add(f"self-service {verb.value}", VERB_SCOPES[verb])
    if policy.access is not None and policy.access.groups:
        add("time-bound access (request)", VERB_SCOPES[Verb.REQUEST])
    if policy.access is not None and any(rule.break_glass for rule in policy.access.groups.values()):
        add("time-bound access (break-glass)", VERB_SCOPES[Verb.BREAK_GLASS])
    if poll_logs:
        add(POLLING, (LOGS_READ,))
    return uses
