"""The org's directory state: users, groups and memberships, with Okta's ways of finding a user."""

from __future__ import annotations

from oktasim import _errors
from oktasim._records import Group, User


class Directory:
    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.groups: dict[str, Group] = {}
        self._by_login: dict[str, str] = {}  # casefolded login -> id (Okta logins are case-insensitive)

    # users

    def add_user(self, user: User) -> None:
        self.users[user.id] = user
        self._by_login[user.login.casefold()] = user.id

    def remove_user(self, user: User) -> None:
        del self.users[user.id]
        self._by_login.pop(user.login.casefold(), None)
        for group in self.groups.values():
            group.member_ids.discard(user.id)

    def rename_login(self, user: User, new_login: str) -> None:
        self._by_login.pop(user.login.casefold(), None)
        user.profile["login"] = new_login
        self._by_login[new_login.casefold()] = user.id

    def login_owner(self, login: str) -> User | None:
        user_id = self._by_login.get(login.casefold())
        return self.users.get(user_id) if user_id else None

    def find_user(self, key: str) -> User | None:
        """Okta accepts an id, a login, or a login shortname (the part before @) when it is unambiguous."""
        user = self.users.get(key) or self.login_owner(key)
        if user is not None or "@" in key:
            return user
        matches = [u for u in self.users.values() if u.login.split("@", 1)[0].casefold() == key.casefold()]
        return matches[0] if len(matches) == 1 else None

    def user_or_404(self, key: str) -> User:
        user = self.find_user(key)
        if user is None:
            raise _errors.not_found(key, "User")
        return user

    def users_by_id(self) -> list[User]:
        return sorted(self.users.values(), key=lambda u: u.id)

    # groups

    def add_group(self, group: Group) -> None:
        self.groups[group.id] = group

    def group_or_404(self, group_id: str) -> Group:
        group = self.groups.get(group_id)
        if group is None:
            raise _errors.not_found(group_id, "UserGroup")
        return group

    def group_named(self, name: str) -> Group | None:
        return next((g for g in self.groups.values() if g.name.casefold() == name.casefold()), None)

    def groups_by_id(self) -> list[Group]:
        return sorted(self.groups.values(), key=lambda g: g.id)

    def members(self, group: Group) -> list[User]:
        if group.type == "BUILT_IN":  # Everyone: every user in the org
            return self.users_by_id()
        return sorted((self.users[i] for i in group.member_ids if i in self.users), key=lambda u: u.id)

    def member_count(self, group: Group) -> int:
        return len(self.users) if group.type == "BUILT_IN" else len(group.member_ids)

    def groups_of(self, user: User) -> list[Group]:
        return [g for g in self.groups_by_id() if g.type == "BUILT_IN" or user.id in g.member_ids]
