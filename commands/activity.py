"""`/okta activity <user> [24h]`: a user's recent sign-ins, failures and why, lock-outs, MFA and password
events from Okta's System Log; for a lock-out, the failed attempts that led to it.

One filtered query (`actor.id` or `target.id` is the user), oldest first, at most MAX_EVENTS events:
a user with thousands of events in the window is summarised from the newest MAX_EVENTS.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from actions.describe import describe
from oktaclient import OktaClient, search
from oktaclient.models import LogEvent, User
from slackport import Reply
from slackport import blockkit as bk
from slackport.blockkit import Block
from slacktext import escape, fit, slack_date

MAX_EVENTS = 1_000  # one page at Okta's largest limit
SHOWN = 20  # newest events listed
LOCKOUT_SHOWN = 10  # failed attempts shown before a lock-out
PER_SECTION = 5  # lines per section: each line is at most ~400 characters, a section holds 3,000

# What an agent asks about, by event type; anything else the log holds about the user is "other".
KINDS: dict[str, str] = {
    "user.session.start": "sign-in",
    "user.authentication.sso": "sign-in",
    "user.authentication.auth_via_mfa": "MFA",
    "user.authentication.auth_via_IDP": "sign-in",
    "system.push.send_factor_verify_push": "MFA",
    "user.mfa.okta_verify.deny_push": "MFA",
    "user.mfa.factor.activate": "MFA",
    "user.mfa.factor.deactivate": "MFA",
    "user.mfa.factor.reset_all": "MFA",
    "user.account.lock": "lock-out",
    "user.account.lock.limit": "lock-out",
    "user.account.unlock": "unlock",
    "user.account.unlock_by_admin": "unlock",
    "user.account.update_password": "password",
    "user.account.reset_password": "password",
    "user.account.expire_password": "password",
    "user.credential.forgot_password": "password",
}
_MARKS = {"sign-in": ":key:", "MFA": ":iphone:", "lock-out": ":lock:", "unlock": ":unlock:", "password": ":closed_lock_with_key:"}


@dataclass(frozen=True)
class Activity:
    events: list[LogEvent]  # oldest first, the newest MAX_EVENTS at most
    total: int  # events read (more than `events` when the window held more)


async def read_activity(okta: OktaClient, user: User, since: datetime) -> Activity:
    by_user = search.or_(search.eq("actor.id", user.id), search.eq("target.id", user.id))
    window: deque[LogEvent] = deque(maxlen=MAX_EVENTS)
    total = 0
    async for event in okta.list_log_events(since=since, filter=by_user, limit=MAX_EVENTS):
        window.append(event)
        total += 1
        if total >= 10 * MAX_EVENTS:  # a bounded read, whatever the window holds
            break
    return Activity(list(window), total)


def activity_reply(user: User, activity: Activity, window_label: str) -> Reply:
    events = activity.events
    who = describe(user)
    if not events:
        text = f"No System Log events about {who} in the last {window_label}."
        return bk.reply(text, [bk.section(text)])
    kinds = Counter(KINDS.get(e.eventType, "other") for e in events)
    failed = sum(1 for e in events if KINDS.get(e.eventType) == "sign-in" and _failed(e))
    summary = (
        f"*Activity of {who}*, last {window_label}: {kinds['sign-in']} sign-in(s), {failed} failed · "
        f"{kinds['lock-out']} lock-out(s) · {kinds['MFA']} MFA event(s) · {kinds['password']} password change(s)"
        + (f" · {kinds['other']} other" if kinds["other"] else "")
    )
    blocks: list[Block] = [bk.section(summary)]
    blocks += _lockout(events)
    newest = list(reversed(events))[:SHOWN]
    blocks.append(bk.section(f"*Latest {len(newest)} event(s)*, newest first"))
    blocks += [bk.section("\n".join(_line(e) for e in newest[i : i + PER_SECTION])) for i in range(0, len(newest), PER_SECTION)]
    if activity.total > len(newest):
        blocks.append(bk.context(f"{activity.total - len(newest)} older event(s) not listed: narrow the window (`1h`, `30m`) to see them."))
    return bk.reply(f"Activity of {who}, last {window_label}", blocks)


def _lockout(events: Sequence[LogEvent]) -> list[Block]:
    """Why the account locked: the failed attempts since the last success before the latest lock-out."""
    at = next((i for i in range(len(events) - 1, -1, -1) if KINDS.get(events[i].eventType) == "lock-out"), None)
    if at is None:
        return []
    failures: list[LogEvent] = []
    for event in reversed(events[:at]):
        kind = KINDS.get(event.eventType)
        if kind in ("sign-in", "MFA") and _failed(event):
            failures.append(event)
        elif kind in ("sign-in", "lock-out", "unlock") or (kind == "MFA" and not _failed(event)):
            break  # the run of failures starts after the last success or the previous lock-out
    lock = events[at]
    text = f":lock: *Locked out* {slack_date(lock.published)}"
    if not failures:
        text += " with no failed attempt in this window before it: widen the window to see what led to it."
        return [bk.section(text)]
    text += f" after {len(failures)} failed attempt(s):"
    shown = list(reversed(failures))[-LOCKOUT_SHOWN:]
    lines = [_line(e) for e in shown]
    blocks: list[Block] = [bk.section(text)]
    return blocks + [bk.section("\n".join(lines[i : i + PER_SECTION])) for i in range(0, len(lines), PER_SECTION)]


def _failed(event: LogEvent) -> bool:
    result = event.outcome.result if event.outcome else None
    return result in ("FAILURE", "DENY") or event.eventType == "user.mfa.okta_verify.deny_push"


def _line(event: LogEvent) -> str:
    kind = KINDS.get(event.eventType, "other")
    outcome = event.outcome
    result = (outcome.result or "") if outcome else ""
    mark = ":x:" if _failed(event) else _MARKS.get(kind, ":small_blue_diamond:")
    what = escape(event.displayMessage or event.eventType)
    why = f" ({escape(outcome.reason)})" if outcome and outcome.reason else ""
    line = f"{mark} {slack_date(event.published)} {what}: {escape(result.lower())}{why}"
    return fit(line + _where(event), 400)


def _where(event: LogEvent) -> str:
    client = event.client
    if client is None:
        return ""
    geo = client.geographicalContext
    place = ", ".join(p for p in ((geo.city, geo.country) if geo else ()) if p)
    agent = client.userAgent or {}
    software = " / ".join(str(agent[k]) for k in ("browser", "os") if agent.get(k) and agent[k] not in ("UNKNOWN", "Unknown"))
    raw = str(agent.get("rawUserAgent") or "")
    parts = [f"IP {client.ipAddress}" if client.ipAddress else "", place, software or raw[:60]]
    shown = " · ".join(escape(p) for p in parts if p)
    return f"\n      {shown}" if shown else ""
