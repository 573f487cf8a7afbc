"""`okta-chatops hooks`: register the bot's event hook endpoint in Okta, and list the org's event hooks.

    okta-chatops hooks register --url https://bot.example.com/okta/hooks [--name NAME] [--event-type T ...]
    okta-chatops hooks list

`register` creates the hook with OKTA_HOOK_SECRET as its Authorization header, has Okta verify it and
activates it. Verifying means Okta calls the endpoint (GET, with a challenge the endpoint must echo),
so the bot has to be running at the URL with the same secret. A hook that already sends to the URL
is verified again rather than duplicated. The event types default to what POLICY_FILE's alert rules
can post (alerts/subscriptions.py); `--event-type` takes names or globs (`user.session.*`).
"""

from __future__ import annotations

import argparse
import sys
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import urlsplit

from alerts.subscriptions import hook_event_types
from bot.runtime import okta_client
from bot.settings import Settings, load_settings
from oktaclient import OktaApiError, OktaClient, OktaError
from oktaclient.event_types import ELIGIBLE_EVENT_TYPES
from oktaclient.models import EventHook
from policy import PolicyError, load_policy
from policy.sections import AlertRule

DEFAULT_NAME = "okta-chatops alerts"


class _Refused(Exception):
    """The command cannot go ahead as asked; the message says why (exit code 2)."""


def register(sub: Any) -> None:
    hooks = sub.add_parser("hooks", help="register the bot's event hook endpoint in Okta, or list event hooks")
    actions = hooks.add_subparsers(dest="action", required=True, metavar="ACTION")
    reg = actions.add_parser("register", help="create (or re-verify), verify and activate the event hook")
    reg.add_argument(
        "--url", required=True, help="the bot's hook endpoint as Okta reaches it, e.g. https://host/okta/hooks"
    )
    reg.add_argument("--name", default=DEFAULT_NAME, help=f"the hook's name in Okta (default: {DEFAULT_NAME!r})")
    reg.add_argument(
        "--event-type",
        dest="event_types",
        action="append",
        metavar="TYPE",
        help="an event type or glob to subscribe to (repeatable; default: what the policy's alert rules can post)",
    )
    actions.add_parser("list", help="list the org's event hooks")
    hooks.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    try:
        if not settings.okta_configured:
            raise _Refused("OKTA_ORG_URL and its credentials must be set: event hooks live in a real Okta org")
        if args.action == "list":
            async with okta_client(settings) as okta:
                _print_hooks(await okta.list_event_hooks())
            return 0
        secret, event_types = _register_inputs(settings, args)
        async with okta_client(settings) as okta:
            return await register_hook(okta, args.url, args.name, event_types, secret)
    except _Refused as exc:
        print(f"okta-chatops hooks: {exc}", file=sys.stderr)
        return 2
    except OktaError as exc:
        print(f"okta-chatops hooks: Okta refused: {exc}", file=sys.stderr)
        return 1


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
    rules: tuple[AlertRule, ...] = ()
    if settings.policy_file is not None:
        try:
            alerts = load_policy(settings.policy_file).alerts
        except PolicyError as exc:
            raise _Refused(str(exc)) from None
        if alerts is None:
            raise _Refused("POLICY_FILE has no 'alerts' section, so no event would be posted: add one first")
        rules = alerts.rules
    return secret, hook_event_types(rules, eligible)


def eligible_event_types() -> frozenset[str]:
    """Okta's list of event types a hook may subscribe to (from Okta's docs; shipped with the client)."""
    return ELIGIBLE_EVENT_TYPES


def _expand(requested: list[str], eligible: frozenset[str]) -> list[str]:
    chosen: dict[str, None] = {}
    for pattern in requested:
        matched = sorted(t for t in eligible if fnmatchcase(t, pattern))
        if not matched:
            raise _Refused(f"--event-type {pattern}: not an event type Okta allows for event hooks")
        chosen.update(dict.fromkeys(matched))
    return list(chosen)


async def register_hook(okta: OktaClient, url: str, name: str, event_types: list[str], secret: str) -> int:
    existing = [h for h in await okta.list_event_hooks() if h.channel.config.uri == url]
    if existing:
        # Brought in line with the configuration: today's secret (it may have been rotated) and the
        # event types the policy needs, keeping any that were added by hand.
        old = existing[0]
        assert old.id is not None
        added = sorted(set(event_types) - set(old.events.items))
        hook = await okta.replace_event_hook(old.id, old.name, url, [*old.events.items, *added], secret=secret)
        print(f"Event hook {hook.id} ({hook.name!r}) already sends to {url}: updated its secret, verifying it again.")
        if added:
            print(f"  It now also subscribes to {', '.join(added)}.")
    else:
        hook = await okta.create_event_hook(name, url, event_types, secret=secret)
        print(f"Created event hook {hook.id} ({name!r}) for {len(event_types)} event types.")
    hook_id = hook.id
    assert hook_id is not None  # Okta gives every hook it returns an id
    try:
        hook = await okta.verify_event_hook(hook_id)
    except OktaApiError as exc:
        print(f"okta-chatops hooks: Okta could not verify {url}: {_why(exc)}", file=sys.stderr)
        print(f"  Okta said: {exc}", file=sys.stderr)
        return 1
    if hook.status != "ACTIVE":
        hook = await okta.activate_event_hook(hook_id)
    print(f"Event hook {hook_id} is verified and active: Okta delivers events to {url}")
    return 0


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


def _print_hooks(hooks: list[EventHook]) -> None:
    if not hooks:
        print("No event hooks.")
    for hook in hooks:
        fields = (hook.id, hook.status, hook.verificationStatus, hook.channel.config.uri, repr(hook.name))
        print("  ".join(map(str, fields)) + f"  ({len(hook.events.items)} event types)")
