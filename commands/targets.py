"""Turn what the caller typed (an email, an Okta id, a Slack mention, a name) into one Okta user or group.

A failure is a `NotResolved` with a message for the caller: no match, several matches (listed,
with the command to run for each), or a Slack member without a usable email.
"""

from __future__ import annotations

from dataclasses import dataclass

from actions.describe import describe
from actions.identity import okta_user_by_email
from commands.grammar import GroupId, GroupName, GroupRef, Login, Name, OktaUserId, SlackUser, UserRef
from oktaclient import OktaClient, search
from oktaclient.errors import OktaNotFound
from oktaclient.models import Group, User
from slackport import SlackPort
from slacktext import escape

MAX_CANDIDATES = 10


@dataclass(frozen=True)
class NotResolved:
    message: str  # mrkdwn, for the caller


class Resolver:
    def __init__(self, okta: OktaClient, slack: SlackPort, email_attribute: str = "profile.email") -> None:
        self._okta = okta
        self._slack = slack
        self._email_attribute = email_attribute

    async def user(self, ref: UserRef, verb: str) -> User | NotResolved:
        match ref:
            case Login(login=login):
                return await self._by_id_or_login(login, f"No Okta user has the login `{escape(login)}`.")
            case OktaUserId(id=user_id):
                return await self._by_id_or_login(user_id, f"No Okta user has the id `{escape(user_id)}`.")
            case SlackUser(user_id=slack_id):
                return await self._by_slack_member(slack_id)
            case Name(text=text):
                return await self._by_name(text, verb)
        raise AssertionError(f"unhandled user reference {ref!r}")

    async def group(self, ref: GroupRef) -> Group | NotResolved:
        match ref:
            case GroupId(id=group_id):
                try:
                    return await self._okta.get_group(group_id)
                except OktaNotFound:
                    return NotResolved(f"No Okta group has the id `{escape(group_id)}`.")
            case GroupName(name=name):
                exact = [g async for g in self._okta.search_groups(search.eq("profile.name", name))]
                if len(exact) == 1:
                    return exact[0]
                if not exact:
                    return NotResolved(f"No Okta group is named *{escape(name)}*. Group names must match exactly.")
                ids = ", ".join(f"`{g.id}`" for g in exact)
                return NotResolved(f"Several groups are named *{escape(name)}*; name one by its id: {ids}.")
        raise AssertionError(f"unhandled group reference {ref!r}")

    async def _by_id_or_login(self, key: str, missing: str) -> User | NotResolved:
        try:
            return await self._okta.get_user(key)
        except OktaNotFound:
            return NotResolved(missing)

    async def _by_slack_member(self, slack_id: str) -> User | NotResolved:
        person = await self._slack.person(slack_id)
        if person.is_bot:
            return NotResolved(f"<@{slack_id}> is a bot; bots have no Okta account.")
        if not person.email:
            return NotResolved(f"<@{slack_id}> has no email address in Slack, so their Okta account is unknown.")
        user = await okta_user_by_email(self._okta, person.email, self._email_attribute)
        if user is None:
            return NotResolved(f"No single Okta user has the email of <@{slack_id}> (`{escape(person.email)}`).")
        return user

    async def _by_name(self, text: str, verb: str) -> User | NotResolved:
        found: list[User] = []
        async for user in self._okta.search_users(_name_search(text), limit=MAX_CANDIDATES + 1):
            found.append(user)
            if len(found) > MAX_CANDIDATES:
                break
        if len(found) == 1:
            return found[0]
        if not found:
            return NotResolved(
                f"No Okta user matches *{escape(text)}* (first and last name, or email, starting with it). "
                f"Try their full email, e.g. `/okta {verb} name@example.com`."
            )
        shown = found[:MAX_CANDIDATES]
        lines = [f"• {describe(u)}: `/okta {verb} {escape(u.profile.login)}`" for u in shown]
        more = "\n…and more: type more of the name." if len(found) > MAX_CANDIDATES else ""
        return NotResolved(f"*{escape(text)}* matches {len(shown)} users; which one?\n" + "\n".join(lines) + more)


def _name_search(text: str) -> search.Expression:
    """Users whose first name, last name or email starts with a word; for several words, whose first
    name starts with the first of them and last name with the rest, wherever the split falls
    ("Mary Ann Lee" is Mary Ann + Lee or Mary + Ann Lee).

    Okta's `search`, not its people-picker `q`: `q` leaves deactivated users out, and those are
    exactly who an offboarding check looks for.
    """
    words = text.split()
    if len(words) == 1:
        return search.or_(*(search.sw(f"profile.{a}", text) for a in ("firstName", "lastName", "email")))
    first, last = "profile.firstName", "profile.lastName"
    splits = [
        search.and_(search.sw(first, " ".join(words[:i])), search.sw(last, " ".join(words[i:])))
        for i in range(1, len(words))
    ]
    return search.or_(*splits)
