"""The user status machine: which lifecycle operation is allowed from which status, where it leads,
what Okta answers when it is not allowed, and what it writes to the System Log.

Allowed states and errors follow Okta's lifecycle documentation and error-code catalogue: suspend and
unsuspend answer 400 E0000001; activate on a user that is not STAGED or DEPROVISIONED (a PROVISIONED user
is reactivated instead) 403 E0000016; unlock 403 E0000032; reset_password 403 E0000017; everything else
403 E0000038.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from oktaclient.models import UserStatus
from oktasim import _errors
from oktasim._errors import OktaError

S = UserStatus
_ALL = frozenset(UserStatus)


class Op(StrEnum):
    """Lifecycle operations; values are the URL segment under /lifecycle/ (LOCK is internal: failed sign-ins)."""

    ACTIVATE = "activate"
    REACTIVATE = "reactivate"
    DEACTIVATE = "deactivate"
    SUSPEND = "suspend"
    UNSUSPEND = "unsuspend"
    UNLOCK = "unlock"
    RESET_PASSWORD = "reset_password"
    EXPIRE_PASSWORD = "expire_password"
    EXPIRE_PASSWORD_WITH_TEMP = "expire_password_with_temp_password"
    RESET_FACTORS = "reset_factors"
    LOCK = "lock"


@dataclass(frozen=True)
class Transition:
    allowed_from: frozenset[UserStatus]
    target: UserStatus | None  # None: the status does not change
    refusal: Callable[[], OktaError]
    event_type: str
    display_message: str
    link: str | None  # the HAL link a user carries while the operation is allowed
    severity: str = "INFO"


def _suspend_refused() -> OktaError:
    return _errors.validation("status", "Cannot suspend a user that is not ACTIVE.")


def _unsuspend_refused() -> OktaError:
    return _errors.validation("status", "Cannot unsuspend a user that is not SUSPENDED.")


_EXPIRABLE = frozenset({S.ACTIVE, S.PASSWORD_EXPIRED, S.RECOVERY})

TRANSITIONS: dict[Op, Transition] = {
    Op.ACTIVATE: Transition(
        frozenset({S.STAGED, S.DEPROVISIONED}),
        S.ACTIVE,
        _errors.already_active,
        "user.lifecycle.activate",
        "Activate Okta user",
        "activate",
    ),
    Op.REACTIVATE: Transition(
        frozenset({S.PROVISIONED, S.RECOVERY}),
        S.PROVISIONED,
        _errors.status_forbids,
        "user.lifecycle.reactivate",
        "Reactivate Okta user",
        "reactivate",
    ),
    Op.DEACTIVATE: Transition(
        _ALL - {S.DEPROVISIONED},
        S.DEPROVISIONED,
        _errors.status_forbids,
        "user.lifecycle.deactivate",
        "Deactivate Okta user",
        "deactivate",
    ),
    Op.SUSPEND: Transition(
        frozenset({S.ACTIVE}),
        S.SUSPENDED,
        _suspend_refused,
        "user.lifecycle.suspend",
        "Suspend Okta user",
        "suspend",
    ),
    Op.UNSUSPEND: Transition(
        frozenset({S.SUSPENDED}),
        S.ACTIVE,
        _unsuspend_refused,
        "user.lifecycle.unsuspend",
        "Unsuspend Okta user",
        "unsuspend",
    ),
    Op.UNLOCK: Transition(
        frozenset({S.LOCKED_OUT}),
        S.ACTIVE,
        _errors.unlock_not_allowed,
        "user.account.unlock",
        "Unlock user account",
        "unlock",
    ),
    Op.RESET_PASSWORD: Transition(
        # PROVISIONED users without a password finish activation through a password reset.
        frozenset({S.ACTIVE, S.RECOVERY, S.PASSWORD_EXPIRED, S.LOCKED_OUT, S.PROVISIONED}),
        S.RECOVERY,
        _errors.password_reset_failed,
        "user.account.reset_password",
        "Reset Okta user password",
        "resetPassword",
    ),
    Op.EXPIRE_PASSWORD: Transition(
        _EXPIRABLE,
        S.PASSWORD_EXPIRED,
        _errors.status_forbids,
        "user.account.expire_password",
        "Expire Okta user password",
        "expirePassword",
    ),
    Op.EXPIRE_PASSWORD_WITH_TEMP: Transition(
        _EXPIRABLE,
        S.PASSWORD_EXPIRED,
        _errors.status_forbids,
        "user.account.expire_password",
        "Expire Okta user password",
        None,
    ),
    Op.RESET_FACTORS: Transition(
        _ALL - {S.DEPROVISIONED, S.STAGED},
        None,
        _errors.status_forbids,
        "user.mfa.factor.reset_all",
        "Reset all factors for user",
        "resetFactors",
    ),
    Op.LOCK: Transition(
        frozenset({S.ACTIVE, S.PASSWORD_EXPIRED}),
        S.LOCKED_OUT,
        _errors.status_forbids,
        "user.account.lock",
        "Max sign in attempts exceeded",
        None,
        "WARN",
    ),
}


def next_status(op: Op, current: UserStatus, has_password: bool) -> UserStatus | None:
    """The status after `op`, or raises the OktaError Okta answers when `op` is not allowed."""
    transition = TRANSITIONS[op]
    if current not in transition.allowed_from:
        raise transition.refusal()
    if op is Op.ACTIVATE and not has_password:
        return S.PROVISIONED  # no password yet: the user still has to finish the activation email flow
    return transition.target


def lifecycle_links(current: UserStatus) -> dict[str, Op]:
    """HAL link name -> operation, for the operations allowed in `current`."""
    return {t.link: op for op, t in TRANSITIONS.items() if t.link and current in t.allowed_from}
