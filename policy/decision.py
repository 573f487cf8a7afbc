"""The values the policy's questions are asked with and answered by."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Caller:
    """Who ran a command, as far as roles care: their Slack id, Slack user groups and Okta group names."""

    slack_user_id: str
    slack_usergroups: frozenset[str] = field(default_factory=frozenset)
    okta_groups: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class ApprovalRule:
    """How a request must be approved: `required_approvals` distinct holders of `approver_role`."""

    required_approvals: int
    approver_role: str
    expiry_seconds: int
    channel: str


@dataclass(frozen=True)
class Decision:
    """May these roles run this verb, and must it be approved first.

    `required_roles` are the roles any one of which allows the verb (empty when anyone may, or no
    one). A refused request needs no approval: `needs_approval` is False and `approval` None.
    `approval` is set exactly when `needs_approval` is True.
    """

    allowed: bool
    needs_approval: bool
    required_roles: tuple[str, ...]
    approval: ApprovalRule | None
