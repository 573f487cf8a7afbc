"""The org's operations with their side effects: what the API and the scenario helpers both do, so
both change state the same way and write the same System Log events (which event hooks deliver).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from oktaclient.models import UserStatus
from oktasim import _errors, _ids
from oktasim._clock import Clock
from oktasim._directory import Directory
from oktasim._factors import PushTransaction
from oktasim._ids import IdFactory
from oktasim._logs import Origin, SystemLog
from oktasim._records import Group, User
from oktasim._status import TRANSITIONS, Op, next_status

# Okta documents activation and deactivation as asynchronous: until done, the user shows transitioningToStatus.
_ASYNCHRONOUS = frozenset({Op.ACTIVATE, Op.DEACTIVATE})


@dataclass(frozen=True)
class _Pending:
    user: User
    op: Op
    target: UserStatus
    due: datetime


class Operations:
    def __init__(self, clock: Clock, ids: IdFactory, directory: Directory, log: SystemLog) -> None:
        self._clock = clock
        self._ids = ids
        self._directory = directory
        self._log = log
        self._user_type_id = ids.okta_id(_ids.USER_TYPE)  # the org's one user type
        self.transition_seconds = 0.0  # how long asynchronous transitions take (0: they complete at once)
        self._pending: dict[str, _Pending] = {}

    def new_user(self, profile: dict[str, Any], status: UserStatus, password: bool, created: datetime) -> User:
        """A user record in the directory, as of `created` (no System Log event)."""
        activated = None if status in (UserStatus.STAGED, UserStatus.PROVISIONED) else created
        user = User(
            id=self._ids.okta_id(_ids.USER),
            status=status,
            profile=profile,
            created=created,
            last_updated=created,
            type_id=self._user_type_id,
            has_password=password,
            activated=activated,
            status_changed=activated,
            password_changed=created if password else None,
        )
        self._directory.add_user(user)
        return user

    def transition(self, user: User, op: Op, origin: Origin) -> None:
        """A lifecycle operation: Okta's checks, the status change, its side effects and its log event."""
        if user.transitioning_to is not None:
            raise _errors.status_forbids()  # an asynchronous transition is still under way
        target = next_status(op, user.status, user.has_password)
        now = self._clock.now()
        if op in _ASYNCHRONOUS and self.transition_seconds > 0 and target is not None and target != user.status:
            user.transitioning_to = target
            self._pending[user.id] = _Pending(user, op, target, now + timedelta(seconds=self.transition_seconds))
        else:
            _complete(user, op, target, now)
        if op is Op.EXPIRE_PASSWORD_WITH_TEMP:
            user.has_password = True
            user.password_changed = now
        elif op is Op.DEACTIVATE:
            user.sessions = 0
        elif op is Op.RESET_FACTORS:
            for factor in user.factors:
                self._log.emit(
                    "user.mfa.factor.deactivate",
                    origin,
                    message="Reset factor for user",
                    targets=[user.log_target(), factor.log_target()],
                )
            user.factors.clear()
        user.last_updated = now
        transition = TRANSITIONS[op]
        self._log.emit(
            transition.event_type,
            origin,
            message=transition.display_message,
            targets=[user.log_target()],
            severity=transition.severity,
        )

    def settle(self, now: datetime) -> None:
        """Completes the asynchronous transitions that are due by `now`."""
        for pending in [p for p in self._pending.values() if p.due <= now]:
            del self._pending[pending.user.id]
            _complete(pending.user, pending.op, pending.target, pending.due)
            pending.user.last_updated = pending.due

    def create_user(
        self, profile: dict[str, Any], password: bool, activate: bool, expire_password: bool, origin: Origin
    ) -> User:
        user = self.new_user(dict(profile), UserStatus.STAGED, password, self._clock.now())
        self._log.emit("user.lifecycle.create", origin, message="Create Okta user", targets=[user.log_target()])
        if activate:
            self.transition(user, Op.ACTIVATE, origin)
            if expire_password and user.status is UserStatus.ACTIVE:
                self.transition(user, Op.EXPIRE_PASSWORD, origin)
        return user

    def delete_user(self, user: User, origin: Origin) -> None:
        """Okta's delete: deactivates a user that is not DEPROVISIONED yet; deletes one that is."""
        if user.status is not UserStatus.DEPROVISIONED:
            self.transition(user, Op.DEACTIVATE, origin)
            return
        self._directory.remove_user(user)
        self._log.emit(
            "user.lifecycle.delete.initiated", origin, message="Delete Okta user initiated", targets=[user.log_target()]
        )

    def set_membership(self, group: Group, user: User, member: bool, origin: Origin) -> None:
        if group.type != "OKTA_GROUP":
            raise _errors.access_denied()  # Okta manages BUILT_IN and APP_GROUP memberships itself
        if (user.id in group.member_ids) == member:
            return
        if member:
            group.member_ids.add(user.id)
        else:
            group.member_ids.discard(user.id)
        group.last_membership_updated = self._clock.now()
        targets = [user.log_target(), group.log_target()]
        verb = "add" if member else "remove"
        self._log.emit(
            f"group.user_membership.{verb}",
            origin,
            targets=targets,
            message="Add user to group membership" if member else "Remove user from group membership",
        )
        if group.privileged:
            self._log.emit(
                "user.account.privilege.grant" if member else "user.account.privilege.revoke",
                origin,
                message="Grant user privilege" if member else "Revoke user privilege",
                targets=targets,
            )

    def clear_sessions(self, user: User, origin: Origin) -> None:
        user.sessions = 0
        self._log.emit("user.session.clear", origin, message="Clear user session", targets=[user.log_target()])

    def push_answered(self, tx: PushTransaction) -> None:
        user = self._directory.users.get(tx.user_id)
        if user is None or tx.result == "WAITING":
            return
        # Both events of one answer share the request id, as Okta's do (one transaction).
        origin = Origin(actor=user.log_target(), user_agent="Okta Verify", request_id=self._ids.chars(27))
        if tx.result == "SUCCESS":
            self._log.emit(
                "user.authentication.auth_via_mfa",
                origin,
                message="Authentication of user via MFA",
                targets=[user.log_target()],
            )
        elif tx.result == "REJECTED":
            # Okta records a denied push as a failed MFA authentication (reason INVALID_CREDENTIALS,
            # PushOnlyResponseType OV_RESPONSE_DENY), the event type an event hook can subscribe to;
            # the deny_push event beside it is in the System Log only.
            denied = {"factor": "OKTA_VERIFY_PUSH", "PushOnlyResponseType": "OV_RESPONSE_DENY"}
            for event_type, message, reason, debug in (
                ("user.authentication.auth_via_mfa", "Authentication of user via MFA", "INVALID_CREDENTIALS", denied),
                ("user.mfa.okta_verify.deny_push", "User rejected Okta push verify", "User rejected Okta push verify", None),
            ):
                self._log.emit(
                    event_type, origin, message=message, targets=[user.log_target()], outcome="FAILURE", reason=reason,
                    severity="WARN", debug=debug,
                )  # fmt: skip

def _complete(user: User, op: Op, target: UserStatus | None, moment: datetime) -> None:
    user.transitioning_to = None
    if target is not None and target != user.status:
        user.status = target
        user.status_changed = moment
    if op is Op.ACTIVATE:
        user.activated = moment

