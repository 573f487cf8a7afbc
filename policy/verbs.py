"""The canonical `/okta` verbs, and the facts about them that the policy's rules depend on.

The names live here, not in `commands/`, because the policy file names verbs and must be checked
against them, and `policy` may not import `commands` (it sits above). The grammar imports this.
"""

from __future__ import annotations

from enum import StrEnum


class Verb(StrEnum):
    LOOKUP = "lookup"
    UNLOCK = "unlock"
    RESET_PASSWORD = "reset-password"
    EXPIRE_PASSWORD = "expire-password"
    SUSPEND = "suspend"
    UNSUSPEND = "unsuspend"
    DEACTIVATE = "deactivate"
    CLEAR_SESSIONS = "clear-sessions"
    GROUPS = "groups"
    ADD_TO_GROUP = "add-to-group"
    REMOVE_FROM_GROUP = "remove-from-group"
    APPROVALS = "approvals"
    CANCEL = "cancel"
    REQUEST = "request"
    BREAK_GLASS = "break-glass"
    ACCESS = "access"
    HELP = "help"
    # the helpdesk toolkit (issue 18)
    HISTORY = "history"
    ACTIVITY = "activity"
    RESET_MFA = "reset-mfa"
    ACTIVATE = "activate"
    REACTIVATE = "reactivate"
    VERIFY = "verify"
    BULK_ADD_TO_GROUP = "bulk-add-to-group"
    BULK_REMOVE_FROM_GROUP = "bulk-remove-from-group"


# Verbs that change something in Okta: only these can be put behind an approval.
OKTA_WRITE_VERBS = frozenset(
    {
        Verb.UNLOCK,
        Verb.RESET_PASSWORD,
        Verb.EXPIRE_PASSWORD,
        Verb.SUSPEND,
        Verb.UNSUSPEND,
        Verb.DEACTIVATE,
        Verb.CLEAR_SESSIONS,
        Verb.ADD_TO_GROUP,
        Verb.REMOVE_FROM_GROUP,
        Verb.RESET_MFA,
        Verb.ACTIVATE,
        Verb.REACTIVATE,
        Verb.BULK_ADD_TO_GROUP,
        Verb.BULK_REMOVE_FROM_GROUP,
    }
)

# Writes that need approval unless their own rule says `approval: {required: false}`, whether or not
# `approvals.default_verbs` lists them: removing a person's factors hands their account to whoever
# enrols next, the usual end of a social-engineering call to a helpdesk.
# A batch changes up to BULK_MAX memberships at once: one approval for the whole batch, by default.
APPROVAL_BY_DEFAULT = frozenset({Verb.RESET_MFA, Verb.BULK_ADD_TO_GROUP, Verb.BULK_REMOVE_FROM_GROUP})

# Verbs that change a group's membership: the privileged-group rule applies to them.
GROUP_VERBS = frozenset({Verb.ADD_TO_GROUP, Verb.REMOVE_FROM_GROUP, Verb.BULK_ADD_TO_GROUP, Verb.BULK_REMOVE_FROM_GROUP})

# Verbs that add someone to a group: adding oneself always needs approval.
ADDING_VERBS = frozenset({Verb.ADD_TO_GROUP, Verb.BULK_ADD_TO_GROUP})

# Batches of membership changes (`bulk-add-to-group <group> <user> <user> …`), at most BULK_MAX users.
BULK_VERBS = frozenset({Verb.BULK_ADD_TO_GROUP, Verb.BULK_REMOVE_FROM_GROUP})
BULK_MAX = 500

# Verbs the policy may make wait for a recent `/okta verify` of the target (`verification.before`).
VERIFIABLE_VERBS = frozenset({Verb.UNLOCK, Verb.RESET_PASSWORD, Verb.RESET_MFA})

# Verbs an employee may run on their own account (`unlock`, `unlock me`), governed by `self_service`.
SELF_SERVICE_VERBS = frozenset({Verb.UNLOCK, Verb.RESET_PASSWORD})

# Verbs everyone may always run; the policy cannot restrict them, so it may not name them either.
ALWAYS_ALLOWED_VERBS = frozenset({Verb.HELP})

# Verbs the `access` section governs (who may request, or break glass on, which group), not `verbs`:
# it may not name them.
ACCESS_SECTION_VERBS = frozenset({Verb.REQUEST, Verb.BREAK_GLASS})
