"""What one person sees in the stand-in workspace, as the JSON the console page renders.

SlackWorkspace hands out copies of messages and views, but has no listing of its people, channels
and user groups, and no way to close a modal without telling the app (Slack does that when the
view did not ask for `notify_on_close`). Those reads and that one change go through its state here,
in this module only.
"""

from __future__ import annotations

from typing import Any

from oktasim import OktaOrg
from slacksim import Message, SlackUser, SlackView, SlackWorkspace


def acting_user(ws: SlackWorkspace, user_id: str) -> SlackUser:
    """The person the console acts as: an active human member; KeyError otherwise."""
    user = next((u for u in ws.users() if u.id == user_id), None)
    if user is None or user.deleted or user.is_bot:
        raise KeyError(f"{user_id!r} is not an active person in the workspace")
    return user


def people(ws: SlackWorkspace, okta: OktaOrg) -> list[dict[str, Any]]:
    """Everyone in the directory (the page resolves mentions with it and offers the active humans as
    personas), with what makes each one interesting to play: Slack user groups, guest or admin
    status, their Okta status and groups."""
    groups_of: dict[str, list[str]] = {}
    for group in ws.usergroups():
        for member in group.users:
            groups_of.setdefault(member, []).append(group.name)
    return [_person(user, groups_of.get(user.id, []), okta) for user in ws.users()]


def _person(user: SlackUser, usergroups: list[str], okta: OktaOrg) -> dict[str, Any]:
    roles = list(usergroups)
    if user.is_admin:
        roles.append("Workspace admin")
    if user.is_ultra_restricted:
        roles.append("Single-channel guest")
    elif user.is_restricted:
        roles.append("Guest")
    if not roles and not user.is_bot:
        roles.append("Employee")
    return {
        "id": user.id,
        "name": user.name,
        "real_name": user.real_name,
        "title": user.profile.title,
        "email": user.profile.email,
        "is_bot": user.is_bot,
        "deleted": user.deleted,
        "roles": roles,
        "okta": _okta_account(okta, user.profile.email),
    }


def _okta_account(okta: OktaOrg, email: str | None) -> dict[str, Any] | None:
    if email is None:
        return None
    account = okta.directory.find_user(email)
    if account is None:
        return {"status": None, "groups": []}
    groups = [g.name for g in okta.directory.groups_of(account) if g.name != "Everyone"]
    return {"login": account.login, "status": account.status.value, "groups": groups}


def channels(ws: SlackWorkspace, user_id: str) -> list[dict[str, Any]]:
    """The channels the person is in, then their DM with the app, each with the messages they see
    there: the channel's own, and the ephemeral ones shown to them, in the order they were posted."""
    joined = sorted((c for c in ws.channels() if not c.is_im and user_id in c.members), key=lambda c: c.name)
    listed: list[dict[str, Any]] = [{"id": c.id, "name": c.name, "is_dm": False, "purpose": c.purpose} for c in joined]
    listed.append({"id": ws.dm_channel_id(user_id), "name": ws.user(ws.bot_user_id).real_name, "is_dm": True})
    ephemerals = ws.ephemerals(user_id)
    for channel in listed:
        shown = ws.messages(channel["id"]) + [m for m in ephemerals if m.channel == channel["id"]]
        channel["messages"] = [_message(m) for m in sorted(shown, key=_posted_order)]
    return listed


def _posted_order(message: Message) -> tuple[int, int]:
    seconds, _, sequence = message.ts.partition(".")
    return int(seconds), int(sequence)


def _message(message: Message) -> dict[str, Any]:
    return {
        "channel": message.channel,
        "ts": message.ts,
        "user": message.user,
        "text": message.text,
        "blocks": message.blocks,
        "attachments": message.attachments,
        "thread_ts": message.thread_ts,
        "edited_ts": message.edited_ts,
        "ephemeral": message.ephemeral_to is not None,
    }


def modals(ws: SlackWorkspace, user_id: str) -> list[dict[str, Any]]:
    """The person's open modals, bottom of the stack first."""
    return [_view(v) for v in ws.views if v.user_id == user_id and not v.closed]


def home(ws: SlackWorkspace, user_id: str) -> dict[str, Any] | None:
    view = ws.home(user_id)
    return None if view is None else _view(view)


def _view(view: SlackView) -> dict[str, Any]:
    return {"id": view.id, "view": view.view, "errors": view.errors or {}}


def open_modal(ws: SlackWorkspace, user_id: str, view_id: str) -> SlackView:
    """The modal as it stands now; KeyError when the person has no such modal open."""
    view = ws.view(view_id)  # KeyError when there is no such view
    if view.closed or view.user_id != user_id or view.type != "modal":
        raise KeyError(f"view {view_id!r} is not open for {user_id}")
    return view


def dismiss_modal(ws: SlackWorkspace, view: SlackView) -> None:
    """Close a modal on the person's side only: Slack tells the app nothing unless it asked."""
    ws.dismiss(view.id)
