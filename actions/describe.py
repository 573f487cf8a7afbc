"""How people and statuses are named in every message (mrkdwn, escaped): one wording for cards,
approval requests and audit lines."""

from __future__ import annotations

from oktaclient.models import User, UserStatus
from slacktext import escape

STATUS_MARKERS = {
    UserStatus.ACTIVE: ":large_green_circle: Active",
    UserStatus.LOCKED_OUT: ":lock: Locked out",
    UserStatus.SUSPENDED: ":double_vertical_bar: Suspended",
    UserStatus.DEPROVISIONED: ":no_entry: Deactivated",
    UserStatus.PASSWORD_EXPIRED: ":hourglass: Password expired",
    UserStatus.RECOVERY: ":key: Password reset in progress",
    UserStatus.PROVISIONED: ":hourglass_flowing_sand: Provisioned (not yet activated)",
    UserStatus.STAGED: ":white_circle: Staged",
}


def describe(user: User) -> str:
    """`Name (login)` for messages, escaped."""
    login = escape(user.profile.login)
    name = user.display_name
    return f"{escape(name)} ({login})" if name != user.profile.login else login


def status_marker(status: UserStatus) -> str:
    return STATUS_MARKERS.get(status, escape(str(status)))
