"""Alert messages: each System Log event as a Block Kit message, by kind, and the digest of a burst.

Every string that comes from Okta is escaped for mrkdwn (&, <, >) before it is placed in a message,
so an event field cannot ping @channel, mention someone or forge a link. Links are built here, from
the org URL and URL-quoted ids only.

Any event Okta can send fits Slack's Block Kit limits by construction: each Okta value is cut (with
"…", after escaping) to a budget that keeps its field under Slack's 2,000 characters and its texts
under 3,000; a confirmation dialog's 300 are met by cutting the name inside it; the fallback text is
cut to the 4,000 Slack advises (slackport.blockkit.reply). tests/test_alerts_fit.py posts hostile
events to the Slack stand-in to hold it to that. Should Slack refuse a message anyway, it is sent
again as its text alone (`AlertMessage.plain`, alerts/publisher.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import quote

import slacktext
from oktaclient.models import LogActor, LogEvent
from slackport import Reply, blockkit
from slackport.blockkit import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slacktext import fit

MAX_FIELD = 300  # characters of one Okta-supplied value (escaped); Slack allows 2,000 per field
NAME = 150  # a person's name or login, a digest row's label: five targets or ten rows fit a field
KIND = 40  # a target's type
TOP = 10  # rows per table in a digest
TARGETS = 5  # targets shown
# Slack's limits met here (docs.slack.dev, reference/block-kit): a context text, a confirmation text, a button value
TEXT_OBJECT, CONFIRM_TEXT, BUTTON_VALUE = 3_000, 300, 2_000


class AlertKind(StrEnum):
    FAILED_SIGN_IN = "failed_sign_in"
    LOCKOUT = "lockout"
    MFA_RESET = "mfa_reset"
    PRIVILEGE_GRANT = "privilege_grant"
    THREAT = "threat"
    LIFECYCLE = "lifecycle"
    GROUP_MEMBERSHIP = "group_membership"
    OTHER = "other"


_TITLES = {
    AlertKind.FAILED_SIGN_IN: (":warning:", "Failed sign-in", "failed sign-ins"),
    AlertKind.LOCKOUT: (":lock:", "Account locked out", "lock-outs"),
    AlertKind.MFA_RESET: (":key:", "MFA factor reset", "MFA factor resets"),
    AlertKind.PRIVILEGE_GRANT: (":crown:", "Admin privilege granted", "admin privilege grants"),
    AlertKind.THREAT: (":rotating_light:", "Suspicious activity", "suspicious events"),
    AlertKind.LIFECYCLE: (":bust_in_silhouette:", "User lifecycle change", "user lifecycle changes"),
    AlertKind.GROUP_MEMBERSHIP: (":busts_in_silhouette:", "Group membership change", "group membership changes"),
    AlertKind.OTHER: (":information_source:", "Okta event", "Okta events"),
}

_EXACT_KINDS = {
    "user.account.lock": AlertKind.LOCKOUT,
    "user.mfa.factor.deactivate": AlertKind.MFA_RESET,
    "user.mfa.factor.reset_all": AlertKind.MFA_RESET,
    "user.account.privilege.grant": AlertKind.PRIVILEGE_GRANT,
    "security.threat.detected": AlertKind.THREAT,
    "group.user_membership.add": AlertKind.GROUP_MEMBERSHIP,
    "group.user_membership.remove": AlertKind.GROUP_MEMBERSHIP,
}


@dataclass(frozen=True)
class AlertMessage:
    text: str  # plain-text fallback (notifications, clients without Block Kit); escaped like the blocks
    blocks: list[Block]

    @property
    def reply(self) -> Reply:
        return blockkit.reply(self.text, self.blocks)

    @property
    def plain(self) -> Reply:
        """The text alone, fitted: what is posted when Slack refuses the blocks (alerts/publisher.py)."""
        return blockkit.reply(self.text)


def escape(value: object, limit: int = MAX_FIELD) -> str:
    """Okta-supplied text made inert for mrkdwn, in at most `limit` characters."""
    return fit(slacktext.escape(str(value)), limit)


def _risk_signals(event: LogEvent) -> list[str]:
    """ThreatInsight and behaviour detection findings that Okta puts in debugContext.debugData."""
    data = (event.debugContext or {}).get("debugData") or {}
    signals: list[str] = []
    if str(data.get("threatSuspected", "")).lower() == "true":
        signals.append("ThreatInsight: threat suspected")
    risk = str(data.get("risk", ""))
    if "level=HIGH" in risk or "level=MEDIUM" in risk:
        signals.append(f"Risk: {risk}")
    behaviors = str(data.get("behaviors", ""))
    if "=POSITIVE" in behaviors:
        signals.append(f"Behaviors: {behaviors}")
    return signals


# Event types with a layout of their own (see classify), as globs: what an event hook subscribes to
# by default besides the types the policy's rules name (alerts/subscriptions.py).
FORMATTED_EVENT_TYPES = (*_EXACT_KINDS, "user.session.start", "user.lifecycle.*")


def classify(event: LogEvent) -> AlertKind:
    kind = _EXACT_KINDS.get(event.eventType)
    if kind is not None:
        return kind
    if event.eventType == "user.session.start":
        if _risk_signals(event):
            return AlertKind.THREAT
        if event.outcome is not None and event.outcome.result == "FAILURE":
            return AlertKind.FAILED_SIGN_IN
    if event.eventType.startswith("user.lifecycle."):
        return AlertKind.LIFECYCLE
    return AlertKind.OTHER


def _person(who: LogActor | None) -> str:
    if who is None:
        return "unknown"
    name, alt = who.displayName, who.alternateId
    if name and alt and name != alt:
        return f"{escape(name, NAME)} ({escape(alt, NAME)})"
    return escape(name or alt or who.id or "unknown", NAME)


def actor_label(event: LogEvent) -> str:
    """Who did it, as a digest row key (unescaped: escaped when rendered)."""
    actor = event.actor
    if actor is None:
        return "unknown"
    return actor.alternateId or actor.displayName or actor.id or "unknown"


def client_ip(event: LogEvent) -> str:
    return (event.client.ipAddress if event.client else None) or "unknown"


def _location(event: LogEvent) -> str:
    geo = event.client.geographicalContext if event.client else None
    parts = [p for p in (geo.city, geo.country) if p] if geo else []
    return escape(", ".join(parts)) if parts else "unknown"


def slack_date(moment: datetime) -> str:
    """Shown in each reader's time zone; the fallback (old clients) is UTC."""
    fallback = moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time_secs}}|{fallback}>"


def subject_user(event: LogEvent) -> LogActor | None:
    """The Okta user an operator would act on: the first User target (the one an admin changed), else a
    User actor (failed sign-ins, lock-outs: the person whose account it is). Okta marks a sign-in
    attempt for a login it does not know with the id "unknown": there is nobody to act on then."""
    for target in event.target or ():
        if target.type == "User" and (target.id or target.alternateId):
            return target
    actor = event.actor
    if actor is not None and actor.type == "User" and actor.id != "unknown" and (actor.id or actor.alternateId):
        return actor
    return None


def _admin_link(event: LogEvent, org_url: str, subject: LogActor | None) -> str:
    if subject is not None and subject.id:
        return f"<{org_url}/admin/user/profile/view/{quote(subject.id, safe='')}|Open user in Okta admin>"
    return f"<{org_url}/report/system_log_2?search={quote(event.uuid, safe='')}|Open in Okta System Log>"


def _outcome(event: LogEvent) -> str:
    outcome = event.outcome
    if outcome is None or not outcome.result:
        return "unknown"
    return escape(outcome.result) + (f" ({escape(outcome.reason)})" if outcome.reason else "")


def _targets(event: LogEvent) -> str:
    targets = event.target or []
    shown = ", ".join(f"{_person(t)} [{escape(t.type or '?', KIND)}]" for t in targets[:TARGETS])
    more = f" and {len(targets) - TARGETS} more" if len(targets) > TARGETS else ""
    return (shown + more) or "none"


def _headline(event: LogEvent, kind: AlertKind) -> tuple[str, str]:
    emoji, title, _ = _TITLES[kind]
    if event.eventType == "user.mfa.factor.deactivate":
        title = "MFA factor removed"
    elif kind in (AlertKind.OTHER, AlertKind.LIFECYCLE, AlertKind.GROUP_MEMBERSHIP):
        title = f"{title}: {escape(event.eventType)}"
    return emoji, title


# A button runs `/okta <verb> <value>` as the person who clicks it (the bot's convention: action_id
# `okta:<verb>`, value the Okta user's id), so it is refused, or waits for approval, exactly as the
# typed command would be. Destructive verbs ask first: a click is easier to make by mistake.
def _button(label: str, verb: str, subject: LogActor, consequence: str | None = None) -> ButtonElement:
    value = _button_value(subject)
    if consequence is None:
        return ButtonElement(text=label, action_id=f"okta:{verb}", value=value)
    before, after = f"{consequence}\n`/okta {verb}` for ", ", with its usual permission and approval checks."
    confirm = ConfirmObject(
        title=f"{label}?",
        text=before + fit(_person(subject), CONFIRM_TEXT - len(before) - len(after)) + after,
        confirm=label,
        deny="Cancel",
        style="danger",
    )
    return ButtonElement(text=label, action_id=f"okta:{verb}", value=value, style="danger", confirm=confirm)


def _button_value(subject: LogActor) -> str:
    return subject.id or subject.alternateId or ""  # the id when Okta gave one: logins can be renamed


def _buttons(kind: AlertKind, subject: LogActor) -> ActionsBlock:
    unlock = [_button("Unlock", "unlock", subject)] if kind is AlertKind.LOCKOUT else []
    return ActionsBlock(
        elements=[
            *unlock,
            _button("Look up user", "lookup", subject),
            _button("Clear sessions", "clear-sessions", subject, "They are signed out of Okta everywhere."),
            _button("Suspend", "suspend", subject, "They cannot sign in until someone unsuspends them."),
        ]
    )


def render_event(event: LogEvent, org_url: str) -> AlertMessage:
    kind = classify(event)
    emoji, title = _headline(event, kind)
    who, whom, ip, where = _person(event.actor), _targets(event), escape(client_ip(event)), _location(event)
    fields = [
        f"*Who*\n{who}",
        f"*Target*\n{whom}",
        f"*Outcome*\n{_outcome(event)}",
        f"*When*\n{slack_date(event.published)}",
        f"*Client IP*\n{ip}",
        f"*Location*\n{where}",
    ]
    summary = f"{emoji} *{title}*"
    if event.displayMessage:
        summary += f"\n{escape(event.displayMessage)}"
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=summary), fields=fields)]
    signals = _risk_signals(event)
    if signals:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(f"• {escape(s)}" for s in signals))))
    subject = subject_user(event)
    context = f"`{escape(event.eventType)}` · {_admin_link(event, org_url, subject)} · event `{escape(event.uuid)}`"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=fit(context, TEXT_OBJECT))]))
    # a value too long for a button could not be a user to act on: no buttons then
    if subject is not None and len(_button_value(subject)) <= BUTTON_VALUE:
        blocks.append(_buttons(kind, subject))
    text = f"{title}: {who} → {whom}, {_outcome(event)}, from {ip} ({where})"
    return AlertMessage(text=text, blocks=blocks)


@dataclass(frozen=True)
class DigestSummary:
    """A burst so far: what the digest message shows."""

    kind: AlertKind
    count: int
    first: datetime
    last: datetime
    by_actor: Sequence[tuple[str, int]]  # most first
    by_ip: Sequence[tuple[str, int]]
    posted_individually: int  # how many of the burst were posted one by one before it became a digest


def _table(rows: Sequence[tuple[str, int]]) -> str:
    lines = [f"• {escape(label, NAME)}: {count}" for label, count in rows[:TOP]]
    if len(rows) > TOP:
        rest = sum(count for _, count in rows[TOP:])
        lines.append(f"• {len(rows) - TOP} others: {rest}")
    return "\n".join(lines) or "none"


def render_digest(summary: DigestSummary) -> AlertMessage:
    emoji, _, label = _TITLES[summary.kind]
    headline = (
        f"{emoji} *Burst: {summary.count} more {label}* between {slack_date(summary.first)} "
        f"and {slack_date(summary.last)}"
    )
    note = (
        f"The first {summary.posted_individually} were posted one by one; the rest are counted here, "
        "and this message is updated as more arrive."
    )
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=headline)),
        SectionBlock(
            fields=[
                MarkdownTextObject(text=f"*By actor*\n{_table(summary.by_actor)}"),
                MarkdownTextObject(text=f"*By client IP*\n{_table(summary.by_ip)}"),
            ]
        ),
        ContextBlock(elements=[PlainTextObject(text=note)]),
    ]
    top_actor = f", most from {escape(summary.by_actor[0][0])}" if summary.by_actor else ""
    return AlertMessage(text=f"Burst: {summary.count} more {label}{top_actor}", blocks=blocks)
