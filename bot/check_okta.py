"""`check`'s Okta lines: the credentials, the scopes the policy's verbs need, the groups the policy
names, and the event hook that brings Okta's alerts.

The hook is this bot's when it sends to an okta-chatops endpoint (bot/event_hooks.py); it must be
the only one, active and verified, subscribed to what the policy needs (the alert rules' events and
those `was_this_you` asks about: bot/hooks_cli.policy_event_types), and the System Log must show no
failed delivery to it since it was last changed (Okta logs `event_hook.delivery` only for failures,
and retries none after a 4xx, so these are alerts lost).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial

from bot.advice import Advice, okta_advice, refused_scopes
from bot.check_config import hooks_deliver_alerts
from bot.check_report import Mark, Result, attempt, failed, passed, skipped
from bot.event_hooks import Role, classify, working
from bot.hooks_cli import DEFAULT_NAME, policy_event_types
from bot.okta_scopes import HOOKS_READ, LOGS_READ, needs, with_implied
from bot.runtime import okta_client
from bot.settings import Settings
from oktaclient import OktaApiError, OktaClient, OktaError, search
from oktaclient.models import EventHook, LogEvent
from policy import Policy

TIMEOUT_SECONDS = 10.0
NOT_CONFIGURED = "not configured: sandbox uses the simulator"
DELIVERY_FAILED = "event_hook.delivery"  # Okta's System Log event for a failed delivery (only those)
LOOK_BACK = timedelta(hours=24)
REGISTER = "okta-chatops hooks register --url https://<host>/okta/hooks"
MAX_FAILURES_READ = 1000


async def okta_checks(settings: Settings, policy: Policy | None) -> AsyncIterator[Result]:
    if settings.okta_org_url is None:
        yield skipped("okta", NOT_CONFIGURED)
        return
    explain = partial(_explain, settings)
    async with okta_client(settings, timeout=TIMEOUT_SECONDS, max_retries=0) as client:
        refused: list[OktaApiError] = []
        credentials = await attempt("okta", _credentials(client, settings, refused), explain)
        yield credentials
        if settings.okta_api_token is None and policy is not None:
            yield _scopes(settings, policy, refused)
        if credentials.mark is not Mark.PASSED:
            return
        if policy is not None:
            yield await attempt("okta groups", _groups(client, policy), explain)
        if hooks_deliver_alerts(settings, policy):
            assert policy is not None and policy.alerts is not None
            yield await attempt("okta hook", _hook(client, settings, policy_event_types(policy)), explain)


def _explain(settings: Settings, exc: Exception) -> Advice | None:
    return okta_advice(exc, settings) if isinstance(exc, OktaError) else None


async def _credentials(client: OktaClient, settings: Settings, refused: list[OktaApiError]) -> Result:
    if settings.okta_api_token is not None:
        how = "API token"
    else:
        how = f"OAuth service app {settings.okta_client_id} (scopes {' '.join(settings.okta_scopes)})"
    try:
        await client.ping()  # GET /api/v1/users?limit=1 (for an OAuth app, after getting an access token)
    except OktaApiError as exc:
        refused.append(exc)  # the scopes line says which verbs an invalid_scope breaks
        raise
    return passed("okta", f"{settings.okta_org_url} accepted the {how} (listed users)")


def _scopes(settings: Settings, policy: Policy, refused: list[OktaApiError]) -> Result:
    """What the service app asks for (OKTA_SCOPES) and was granted, against what the policy's verbs need."""
    requested = with_implied(settings.okta_scopes)
    not_granted = {scope for exc in refused for scope in refused_scopes(exc, settings)}
    needed = needs(policy, poll_logs=settings.okta_poll_logs)
    problems = []
    for scope, uses in needed.items():
        if scope not in requested:
            problems.append(f"{scope}: needed by {', '.join(uses)}; not in OKTA_SCOPES: add it (and grant it on the "
                            "service app's Okta API Scopes tab)")
        elif scope in not_granted:
            problems.append(f"{scope}: needed by {', '.join(uses)}; not granted to the service app: grant it on its "
                            "Okta API Scopes tab")
    problems += [f"{scope}: not granted, and nothing the policy allows needs it: remove it from OKTA_SCOPES"
                 for scope in sorted(not_granted) if scope not in needed]
    if problems:
        return failed("okta scopes", "the service app cannot do everything the policy allows", tuple(problems))
    return passed("okta scopes", f"OKTA_SCOPES covers every verb the policy allows ({', '.join(sorted(needed))})")


def policy_groups(policy: Policy) -> dict[str, tuple[list[str], bool]]:
    """Each Okta group the policy names -> (where, whether the name must match exactly). Role grants
    compare names exactly; protection and privilege compare them case-insensitively."""
    groups: dict[str, tuple[list[str], bool]] = {}

    def add(name: str, where: str, exact: bool) -> None:
        places, was_exact = groups.setdefault(name, ([], False))
        places.append(where)
        groups[name] = (places, was_exact or exact)

    for role, grant in policy.roles.items():
        for name in grant.okta_groups:
            add(name, f"role {role}", True)
    for name in policy.privileged_groups:
        add(name, "privileged_groups", False)
    for name in policy.protected.okta_groups:
        add(name, "protected", False)
    return groups


async def _groups(client: OktaClient, policy: Policy) -> Result:
    wanted = policy_groups(policy)
    if not wanted:
        return skipped("okta groups", "the policy names no Okta group")
    problems = []
    for name, (where, exact) in wanted.items():
        found = [g.profile.name async for g in client.search_groups(search.eq("profile.name", name))]
        if name in found or (not exact and any(f.casefold() == name.casefold() for f in found)):
            continue
        near = [f for f in found if f.casefold() == name.casefold()]
        hint = f"Okta spells it {near[0]!r}, and role grants compare names exactly" if near else (
            "correct the name in the policy file, or create the group"
        )
        problems.append(f"{name!r} ({', '.join(where)}): no such group in Okta: {hint}")
    if problems:
        return failed("okta groups", f"{len(problems)} of {len(wanted)} groups the policy names do not exist",
                      tuple(problems))
    return passed("okta groups", f"{', '.join(map(repr, wanted))} exist")


async def _hook(client: OktaClient, settings: Settings, event_types: list[str]) -> Result:
    oauth = settings.okta_api_token is None
    if oauth and HOOKS_READ not in with_implied(settings.okta_scopes):
        return _unconfirmed(f"OKTA_SCOPES lacks {HOOKS_READ}")
    try:
        hooks = await client.list_event_hooks()
    except OktaApiError as exc:
        if exc.status != 403:
            raise
        return _unconfirmed("the credential may not read event hooks (403)")
    ours = [hook for hook, role in classify(hooks, DEFAULT_NAME) if role is Role.OURS]
    if not ours:
        return failed("okta hook", "no event hook sends to an okta-chatops endpoint, so no Okta alert arrives",
                      (f"once the bot runs at its public URL: {REGISTER}",))
    if len(ours) > 1:
        listed = tuple(f"{h.id} {h.status} {h.verificationStatus} {h.channel.config.uri} {h.name!r}" for h in ours)
        return failed("okta hook", f"{len(ours)} event hooks send to okta-chatops endpoints: events arrive more than "
                      "once, or nowhere; keep one with `okta-chatops hooks register --replace --url <the bot's URL>`",
                      listed)
    return await _one_hook(client, settings, ours[0], event_types)


def _unconfirmed(why: str) -> Result:
    how = (
        f"run `okta-chatops hooks list` with the hook admin's credential, or grant {HOOKS_READ} to the bot's "
        "service app (and add it to OKTA_SCOPES) so that check can confirm the hook"
    )
    return Result("okta hook", Mark.WARNING, f"not confirmed: {why}", (how,))


async def _one_hook(client: OktaClient, settings: Settings, hook: EventHook, event_types: list[str]) -> Result:
    where = f"event hook {hook.id} ({hook.channel.config.uri})"
    register = f"okta-chatops hooks register --url {hook.channel.config.uri}"
    if not working(hook):
        return failed("okta hook", f"{where} is {hook.status} and {hook.verificationStatus}: Okta sends it nothing",
                      (f"run {register}",))
    missing = sorted(set(event_types) - set(hook.events.items))
    if missing:
        return failed("okta hook", f"{where} lacks event types the policy needs: {', '.join(missing)}",
                      (f"run {register} to add them",))
    since = max(datetime.now(UTC) - LOOK_BACK, hook.lastUpdated or datetime.min.replace(tzinfo=UTC))
    if settings.okta_api_token is None and LOGS_READ not in with_implied(settings.okta_scopes):
        return passed("okta hook", f"{where} is active and verified (failed deliveries not read: no {LOGS_READ})")
    failures = await _failed_deliveries(client, hook, since)
    if failures:
        latest = failures[-1]
        reason = (latest.outcome.reason if latest.outcome else None) or "no reason given"
        return failed("okta hook", f"Okta failed {len(failures)} deliveries to {where} since "
                      f"{since:%Y-%m-%d %H:%M} UTC, the latest at {latest.published:%Y-%m-%d %H:%M:%S} UTC: {reason}",
                      (_delivery_fix(reason, register),))
    return passed("okta hook", f"{where} is active and verified, subscribed to the {len(event_types)} event types "
                  f"the policy needs; no failed delivery since {since:%Y-%m-%d %H:%M} UTC")


async def _failed_deliveries(client: OktaClient, hook: EventHook, since: datetime) -> list[LogEvent]:
    """The System Log's failed deliveries to `hook` since `since`, oldest first (at most MAX_FAILURES_READ read)."""
    failures: list[LogEvent] = []
    seen = 0
    async for event in client.list_log_events(since=since, filter=search.eq("eventType", DELIVERY_FAILED), limit=100):
        if any(target.id == hook.id for target in event.target or ()):
            failures.append(event)
        seen += 1
        if seen >= MAX_FAILURES_READ:
            break
    return failures


def _delivery_fix(reason: str, register: str) -> str:
    if "401" in reason or "403" in reason:
        return ("the bot refused the secret Okta sends: run `" + register + "` with the bot's OKTA_HOOK_SECRET "
                "(events refused meanwhile are lost: Okta does not retry a 4xx)")
    return "the bot did not answer in time or answered with an error: check that it runs there and /readyz is ok"
