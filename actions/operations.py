"""The Okta write each verb performs, what success looks like, and how to tell afterwards whether it
took effect (for approvals whose executing process died: they are reconciled, never re-run)."""

from __future__ import annotations

from dataclasses import dataclass

from oktaclient import OktaClient
from oktaclient.models import Outcome, UserStatus
from policy import Verb


@dataclass(frozen=True)
class Operation:
    """One write on one user (and, for membership verbs, one group; for reset-mfa, one factor or all)."""

    verb: Verb
    user_id: str
    group_id: str | None = None
    factor_id: str | None = None  # reset-mfa: this factor only; None: every factor


@dataclass(frozen=True)
class Effect:
    past: str  # "unlocked", for "✅ Lee Locked unlocked."
    working: str  # "Unlocking", for "⏳ Unlocking Lee Locked…"


EFFECTS = {
    Verb.UNLOCK: Effect("unlocked", "Unlocking"),
    Verb.RESET_PASSWORD: Effect("sent a password reset email", "Sending a password reset email to"),
    Verb.EXPIRE_PASSWORD: Effect("password expired: they must choose a new one at next sign-in", "Expiring the password of"),
    Verb.SUSPEND: Effect("suspended", "Suspending"),
    Verb.UNSUSPEND: Effect("unsuspended", "Unsuspending"),
    Verb.DEACTIVATE: Effect("deactivated", "Deactivating"),
    Verb.CLEAR_SESSIONS: Effect("signed out everywhere (all sessions cleared)", "Clearing the sessions of"),
    Verb.ADD_TO_GROUP: Effect("added to the group", "Adding"),
    Verb.REMOVE_FROM_GROUP: Effect("removed from the group", "Removing"),
    Verb.RESET_MFA: Effect("MFA reset: they enrol again at their next sign-in", "Resetting the MFA of"),
    Verb.ACTIVATE: Effect("activated: Okta emailed the activation link", "Activating"),
    Verb.REACTIVATE: Effect("sent a new activation email", "Sending a new activation email to"),
}


async def perform(okta: OktaClient, op: Operation) -> Outcome:
    """Run the operation. A password reset always goes by Okta's email to the user: the link never
    passes through Slack. Raises the client's typed errors."""
    uid = op.user_id
    match op.verb:
        case Verb.UNLOCK:
            return await okta.unlock_user(uid)
        case Verb.RESET_PASSWORD:
            return await okta.reset_password(uid, send_email=True)
        case Verb.EXPIRE_PASSWORD:
            return await okta.expire_password(uid)
        case Verb.SUSPEND:
            return await okta.suspend_user(uid)
        case Verb.UNSUSPEND:
            return await okta.unsuspend_user(uid)
        case Verb.DEACTIVATE:
            return await okta.deactivate_user(uid)
        case Verb.CLEAR_SESSIONS:
            return await okta.clear_sessions(uid)
        case Verb.ADD_TO_GROUP:
            return await okta.add_user_to_group(_group(op), uid)
        case Verb.REMOVE_FROM_GROUP:
            return await okta.remove_user_from_group(_group(op), uid)
        case Verb.RESET_MFA:
            if op.factor_id is None:
                return await okta.reset_factors(uid)
            return await okta.unenroll_factor(uid, op.factor_id)
        case Verb.ACTIVATE:
            return await okta.activate_user(uid, send_email=True)
        case Verb.REACTIVATE:
            return await okta.reactivate_user(uid, send_email=True)
    raise ValueError(f"{op.verb} is not an Okta write")


async def took_effect(okta: OktaClient, op: Operation) -> bool | None:
    """Whether Okta shows the operation's effect now; None when its state cannot tell."""
    match op.verb:
        case Verb.SUSPEND:
            return (await okta.get_user(op.user_id)).status == UserStatus.SUSPENDED
        case Verb.DEACTIVATE:
            return (await okta.get_user(op.user_id)).status == UserStatus.DEPROVISIONED
        case Verb.UNSUSPEND | Verb.UNLOCK:
            return (await okta.get_user(op.user_id)).status == UserStatus.ACTIVE
        case Verb.EXPIRE_PASSWORD:
            return (await okta.get_user(op.user_id)).status == UserStatus.PASSWORD_EXPIRED
        case Verb.RESET_PASSWORD:
            return (await okta.get_user(op.user_id)).status == UserStatus.RECOVERY
        case Verb.ADD_TO_GROUP | Verb.REMOVE_FROM_GROUP:
            member = any([g.id == _group(op) async for g in okta.list_user_groups(op.user_id)])
            return member if op.verb == Verb.ADD_TO_GROUP else not member
        case Verb.RESET_MFA:
            factors = await okta.list_factors(op.user_id)
            return not factors if op.factor_id is None else all(f.id != op.factor_id for f in factors)
        case Verb.ACTIVATE:
            return (await okta.get_user(op.user_id)).status != UserStatus.STAGED
    return None  # clear-sessions and reactivate leave nothing to read back


def _group(op: Operation) -> str:
    if op.group_id is None:
        raise ValueError(f"{op.verb} needs a group")
    return op.group_id
