"""The org's event hooks as the bot sees them: which one sends to this bot, which are strays.

A hook is okta-chatops's when it sends to a URL ending in the bot's endpoint path (/okta/hooks) or
carries the name `hooks register` gives it. Given the bot's URL, the hook at that URL is "this bot"
(the working one, if there are several); every other okta-chatops hook is a stray, whose events
arrive a second time or, unverified, nowhere. Without a URL the okta-chatops hooks are only told
apart from other integrations' hooks, which the bot never touches.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from urllib.parse import urlsplit

from oktaclient import OktaClient
from oktaclient.models import EventHook

HOOK_PATH = "/okta/hooks"  # the bot's endpoint (alerts.receiver.HookConfig.path)
CANDIDATE_SUFFIX = " (verifying)"  # the name of the hook `register` verifies a new secret with


class Role(StrEnum):
    THIS_BOT = "this bot"
    DUPLICATE = "stray: another hook at this bot's URL"
    STRAY = "stray: an okta-chatops hook at another URL"
    OURS = "okta-chatops"  # no URL given: ours, but which one is this bot's is not known
    OTHER = "another integration"


STRAYS = frozenset({Role.DUPLICATE, Role.STRAY})


def working(hook: EventHook) -> bool:
    """Okta delivers events to it."""
    return hook.status == "ACTIVE" and hook.verificationStatus == "VERIFIED"


def _ours(hook: EventHook, name: str) -> bool:
    path = urlsplit(hook.channel.config.uri).path.rstrip("/")
    return path.endswith(HOOK_PATH) or hook.name.startswith(name)


def _same_url(hook: EventHook, url: str) -> bool:
    return hook.channel.config.uri.rstrip("/") == url.rstrip("/")


def classify(hooks: Sequence[EventHook], name: str, url: str | None = None) -> list[tuple[EventHook, Role]]:
    """Each hook with its role, in Okta's order; `name`: the name `hooks register` gives ours."""
    at_url = [h for h in hooks if url is not None and _same_url(h, url)]
    # the one to keep: a working hook before a broken one, never a candidate left by an interrupted run
    primary = min(at_url, key=lambda h: (not working(h), h.name.endswith(CANDIDATE_SUFFIX)), default=None)
    roles: list[tuple[EventHook, Role]] = []
    for hook in hooks:
        if hook is primary:
            role = Role.THIS_BOT
        elif hook in at_url:
            role = Role.DUPLICATE
        elif not _ours(hook, name):
            role = Role.OTHER
        else:
            role = Role.OURS if url is None else Role.STRAY
        roles.append((hook, role))
    return roles


async def remove_hook(okta: OktaClient, hook: EventHook) -> None:
    """Deactivate (Okta deletes only inactive hooks) and delete."""
    assert hook.id is not None  # every hook Okta returns has one
    if hook.status != "INACTIVE":
        await okta.deactivate_event_hook(hook.id)
    await okta.delete_event_hook(hook.id)
