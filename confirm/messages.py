"""What people see: the question in the employee's DM, what they are told after, and the incident
message in the security channel with the security role's buttons.

Every Okta-supplied string is escaped and cut (alerts.format.escape) before it goes into a message.
Buttons carry the question id only; who may press them is decided when they are pressed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alerts.format import escape, slack_date
from confirm.signals import Signal
from confirm.store import Question, State
from oktaclient.models import LogEvent
from slackport import Reply, blockkit
from slackport.blockkit import ActionsBlock, Block, ButtonElement

ACTION_PREFIX = "wty:"
YES, NO = ACTION_PREFIX + "yes", ACTION_PREFIX + "no"
# The security role's follow-ups on an incident, with what each does (for its confirmation dialog).
FOLLOW_UPS = {
    "suspend": ("Suspend", "They cannot sign in until someone unsuspends them."),
    "reset_factors": ("Reset MFA", "Every MFA factor is removed: they enroll again at their next sign-in."),
    "reset_password": ("Reset password", "Okta emails them a link to choose a new password."),
    "resolve": ("Mark resolved", "The incident is closed; its buttons go away."),
}
PROTECTED_REFUSAL = "{login} is a protected account: nobody may change it from Slack. Use the Okta admin console."
ACTIONS = frozenset({YES, NO} | {ACTION_PREFIX + name for name in FOLLOW_UPS})
TIMELINE_SHOWN = 10
_PROTECTED_NOTE = (
    ":lock: *Protected account:* the policy protects it, so nothing was changed and nothing can be from Slack. "
    "Security team: contain it in the Okta admin console (clear its sessions, reset MFA, suspend as needed)."
)

_WHAT = {
    Signal.FACTOR_ENROLLED: "A new sign-in factor was added to your Okta account",
    Signal.FACTOR_REMOVED: "A sign-in factor was removed from your Okta account",
    Signal.PASSWORD_CHANGED: "Your Okta password was changed by someone else (an admin or an app)",
    Signal.NEW_COUNTRY: "Someone signed in to your Okta account from a country you have not signed in from lately",
    Signal.PUSH_BOMBING: "Several Okta Verify pushes were sent to your phone and rejected within minutes",
    Signal.REPORTED: "You reported suspicious activity on your Okta account",
}
_TITLE = {
    Signal.FACTOR_ENROLLED: "new MFA factor",
    Signal.FACTOR_REMOVED: "MFA factor removed or reset",
    Signal.PASSWORD_CHANGED: "password changed by someone else",
    Signal.NEW_COUNTRY: "sign-in from a new country",
    Signal.PUSH_BOMBING: "push bombing (rejected Okta Verify pushes)",
    Signal.REPORTED: "reported by the employee to Okta",
}
_STEP_DONE = {
    "clear_sessions": "signed out everywhere (all sessions cleared)",
    "reset_factors": "all MFA factors reset",
    "expire_password": "password expired: a new one at the next sign-in",
    "suspend": "account suspended",
    "reset_password": "password reset email sent",
}


def signal_of(question: Question) -> Signal:
    return Signal(question.signal)


def what(question: Question) -> str:
    return _WHAT[signal_of(question)]


def _where(event: LogEvent) -> str:
    geo = event.client.geographicalContext if event.client else None
    parts = [p for p in (geo.city, geo.state, geo.country) if p] if geo else []
    return escape(", ".join(dict.fromkeys(parts))) if parts else "unknown"


def _client(event: LogEvent) -> str:
    client = event.client
    agent: dict[str, Any] = (client.userAgent if client else None) or {}
    parts = [agent.get("browser"), agent.get("os"), client.device if client else None]
    shown = ", ".join(str(p) for p in parts if p and str(p).upper() != "UNKNOWN")
    return escape(shown or agent.get("rawUserAgent") or "unknown")


def _ip(event: LogEvent) -> str:
    return escape((event.client.ipAddress if event.client else None) or "unknown")


def _details(event: LogEvent) -> list[str]:
    return [
        f"*When*\n{slack_date(event.published)}",
        f"*IP address*\n{_ip(event)}",
        f"*Where*\n{_where(event)}",
        f"*Client / device*\n{_client(event)}",
    ]


def _button(
    action: str, label: str, question_id: str, style: str | None = None, consequence: str | None = None
) -> ButtonElement:
    dialog = blockkit.confirm(f"{label}?", consequence, label, style="danger") if consequence else None
    return blockkit.button(label, ACTION_PREFIX + action, question_id, style=style, ask=dialog)


def question(q: Question, event: LogEvent) -> Reply:
    headline = f":question: *Was this you?*\n{what(q)} ({escape(q.login)})."
    blocks: list[Block] = [
        blockkit.section(headline),
        blockkit.fields(_details(event)),
        ActionsBlock(
            elements=[
                _button("yes", "Yes, this was me", q.id, style="primary"),
                _button("no", "No, this wasn't me", q.id, style="danger"),
            ]
        ),
        blockkit.context("If you do not answer, the security team is told and will contact you."),
    ]
    return blockkit.reply(f"Was this you? {what(q)}.", blocks)


def _closed_dm(q: Question, event: LogEvent, outcome: str) -> Reply:
    blocks: list[Block] = [blockkit.section(f"{what(q)} ({escape(q.login)})."), blockkit.fields(_details(event))]
    blocks.append(blockkit.section(outcome))
    return blockkit.reply(outcome, blocks)


def confirmed_dm(q: Question, event: LogEvent) -> Reply:
    return _closed_dm(q, event, ":white_check_mark: *Thanks: you confirmed this was you.* Nothing else to do.")


def contained_dm(q: Question, event: LogEvent) -> Reply:
    said = "you reported" if signal_of(q) is Signal.REPORTED else "you told us"
    if q.protected:
        acted = "Your account is one this bot may not change: the security team has been told and will act in Okta."
    else:
        done = "; ".join(_step_line(step, result) for step, result in q.steps.items()) or "nothing could be done yet"
        acted = f"We acted on your account at once: {done}."
    text = (
        f":rotating_light: *Thanks, {said} this was not you.* {acted}\n"
        "*What to do now:* sign in to Okta again (you will be asked for your password and MFA), "
        "change your password if you can, reject any Okta Verify push you did not start, and watch "
        "for a message from the security team, who have been told."
    )
    return _closed_dm(q, event, text)


def securing() -> Reply:
    return Reply(
        text=":lock: *Thanks for telling us.* We are securing your account now: what was done, and what to "
        "do next, will show here in a moment."
    )


def timed_out_dm(q: Question, event: LogEvent) -> Reply:
    text = ":hourglass: *No answer in time:* the security team has been told and will contact you."
    return _closed_dm(q, event, text)


def refused(why: str) -> Reply:
    return Reply(text=f":no_entry: {why} Nothing was done.")


def _step_line(step: str, result: str) -> str:
    return _STEP_DONE.get(step, escape(step)) if result == "ok" else f"{escape(step)} failed ({escape(result, 200)})"


def _event_line(event: LogEvent) -> str:
    return f"• {slack_date(event.published)} `{escape(event.eventType, 80)}` from {_ip(event)} ({_where(event)})"


def _headline(q: Question) -> str:
    subject = f"*{escape(q.login)}*"
    if q.state is State.RESOLVED:
        return f":white_check_mark: Incident for {subject} resolved by <@{q.resolved_by}>"
    contained = "not contained (protected account)" if q.protected else "contained"
    if q.answer == "no":
        return f":rotating_light: {subject} says it wasn't them: {contained}"
    if q.answer == "reported":
        return f":rotating_light: {subject} reported suspicious activity to Okta: {contained}"
    if q.answer == "yes":
        return f":white_check_mark: {subject} confirmed it was them"
    if q.reason == "no_slack_account":
        return f":warning: {subject} has no Slack account to ask: please check with them"
    unsure = " (the question may not have reached them: the bot restarted while sending it)" if q.dm is None else ""
    return f":hourglass: {subject} did not answer within the time allowed{unsure}: please check with them"


def incident(q: Question, events: Sequence[LogEvent], org_url: str) -> Reply:
    """The security channel's message about a question: what happened, what was done, what can be."""
    lines = [_event_line(e) for e in events[-TIMELINE_SHOWN:]]
    if len(events) > TIMELINE_SHOWN:
        lines.insert(0, f"… and {len(events) - TIMELINE_SHOWN} earlier events")
    blocks: list[Block] = [
        blockkit.section(f"{_headline(q)}\n_{_TITLE[signal_of(q)]}_"),
        blockkit.section("*Timeline*\n" + "\n".join(lines)),
    ]
    if events:
        blocks.append(blockkit.fields(_details(events[-1])))
    done = [_step_line(step, result) for step, result in q.steps.items()]
    done += [f"{_STEP_DONE.get(a, escape(a))} by <@{who}>" for a, who in q.follow_ups.items()]
    if done:
        blocks.append(blockkit.section("*Done*\n" + "\n".join(f"• {line}" for line in done)))
    if q.protected:
        blocks.append(blockkit.section(_PROTECTED_NOTE))
    link = f"<{org_url.rstrip('/')}/admin/user/profile/view/{escape(q.okta_id)}|Open user in Okta admin>"
    blocks.append(blockkit.context(f"{link} · question `{q.id}`"))
    if q.state is not State.RESOLVED:
        # A protected account is changed by nobody from Slack: only resolving is offered.
        offered = {"resolve": FOLLOW_UPS["resolve"]} if q.protected else FOLLOW_UPS
        blocks.append(
            ActionsBlock(
                elements=[
                    _button(name, label, q.id, style="danger" if name != "resolve" else None, consequence=consequence)
                    for name, (label, consequence) in offered.items()
                ]
            )
        )
    return blockkit.reply(f"{_TITLE[signal_of(q)]}: {q.login}", blocks)


def confirmed_note(q: Question, event: LogEvent) -> Reply:
    """For the security channel when the event's alert cannot be found to mark."""
    text = f":white_check_mark: <@{q.slack_id}> confirmed it was them: {what(q).lower()} ({escape(q.login)})."
    return blockkit.reply(text, [blockkit.section(text), blockkit.fields(_details(event))])


def confirmed_mark(slack_id: str) -> Block:
    """Added to the event's alert message."""
    return blockkit.context(f":white_check_mark: Confirmed by the user (<@{slack_id}>): this was them.")
