"""`okta-chatops hooks`: register the bot's event hook endpoint in Okta, list the org's event hooks,
delete the ones that should not be there.

    okta-chatops hooks register --url https://bot.example.com/okta/hooks [--replace] [--name NAME] [--event-type T ...]
    okta-chatops hooks list [--url URL]
    okta-chatops hooks delete ID [ID ...]

`register` creates the hook with OKTA_HOOK_SECRET as its Authorization header, has Okta verify it and
activates it. Verifying means Okta calls the endpoint (GET, with a challenge the endpoint must echo),
so the bot has to be running at the URL with the same secret (or with it as OKTA_HOOK_SECRET_PREVIOUS).
A hook that already sends to the URL is updated rather than duplicated, and a working one keeps its
secret until Okta has verified the new one on a short-lived second hook (`_update`); a new hook that fails
verification is removed again. `--replace` also removes the other okta-chatops hooks (strays, e.g. a
node's URL before the load balancer's, or a typo); without it they are named on stderr. The event
types default to what POLICY_FILE's alert rules can post (alerts/subscriptions.py) and what its
`was_this_you` section asks about (confirm/signals.py); `--event-type` takes names or globs (`user.session.*`).
"""

from __future__ import annotations

import argparse
import sys
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import urlsplit

from alerts.subscriptions import hook_event_types
from bot.advice import okta_advice
from bot.event_hooks import CANDIDATE_SUFFIX, STRAYS, Role, classify, remove_hook, working
from bot.okta_scopes import HOOKS_MANAGE, HOOKS_READ, with_implied
from bot.runtime import okta_client
from bot.settings import Settings, load_settings
from confirm.signals import asked_event_types
from oktaclient import OktaApiError, OktaClient, OktaError
from oktaclient.event_types import ELIGIBLE_EVENT_TYPES
from oktaclient.models import EventHook
from policy import Policy, PolicyError, load_policy

DEFAULT_NAME = "okta-chatops alerts"
_URL_HELP = "the bot's hook endpoint as Okta reaches it, e.g. https://host/okta/hooks"


class _Refused(Exception):
    """The command cannot go ahead as asked; the message says why (exit code 2)."""


def register(sub: Any) -> None:
    hooks = sub.add_parser("hooks", help="register the bot's event hook endpoint in Okta, list or delete event hooks")
    actions = hooks.add_subparsers(dest="action", required=True, metavar="ACTION")
    reg = actions.add_parser("register", help="create (or update), verify and activate the event hook")
    reg.add_argument("--url", required=True, help=_URL_HELP)
    reg.add_argument("--replace", action="store_true", help="also remove the org's other okta-chatops hooks (strays)")
    reg.add_argument("--name", default=DEFAULT_NAME, help=f"the hook's name in Okta (default: {DEFAULT_NAME!r})")
    reg.add_argument(
        "--event-type",
        dest="event_types",
        action="append",
        metavar="TYPE",
        help="an event type or glob to subscribe to (repeatable; default: what the policy's alert rules can post "
        "and its was_this_you section asks about)",
    )
    listing = actions.add_parser("list", help="list the org's event hooks: which sends to this bot, which are strays")
    listing.add_argument("--url", help=_URL_HELP + "; marks the hook that sends there")
    listing.add_argument("--name", default=DEFAULT_NAME, help="the name `register` was given (default: %(default)r)")
    delete = actions.add_parser("delete", help="deactivate and delete event hooks by id (see `hooks list`)")
    delete.add_argument("ids", nargs="+", metavar="ID")
    hooks.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    try:
        if not settings.okta_configured:
            raise _Refused("OKTA_ORG_URL and its credentials must be set: event hooks live in a real Okta org")
        _require_scope(settings, HOOKS_READ if args.action == "list" else HOOKS_MANAGE, args.action)
        if args.action == "register":
            secret, event_types = _register_inputs(settings, args)
        async with okta_client(settings) as okta:
            if args.action == "list":
                return await list_hooks(okta, args.name, args.url)
            if args.action == "delete":
                return await delete_hooks(okta, args.ids)
            return await register_hook(okta, args.url, args.name, event_types, secret, replace=args.replace)
    except _Refused as exc:
        print(f"okta-chatops hooks: {exc}", file=sys.stderr)
        return 2
    except OktaError as exc:
        print(f"okta-chatops hooks: Okta refused: {exc}", file=sys.stderr)
        advice = okta_advice(exc, settings, hooks=True)
        if advice is not None:
            print(f"  {advice}", file=sys.stderr)
        return 1


def _require_scope(settings: Settings, scope: str, action: str) -> None:
    """A service app's token carries only OKTA_SCOPES: say so before Okta answers with a bare 403."""
    if settings.okta_api_token is None and scope not in with_implied(settings.okta_scopes):
        raise _Refused(
            f"OKTA_SCOPES lacks {scope}, which `hooks {action}` needs: add it (and grant it on the service app's "
            "Okta API Scopes tab), or run this with OKTA_API_TOKEN set to a Super Administrator's API token"
        )


def _register_inputs(settings: Settings, args: argparse.Namespace) -> tuple[str, list[str]]:
    """The hook secret and the event types, checked before anything is asked of Okta."""
    secret = settings.okta_hook_secret.get_secret_value() if settings.okta_hook_secret else ""
    if not secret:
        raise _Refused("OKTA_HOOK_SECRET must be set: Okta sends it with every delivery, and the bot checks it")
    parts = urlsplit(args.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _Refused(f"--url must be the endpoint's http(s) URL, e.g. https://host/okta/hooks (got {args.url!r})")
    eligible = eligible_event_types()
    if args.event_types:
        return secret, _expand(args.event_types, eligible)
    if settings.policy_file is None:
        return secret, hook_event_types((), eligible)
    try:
        policy = load_policy(settings.policy_file)
    except PolicyError as exc:
        raise _Refused(str(exc)) from None
    if policy.alerts is None and policy.was_this_you is None:
        raise _Refused("POLICY_FILE has no 'alerts' or 'was_this_you' section, so no event would be used: add one")
    return secret, policy_event_types(policy)


def eligible_event_types() -> frozenset[str]:
    """Okta's list of event types a hook may subscribe to (from Okta's docs; shipped with the client)."""
    return ELIGIBLE_EVENT_TYPES


def policy_event_types(policy: Policy) -> list[str]:
    """What the hook subscribes to by default, sorted: the event types the alert rules may post and
    those the `was_this_you` section asks about, of those Okta lets a hook subscribe to."""
    eligible = eligible_event_types()
    wanted = set(hook_event_types(policy.alerts.rules, eligible)) if policy.alerts else set()
    if policy.was_this_you is not None:
        wanted |= set(asked_event_types(policy.was_this_you)) & eligible
    return sorted(wanted)


def _expand(requested: list[str], eligible: frozenset[str]) -> list[str]:
    chosen: dict[str, None] = {}
    for pattern in requested:
        matched = sorted(t for t in eligible if fnmatchcase(t, pattern))
        if not matched:
            raise _Refused(f"--event-type {pattern}: not an event type Okta allows for event hooks")
        chosen.update(dict.fromkeys(matched))
    return list(chosen)


async def register_hook(
    okta: OktaClient, url: str, name: str, event_types: list[str], secret: str, *, replace: bool = False
) -> int:
    """Create or update the hook at `url`, verified and active; with `replace`, remove the strays."""
    roles = classify(await okta.list_event_hooks(), name, url)
    existing = next((hook for hook, role in roles if role is Role.THIS_BOT), None)
    if existing is None:
        hook = await okta.create_event_hook(name, url, event_types, secret=secret)
        print(f"Created event hook {hook.id} ({name!r}) for {len(event_types)} event types.")
        if not await _verified(okta, hook, url):
            await remove_hook(okta, hook)  # an unverified hook receives nothing: leave none behind
            print(f"  Removed event hook {hook.id} again: the org's hooks are as they were.", file=sys.stderr)
            return 1
    else:
        updated = await _update(okta, existing, url, name, event_types, secret)
        if updated is None:
            return 1
        hook = updated
    hook_id = hook.id
    assert hook_id is not None  # Okta gives every hook it returns an id
    if hook.status != "ACTIVE":
        hook = await okta.activate_event_hook(hook_id)
    print(f"Event hook {hook_id} is verified and active: Okta delivers events to {url}")
    await _strays([(h, role) for h, role in roles if role in STRAYS], okta, replace=replace)
    return 0


async def _update(
    okta: OktaClient, old: EventHook, url: str, name: str, event_types: list[str], secret: str
) -> EventHook | None:
    """`old` brought in line with the configuration: today's secret (it may have been rotated) and the
    event types the policy needs, keeping any added by hand. A working hook's secret is replaced only
    once Okta has verified the new one, on a second hook made for that and removed afterwards."""
    assert old.id is not None
    added = sorted(set(event_types) - set(old.events.items))
    items = [*old.events.items, *added]
    if working(old):
        candidate = await okta.create_event_hook(name + CANDIDATE_SUFFIX, url, items, secret=secret)
        try:
            accepted = await _verified(okta, candidate, url)
        finally:
            await remove_hook(okta, candidate)
        if not accepted:
            print(f"  Event hook {old.id} was left as it was: it keeps its secret and keeps delivering.",
                  file=sys.stderr)
            return None
    hook = await okta.replace_event_hook(old.id, old.name, url, items, secret=secret)
    print(f"Event hook {hook.id} ({hook.name!r}) already sends to {url}: gave it OKTA_HOOK_SECRET, verifying it again.")
    if added:
        print(f"  It now also subscribes to {', '.join(added)}.")
    return hook if await _verified(okta, hook, url) else None


async def _verified(okta: OktaClient, hook: EventHook, url: str) -> bool:
    """Okta's verification call to the endpoint succeeded; if not, why, on stderr."""
    assert hook.id is not None
    try:
        await okta.verify_event_hook(hook.id)
    except OktaApiError as exc:
        print(f"okta-chatops hooks: Okta could not verify {url}: {_why(exc)}", file=sys.stderr)
        print(f"  Okta said: {exc}", file=sys.stderr)
        return False
    return True


async def _strays(strays: list[tuple[EventHook, Role]], okta: OktaClient, *, replace: bool) -> None:
    for stray, role in strays:
        where = f"{stray.id} ({stray.name!r}, {stray.channel.config.uri}, {stray.status} {stray.verificationStatus})"
        if replace:
            await remove_hook(okta, stray)
            print(f"Removed event hook {where}: {role}.")
        else:
            print(
                f"okta-chatops hooks: event hook {where} is a {role}: its events arrive twice, or nowhere. "
                f"Run again with --replace to remove it, or `okta-chatops hooks delete {stray.id}`.",
                file=sys.stderr,
            )


def _why(exc: OktaApiError) -> str:
    """What a failed verification most likely means, from Okta's account of its call to the endpoint."""
    said = " ".join([exc.error_summary, *exc.error_causes]).lower()
    if "401" in said or "403" in said:
        return "the endpoint refused the secret Okta sent; the bot there runs with another OKTA_HOOK_SECRET"
    if "404" in said or "405" in said:
        return "nothing answers verification at that path; the bot's endpoint is /okta/hooks"
    if any(word in said for word in ("request failed", "no response", "timed out", "timeout", "connect")):
        return "Okta could not reach it; the bot must be running there and reachable from Okta (over HTTPS)"
    if "challenge" in said:
        return "something answered, but without the challenge; is that URL the bot's /okta/hooks endpoint?"
    return "see Okta's answer below"


async def list_hooks(okta: OktaClient, name: str, url: str | None) -> int:
    roles = classify(await okta.list_event_hooks(), name, url)
    if not roles:
        print("No event hooks.")
    for hook, role in roles:
        fields = (hook.id, hook.status, hook.verificationStatus, hook.channel.config.uri, repr(hook.name))
        print("  ".join(map(str, fields)) + f"  ({len(hook.events.items)} event types)  [{role}]")
    strays = [hook.id for hook, role in roles if role in STRAYS]
    ours = [hook for hook, role in roles if role is Role.OURS]
    if strays:
        ids = " ".join(map(str, strays))
        print(f"{len(strays)} stray hook(s): remove them with `okta-chatops hooks delete {ids}`, "
              f"or `okta-chatops hooks register --replace --url {url}`.")
    elif url is not None and not any(role is Role.THIS_BOT for _, role in roles):
        print(f"No event hook sends to {url}: register it with `okta-chatops hooks register --url {url}`.")
    elif len(ours) > 1:
        print(f"{len(ours)} hooks send to okta-chatops endpoints: give --url to see which one is this bot's; "
              "the others are strays.")
    return 0


async def delete_hooks(okta: OktaClient, ids: list[str]) -> int:
    hooks = {hook.id: hook for hook in await okta.list_event_hooks()}
    unknown = [hook_id for hook_id in ids if hook_id not in hooks]
    if unknown:
        raise _Refused(
            f"no event hook {', '.join(unknown)} in this org (nothing was deleted): `hooks list` shows the ids"
        )
    for hook_id in dict.fromkeys(ids):
        hook = hooks[hook_id]
        await remove_hook(okta, hook)
        print(f"Deleted event hook {hook_id} ({hook.name!r}, {hook.channel.config.uri}).")
    return 0
