"""The demo workspace: Acme's Slack, whose people match the Okta simulator's demo org by email.

Besides the Okta personas it holds the Slack-only cases the bot must handle: guests, a bot, a
deactivated account and someone whose email Okta does not know.
"""

from __future__ import annotations

from typing import NamedTuple

from slacksim._models import SlackChannel, SlackProfile, SlackUser, Usergroup
from slacksim._workspace import SlackWorkspace


class _Person(NamedTuple):
    id: str
    first: str
    last: str
    email: str | None
    title: str
    tz: tuple[str, str, int] = ("America/Los_Angeles", "Pacific Standard Time", -28800)


_NEW_YORK = ("America/New_York", "Eastern Standard Time", -18000)
_LONDON = ("Europe/London", "Greenwich Mean Time", 0)

PEOPLE = (
    _Person("U0HANA00001", "Hana", "Helpdesk", "hana.helpdesk@acme.example", "IT Support Specialist"),
    _Person("U0ARJUN0001", "Arjun", "Approver", "arjun.approver@acme.example", "Finance Director", _NEW_YORK),
    _Person("U0BEATRIZ01", "Beatriz", "Approver", "beatriz.approver@acme.example", "VP Engineering"),
    _Person("U0SAM000001", "Sam", "Security", "sam.security@acme.example", "Security Engineer", _LONDON),
    _Person("U0ERIN00001", "Erin", "Employee", "erin.employee@acme.example", "Software Engineer"),
    _Person("U0LEE000001", "Lee", "Locked", "lee.locked@acme.example", "Account Executive", _NEW_YORK),
    _Person("U0SUE000001", "Sue", "Suspended", "sue.suspended@acme.example", "Content Strategist"),
    _Person("U0OSCAR0001", "Oscar", "Admin", "oscar.admin@acme.example", "IT Administrator"),
    _Person("U0ALEXK0001", "Alex", "Kim", "alex.kim@acme.example", "Senior Software Engineer"),
    _Person("U0ALEXG0001", "Alex", "Garcia", "alex.garcia@acme.example", "Solutions Engineer", _NEW_YORK),
    _Person("U0NOBODY001", "Nick", "Nobody", "nobody@acme.example", "Contractor"),  # not in Okta
    _Person("U0GARY00001", "Gary", "Guest", "guest.gary@partner.example", "Partner Consultant"),
    _Person("U0GINA00001", "Gina", "Single", "gina.single@partner.example", "Auditor"),
    _Person("U0DEE000001", "Dee", "Deprovisioned", "dee.deprovisioned@acme.example", "Account Executive"),
    _Person("U0JIRABOT01", "Jira", "Cloud", None, ""),
)
GUESTS = {"U0GARY00001"}
SINGLE_CHANNEL_GUESTS = {"U0GINA00001"}
DEACTIVATED = {"U0DEE000001"}
BOTS = {"U0JIRABOT01": ("B0JIRABOT01", "A0JIRAAPP01")}
ADMINS = {"U0OSCAR0001"}

EMPLOYEES = {p.id for p in PEOPLE} - GUESTS - SINGLE_CHANNEL_GUESTS - DEACTIVATED - set(BOTS)
APPROVERS = {"U0ARJUN0001", "U0BEATRIZ01", "U0HANA00001", "U0OSCAR0001"}
SECURITY = {"U0SAM000001", "U0OSCAR0001"}
CHANNELS = (
    # id, name, purpose, people in it, whether the bot was invited
    ("C0HELPDESK1", "helpdesk", "Ask IT for help; run /okta here", EMPLOYEES | GUESTS | SINGLE_CHANNEL_GUESTS, True),
    ("C0APPROVAL1", "approvals", "Approval requests for destructive /okta actions", APPROVERS, True),
    # Beatriz approves Engineering's access: she reviews the on-call's break-glass where it is announced
    ("C0SECALERT1", "security-alerts", "Okta security alerts", SECURITY | {"U0BEATRIZ01"}, True),
    ("C0OKTAAUDT1", "okta-audit", "Everything the bot changes in Okta", SECURITY, True),
    ("C0GENERAL01", "general", "Company-wide announcements", EMPLOYEES | GUESTS, False),
)
USERGROUPS = (
    ("S0HELPDESK1", "helpdesk-team", "Helpdesk Team", "IT helpdesk agents", ["U0HANA00001"]),
    ("S0APPROVER1", "approvers", "Approvers", "May approve destructive /okta requests", ["U0ARJUN0001", "U0BEATRIZ01"]),
    ("S0SECURITY1", "security-team", "Security Team", "Security operations", ["U0SAM000001"]),
)


def demo_workspace() -> SlackWorkspace:
    ws = SlackWorkspace()
    for person in PEOPLE:
        ws.add_user(_user(ws, person))
    for channel_id, name, purpose, people, bot_invited in CHANNELS:
        members = people | {ws.bot_user_id} if bot_invited else set(people)
        ws.add_channel(SlackChannel(id=channel_id, name=name, purpose=purpose, members=members))
    for group_id, handle, name, description, users in USERGROUPS:
        ws.add_usergroup(Usergroup(id=group_id, handle=handle, name=name, description=description, users=users))
    return ws


def _user(ws: SlackWorkspace, person: _Person) -> SlackUser:
    real_name = f"{person.first} {person.last}"
    handle = person.email.split("@")[0] if person.email else person.first.lower()
    bot_id, app_id = BOTS.get(person.id, (None, None))
    profile = SlackProfile(
        real_name=real_name,
        display_name=handle,
        first_name=person.first,
        last_name=person.last,
        title=person.title,
        email=person.email,
        team=ws.team_id,
        bot_id=bot_id,
        api_app_id=app_id,
    )
    tz, tz_label, tz_offset = person.tz
    return SlackUser(
        id=person.id,
        team_id=ws.team_id,
        name=handle,
        real_name=real_name,
        deleted=person.id in DEACTIVATED,
        tz=tz,
        tz_label=tz_label,
        tz_offset=tz_offset,
        is_admin=person.id in ADMINS,
        is_restricted=person.id in GUESTS | SINGLE_CHANNEL_GUESTS,
        is_ultra_restricted=person.id in SINGLE_CHANNEL_GUESTS,
        is_bot=bot_id is not None,
        is_email_confirmed=None if bot_id else True,
        profile=profile,
    )
