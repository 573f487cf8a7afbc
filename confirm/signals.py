"""Which Okta events are worth asking the employee about, per the policy's `was_this_you.ask`.

Most signals are one event (a factor enrolled or removed, a password changed by someone else);
two need memory, kept in Redis and decided in one Lua step each, so replicas agree:
- a new country: a successful sign-in from a country the user has not signed in from within
  `lookback`. A user's first sign-in we ever see sets the baseline and asks nothing.
- push bombing: `rejections` rejected Okta Verify pushes within `within`, by the events' own times.
Each verdict is kept per event, so an event delivered twice gets the same answer.

Redis keys owned here (`okc:confirm:` prefix):
- `countries:<okta id>` (Hash country -> last sign-in, epoch s; TTL the lookback)
- `pushes:<okta id>` (Sorted Set of rejection ids by epoch ms; TTL the window)
- `verdict:<event uuid>` (String "1"/"0", TTL a week)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import redis.asyncio as aioredis

from alerts.format import subject_user
from oktaclient.models import LogActor, LogEvent
from policy.was_this_you import WasThisYou

PREFIX = "okc:confirm:"
VERDICT_TTL_S = 7 * 86400
REPORTED_EVENT = "user.account.report_suspicious_activity_by_enduser"


class Signal(StrEnum):
    FACTOR_ENROLLED = "factor_enrolled"
    FACTOR_REMOVED = "factor_removed"
    PASSWORD_CHANGED = "password_changed"
    NEW_COUNTRY = "new_country"
    PUSH_BOMBING = "push_bombing"
    REPORTED = "reported"  # the user reported it to Okta themselves: straight to containment


FACTOR_REMOVED_EVENTS = frozenset({"user.mfa.factor.deactivate", "user.mfa.factor.reset_all"})
PASSWORD_EVENTS = frozenset({"user.account.update_password", "user.account.reset_password"})
PUSH_EVENTS = ("user.authentication.auth_via_mfa", "user.mfa.okta_verify.deny_push")
# The event types the signals read: what the event hook must subscribe to for them.
EVENT_TYPES = (
    "user.mfa.factor.activate", *sorted(FACTOR_REMOVED_EVENTS), *sorted(PASSWORD_EVENTS), "user.session.start",
    *PUSH_EVENTS, REPORTED_EVENT,
)  # fmt: skip


def asked_event_types(rules: WasThisYou) -> list[str]:
    """The event types the policy's `ask` reads (an employee's own report always), sorted."""
    ask = rules.ask
    wanted = {REPORTED_EVENT}
    wanted |= {"user.mfa.factor.activate"} if ask.factor_enrolled else set()
    wanted |= FACTOR_REMOVED_EVENTS if ask.factor_removed else set()
    wanted |= PASSWORD_EVENTS if ask.password_changed else set()
    wanted |= {"user.session.start"} if ask.new_country.enabled else set()
    wanted |= set(PUSH_EVENTS) if ask.push_bombing.enabled else set()
    return sorted(wanted)


_NEW_COUNTRY = """
local verdict = redis.call('GET', KEYS[2])
if verdict then return verdict end
local known = redis.call('EXISTS', KEYS[1])
local last = redis.call('HGET', KEYS[1], ARGV[1])
verdict = '0'
if known == 1 and (not last or tonumber(ARGV[2]) - tonumber(last) > tonumber(ARGV[3])) then verdict = '1' end
if not last or tonumber(last) < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], verdict, 'EX', ARGV[4])
return verdict
"""

_PUSH_BOMBING = """
local verdict = redis.call('GET', KEYS[2])
if verdict then return verdict end
local at, within = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], at, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', at - within)
redis.call('PEXPIRE', KEYS[1], within)
verdict = redis.call('ZCOUNT', KEYS[1], at - within + 1, at) >= tonumber(ARGV[4]) and '1' or '0'
redis.call('SET', KEYS[2], verdict, 'EX', ARGV[5])
return verdict
"""


@dataclass(frozen=True)
class Suspicion:
    signal: Signal
    event: LogEvent
    subject: LogActor  # the Okta user the event is about (id and login)


def _succeeded(event: LogEvent) -> bool:
    return event.outcome is not None and event.outcome.result == "SUCCESS"


def is_rejected_push(event: LogEvent) -> bool:
    """Okta's record of a denied Okta Verify push: the deny_push event (System Log), or the failed MFA
    authentication beside it (what an event hook receives), marked OV_RESPONSE_DENY."""
    if event.eventType == "user.mfa.okta_verify.deny_push":
        return True
    if event.eventType != "user.authentication.auth_via_mfa" or _succeeded(event):
        return False
    data = (event.debugContext or {}).get("debugData") or {}
    return data.get("PushOnlyResponseType") == "OV_RESPONSE_DENY"


def _transaction(event: LogEvent) -> str:
    """One rejection, whichever of its two events arrives: they share the request id."""
    data = (event.debugContext or {}).get("debugData") or {}
    request_id = data.get("requestId") or (event.transaction or {}).get("id")
    return str(request_id) if request_id else event.uuid


class Detector:
    def __init__(self, redis: aioredis.Redis, rules: WasThisYou) -> None:
        self._rules = rules
        self._new_country = redis.register_script(_NEW_COUNTRY)
        self._push_bombing = redis.register_script(_PUSH_BOMBING)

    async def examine(self, event: LogEvent) -> Suspicion | None:
        subject = subject_user(event)
        if subject is None or not subject.id:
            return None
        signal = await self._signal(event, subject)
        return Suspicion(signal, event, subject) if signal is not None else None

    async def _signal(self, event: LogEvent, subject: LogActor) -> Signal | None:
        ask, kind = self._rules.ask, event.eventType
        if kind == REPORTED_EVENT:
            return Signal.REPORTED
        if kind == "user.mfa.factor.activate" and ask.factor_enrolled and _succeeded(event):
            return Signal.FACTOR_ENROLLED
        if kind in FACTOR_REMOVED_EVENTS and ask.factor_removed and _succeeded(event):
            return Signal.FACTOR_REMOVED
        if kind in PASSWORD_EVENTS and ask.password_changed and _succeeded(event):
            by_someone_else = event.actor is None or event.actor.id != subject.id
            return Signal.PASSWORD_CHANGED if by_someone_else else None
        if kind == "user.session.start" and ask.new_country.enabled and _succeeded(event):
            return Signal.NEW_COUNTRY if await self._from_new_country(event, subject) else None
        if ask.push_bombing.enabled and is_rejected_push(event):
            return Signal.PUSH_BOMBING if await self._bombed(event, subject) else None
        return None

    async def _from_new_country(self, event: LogEvent, subject: LogActor) -> bool:
        geo = event.client.geographicalContext if event.client else None
        if geo is None or not geo.country:
            return False
        keys = [f"{PREFIX}countries:{subject.id}", f"{PREFIX}verdict:{event.uuid}"]
        lookback = self._rules.ask.new_country.lookback
        args: list[str | int | float] = [geo.country[:100], event.published.timestamp(), lookback, VERDICT_TTL_S]
        return await self._new_country(keys=keys, args=args) == "1"

    async def _bombed(self, event: LogEvent, subject: LogActor) -> bool:
        rule = self._rules.ask.push_bombing
        keys = [f"{PREFIX}pushes:{subject.id}", f"{PREFIX}verdict:{event.uuid}"]
        at_ms = int(event.published.timestamp() * 1000)
        args: list[str | int] = [_transaction(event), at_ms, rule.within * 1000, rule.rejections, VERDICT_TTL_S]
        return await self._push_bombing(keys=keys, args=args) == "1"
