"""What each `/okta` verb takes and does: the one table that the parser, help and the UI share.

Verb names are canonical in `policy.verbs`; this adds everything about how a verb is typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from policy.verbs import Verb
from slacktext import escape


class Operands(Enum):
    """What follows a verb; the value is how usage lines write it."""

    NONE = ""
    USER = "<user>"
    USER_OR_SELF = "[<user> | me]"  # nothing, or `me`: the caller themselves (self-service)
    USER_AND_GROUP = "<user> <group>"
    REQUEST_ID = "<request-id>"
    TOPIC = "[<command>]"
    USER_AND_PAGE = "<user> [<page>]"  # history
    USER_AND_WINDOW = "<user> [<window>]"  # activity: 30m, 24h, 7d
    USER_AND_FACTOR = "<user> [<factor>]"  # reset-mfa: a factor type (push, sms, …) or id
    # bulk-add-to-group / bulk-remove-from-group: the group first, then users and Slack user groups
    GROUP_AND_USERS = "<group> <user|@user-group> [<user|@user-group> …]"
    GROUP_FOR = "[<group> for <duration> [<reason>]]"  # nothing: what the caller may request
    GROUP_REASON = "<group> [for <duration>] <reason>"  # break-glass: the duration defaults to the policy's longest
    OPTIONAL_USER = "[<user>]"  # nothing: the caller


@dataclass(frozen=True)
class VerbSpec:
    verb: Verb
    operands: Operands
    summary: str
    example: str
    # Takes away a user's access or credentials: the UI confirms it and styles it as dangerous.
    destructive: bool = False
    aliases: tuple[str, ...] = ()
    # May end with `for <duration> [reason]`: membership that ends by itself (the policy's `access`).
    timed: bool = False

    @property
    def usage(self) -> str:
        timed = " [for <duration> [<reason>]]" if self.timed else ""
        return f"{self.verb.value} {self.operands.value}{timed}".rstrip()


_SPECS = (
    VerbSpec(
        Verb.LOOKUP,
        Operands.USER,
        summary="Show a user's status, profile and factors.",
        example="lookup alex.kim@acme.example",
        aliases=("whois",),
    ),
    VerbSpec(
        Verb.UNLOCK,
        Operands.USER_OR_SELF,
        summary="Unlock a locked-out account (your own, without a user).",
        example="unlock lee",
    ),
    VerbSpec(
        Verb.RESET_PASSWORD,
        Operands.USER_OR_SELF,
        summary="Send a password reset email (your own, without a user).",
        example="reset-password lee.locked@acme.example",
        destructive=True,
    ),
    VerbSpec(
        Verb.EXPIRE_PASSWORD,
        Operands.USER,
        summary="Make a user choose a new password at their next sign-in.",
        example="expire-password alex.kim@acme.example",
        destructive=True,
    ),
    VerbSpec(
        Verb.SUSPEND,
        Operands.USER,
        summary="Suspend a user: they cannot sign in until unsuspended.",
        example='suspend "Alex Kim"',
        destructive=True,
    ),
    VerbSpec(
        Verb.UNSUSPEND,
        Operands.USER,
        summary="Return a suspended user to active.",
        example="unsuspend sue.suspended@acme.example",
    ),
    VerbSpec(
        Verb.DEACTIVATE,
        Operands.USER,
        summary="Deactivate a user (offboarding).",
        example="deactivate 00u1a2b3c4d5e6f7g8h9",
        destructive=True,
    ),
    VerbSpec(
        Verb.CLEAR_SESSIONS,
        Operands.USER,
        summary="Sign a user out of every Okta session.",
        example="clear-sessions alex",
        destructive=True,
    ),
    VerbSpec(
        Verb.GROUPS,
        Operands.USER,
        summary="List the groups a user belongs to.",
        example="groups alex.kim@acme.example",
    ),
    VerbSpec(
        Verb.ADD_TO_GROUP,
        Operands.USER_AND_GROUP,
        summary="Add a user to a group; with `for 4h` (m, h or d) only for that long.",
        example='add-to-group alex "Okta Admins" for 4h INC-1234',
        timed=True,
    ),
    VerbSpec(
        Verb.REMOVE_FROM_GROUP,
        Operands.USER_AND_GROUP,
        summary="Remove a user from a group.",
        example="remove-from-group alex Contractors",
        destructive=True,
    ),
    VerbSpec(
        Verb.BULK_ADD_TO_GROUP,
        Operands.GROUP_AND_USERS,
        summary="Add up to 500 users (or a Slack user group's members) to a group: one approval for the batch, "
        "a progress message, a report.",
        example="bulk-add-to-group Engineering alex.kim@acme.example lee.locked@acme.example",
    ),
    VerbSpec(
        Verb.BULK_REMOVE_FROM_GROUP,
        Operands.GROUP_AND_USERS,
        summary="Remove up to 500 users (or a Slack user group's members) from a group, as bulk-add-to-group does.",
        example='bulk-remove-from-group Contractors alex.kim@acme.example "Lee Locked"',
        destructive=True,
    ),
    VerbSpec(
        Verb.HISTORY,
        Operands.USER_AND_PAGE,
        summary="What was done to a user through this bot: who, what, when, approvals, results.",
        example="history lee.locked@acme.example",
    ),
    VerbSpec(
        Verb.ACTIVITY,
        Operands.USER_AND_WINDOW,
        summary="Sign-ins, failures and why, lock-outs, MFA and password changes from Okta's System Log "
        "(default: the last 24h; at most 7d).",
        example="activity lee 24h",
    ),
    VerbSpec(
        Verb.RESET_MFA,
        Operands.USER_AND_FACTOR,
        summary="List a user's MFA factors with buttons to reset one or all (the user enrols again).",
        example="reset-mfa alex.kim@acme.example push",
        destructive=True,
    ),
    VerbSpec(
        Verb.ACTIVATE,
        Operands.USER,
        summary="Activate a STAGED user: Okta emails them the activation link.",
        example="activate new.hire@acme.example",
    ),
    VerbSpec(
        Verb.REACTIVATE,
        Operands.USER,
        summary="Send a PROVISIONED user (who never finished activating) a new activation email.",
        example="reactivate new.hire@acme.example",
    ),
    VerbSpec(
        Verb.VERIFY,
        Operands.USER,
        summary="Check a caller is who they claim: an Okta Verify push with a number for you to read out to them.",
        example="verify lee.locked@acme.example",
    ),
    VerbSpec(
        Verb.APPROVALS,
        Operands.NONE,
        summary="List the approval requests waiting for a decision.",
        example="approvals",
    ),
    VerbSpec(
        Verb.CANCEL,
        Operands.REQUEST_ID,
        summary="Cancel an approval request you made.",
        example="cancel kX2f9Tq0Lw3bZr1A",
    ),
    VerbSpec(
        Verb.REQUEST,
        Operands.GROUP_FOR,
        summary="Ask for membership of a group for a while, approved by its approvers (alone: what you may request).",
        example="request Finance for 2h quarter close",
    ),
    VerbSpec(
        Verb.BREAK_GLASS,
        Operands.GROUP_REASON,
        summary="On-call only: take a group the policy opts in for yourself at once, for at most 1h, announced to "
        "security and reviewed by an approver afterwards.",
        example="break-glass Engineering for 30m INC-4711 checkout is down",
    ),
    VerbSpec(
        Verb.ACCESS,
        Operands.OPTIONAL_USER,
        summary="List the time-bound access that is active, and the time left (yours, or a user's).",
        example="access alex.kim@acme.example",
    ),
    VerbSpec(
        Verb.HELP,
        Operands.TOPIC,
        summary="List the commands, or explain one.",
        example="help unlock",
        aliases=("?",),
    ),
)

VERB_SPECS: dict[Verb, VerbSpec] = {spec.verb: spec for spec in _SPECS}

USER_FORMS = (
    "A <user> is an email/login (alex.kim@acme.example), a Slack mention (@Alex Kim), an Okta user id "
    '(00u…), or a name to search for: one word (alex) or in quotes ("Alex Kim").'
)


def help_text(topic: Verb | None = None) -> str:
    """Slack mrkdwn help: every command with its usage, or one command in detail."""
    if topic is not None:
        spec = VERB_SPECS[topic]
        lines = [f"`/okta {spec.usage}`", spec.summary]
        if spec.aliases:
            lines.append(f"Also written: {', '.join(f'`{alias}`' for alias in spec.aliases)}")
        lines += [f"Example: `/okta {spec.example}`", USER_FORMS]
    else:
        lines = ["*Commands*", *(f"• `/okta {spec.usage}`: {spec.summary}" for spec in _SPECS), USER_FORMS]
        lines.append("`/okta help <command>` explains one command.")
    return escape("\n".join(lines))
