"""`/okta reset-mfa <user> [factor]`: the user's factors with a reset button each (and one for all), and
which factor a typed name means."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from actions.describe import describe
from commands.cards import ACTION_PREFIX, factor_name
from commands.targets import NotResolved
from oktaclient.models import Factor, User
from policy import Verb
from slackport import Reply
from slackport import blockkit as bk
from slackport.blockkit import ActionsBlock, Block, ButtonElement
from slacktext import escape, fit_middle, slack_date

ALL = "all"  # `reset-mfa <user> all`: every factor
LISTED = 40  # factors listed one per section; Slack allows 50 blocks in a message
BUTTONS = 24  # per-factor buttons (one actions block holds 25: the 25th resets all)
# What people type for a factor type.
_TYPED = {"totp": "token:software:totp", "okta-verify": "push", "verify": "push", "key": "webauthn", "fido": "webauthn"}


@dataclass(frozen=True)
class FactorChoice:
    id: str | None  # None: every factor
    label: str  # for the approval request and the reply, mrkdwn


def choose(factors: Sequence[Factor], typed: str, user: User) -> FactorChoice | NotResolved:
    """The factor `typed` names (its id, or its type when the user has one of that type), or all."""
    if typed.casefold() == ALL:
        return FactorChoice(None, f"every factor ({len(factors)})")
    by_id = [f for f in factors if f.id == typed]
    wanted = _TYPED.get(typed.casefold(), typed.casefold())
    found = by_id or [f for f in factors if f.factorType.casefold() == wanted]
    if len(found) == 1:
        return FactorChoice(found[0].id, _label(found[0]))
    names = ", ".join(f"`{escape(f.id)}` ({_label(f)})" for f in factors[:10]) or "none"
    if not found:
        return NotResolved(f"{describe(user)} has no factor `{escape(typed)}`. Their factors: {names}.")
    return NotResolved(f"{describe(user)} has several `{escape(typed)}` factors: name one by its id: {names}.")


def factor_listing(user: User, factors: Sequence[Factor]) -> Reply:
    who = describe(user)
    if not factors:
        text = f"{who} has no MFA factor enrolled: there is nothing to reset."
        return bk.reply(text, [bk.section(text)])
    blocks: list[Block] = [bk.section(f"*MFA factors of {who}* ({len(factors)}): resetting one makes the user enrol it again.")]
    blocks += [bk.section(_line(f)) for f in factors[:LISTED]]
    if len(factors) > LISTED:
        blocks.append(bk.context(f"…and {len(factors) - LISTED} more: reset one by its id (`/okta reset-mfa {escape(user.profile.login)} <factor id>`)."))
    buttons = [
        _button(n, f"Reset {factor_name(f)}", user, f.id, f"the {factor_name(f)} factor of")
        for n, f in enumerate(factors[:BUTTONS])
    ]
    buttons.append(_button(len(buttons), "Reset all factors", user, ALL, "every factor of"))
    blocks.append(ActionsBlock(elements=buttons))
    return bk.reply(f"MFA factors of {who}", blocks)


def _button(n: int, text: str, user: User, value: str, what: str) -> ButtonElement:
    """The n-th reset button: `okta:reset-mfa:<n>` (action ids are distinct within a block)."""
    ask = bk.confirm("Reset MFA?", fit_middle(f"Resetting {what} ", describe(user), ". Go ahead?", bk.CONFIRM_TEXT), "Yes, reset", style="danger")
    return bk.button(text, f"{ACTION_PREFIX}{Verb.RESET_MFA.value}:{n}", f"{user.id} {value}", style="danger", ask=ask)


def _label(factor: Factor) -> str:
    provider = f" · {escape(factor.provider)}" if factor.provider else ""
    return f"{factor_name(factor)}{provider}"


def _line(factor: Factor) -> str:
    enrolled = slack_date(factor.created) if factor.created else "unknown"
    return f"*{_label(factor)}* · {escape(factor.status or 'unknown')} · enrolled {enrolled} · id `{escape(factor.id)}`"
