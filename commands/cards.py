"""The user card: what a helpdesk agent needs to see about an Okta user, and the buttons that fit.

Buttons appear only for actions that make sense in the user's status and that the viewer's roles
allow; each one's action_id is `okta:<verb>` and its value the Okta user id, so a click runs the
same handler as typing `/okta <verb> <id>`. Every profile string is escaped: a crafted title or
name cannot mention @channel or forge a link. Every text is built with commands/blockkit.py, so any
profile Okta accepts fits Slack's limits: long values are cut with "…", long lists end "and N more".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from urllib.parse import quote

from actions.describe import describe, status_marker
from actions.operations import EFFECTS
from commands.verbs import VERB_SPECS
from oktaclient.models import Factor, Group, User, UserStatus
from policy import Verb
from slackport import Reply
from slackport import blockkit as bk
from slackport.blockkit import ActionsBlock, Block, ButtonElement, DividerBlock
from slacktext import capped, escape, fit_middle, slack_date

ACTION_PREFIX = "okta:"
CARD_BLOCK_PREFIX = "okc-card-actions:"
GROUPS_SHOWN = 10  # on the card; `/okta groups` lists as many as fit
PROTECTED_NOTE = ":shield: Protected account: nobody may change it from Slack. Use the Okta admin console."

# Which actions fit which status (Okta would refuse the others).
_FITTING: dict[Verb, frozenset[UserStatus]] = {
    Verb.UNLOCK: frozenset({UserStatus.LOCKED_OUT}),
    Verb.RESET_PASSWORD: frozenset({UserStatus.ACTIVE, UserStatus.PASSWORD_EXPIRED, UserStatus.RECOVERY, UserStatus.LOCKED_OUT}),
    Verb.EXPIRE_PASSWORD: frozenset({UserStatus.ACTIVE, UserStatus.PASSWORD_EXPIRED, UserStatus.RECOVERY}),
    Verb.CLEAR_SESSIONS: frozenset({UserStatus.ACTIVE, UserStatus.PASSWORD_EXPIRED, UserStatus.RECOVERY, UserStatus.LOCKED_OUT}),
    Verb.SUSPEND: frozenset({UserStatus.ACTIVE}),
    Verb.UNSUSPEND: frozenset({UserStatus.SUSPENDED}),
    Verb.DEACTIVATE: frozenset(set(UserStatus) - {UserStatus.DEPROVISIONED}),
}


def fitting_actions(user: User, allowed: Callable[[Verb], bool]) -> list[Verb]:
    return [verb for verb, statuses in _FITTING.items() if user.status in statuses and allowed(verb)]


def action_button(verb: Verb, user: User, label: str | None = None) -> ButtonElement:
    spec = VERB_SPECS[verb]
    ask = None
    if spec.destructive:
        ask = bk.confirm(
            f"{spec.verb.value.replace('-', ' ').capitalize()}?",
            fit_middle(f"{EFFECTS[verb].working} ", describe(user), ". Go ahead?", bk.CONFIRM_TEXT),
            "Yes, go ahead",
            style="danger",
        )
    return bk.button(
        label or verb.value.replace("-", " ").capitalize(),
        ACTION_PREFIX + verb.value,
        user.id,
        style="danger" if spec.destructive else None,
        ask=ask,
    )


def user_card(
    user: User,
    groups: Sequence[Group],
    factors: Sequence[Factor],
    *,
    allowed: Callable[[Verb], bool],
    org_url: str,
    note: str | None = None,
    protected: bool = False,
) -> Reply:
    """`protected`: nobody may change the user from Slack, so the card offers no action."""
    p = user.profile
    profile = [
        f"*Login*\n{escape(p.login)}",
        f"*Email*\n{escape(p.email or '—')}",
        f"*Status*\n{status_marker(user.status)}",
        f"*Title*\n{escape(p.title or '—')}",
        f"*Department*\n{escape(p.department or '—')}",
        f"*Manager*\n{escape(p.manager or '—')}",
    ]
    dates = [
        f"*Created*\n{_when(user.created)}",
        f"*Activated*\n{_when(user.activated)}",
        f"*Last login*\n{_when(user.lastLogin)}",
        f"*Password changed*\n{_when(user.passwordChanged)}",
    ]
    names = sorted(escape(g.profile.name) for g in groups)
    heading = f"*Groups ({len(names)})*\n"
    shown = capped(names, bk.SECTION_TEXT - len(heading), sep=", ", at_most=GROUPS_SHOWN, rest_sep=" ") or "none"
    heading_mfa = "*MFA factors*\n"
    mfa = capped([_factor_status(f) for f in factors], bk.SECTION_TEXT - len(heading_mfa), sep=", ", rest_sep=" ")
    admin = _admin_url(org_url, user)
    blocks: list[Block] = [bk.header(user.display_name)]
    if note:
        blocks.append(bk.section(note))
    blocks += [
        bk.fields(profile),
        bk.fields(dates),
        bk.section(heading + shown),
        bk.section(heading_mfa + (mfa or ":warning: no MFA factor enrolled")),
        bk.context(f"Okta id `{escape(user.id)}` · <{admin}|Open in Okta admin>"),
    ]
    if protected:
        blocks.append(bk.context(PROTECTED_NOTE))
    verbs = [] if protected else fitting_actions(user, allowed)
    if verbs:
        blocks += [
            DividerBlock(),
            ActionsBlock(block_id=CARD_BLOCK_PREFIX + user.id, elements=[action_button(v, user) for v in verbs]),
        ]
    # The fallback text shows in notifications, where Slack's markup works as well.
    return bk.reply(f"{escape(user.display_name)} ({escape(p.login)}): {user.status}", blocks)


def group_listing(user: User, groups: Sequence[Group], org_url: str) -> Reply:
    """`/okta groups`: every group name that fits one section, then "and N more" and where to see
    them all (the user's page in the Okta admin console)."""
    names = sorted(escape(g.profile.name) for g in groups)
    heading = fit_middle("*", describe(user), f"* is in {len(names)} group(s):\n", bk.SECTION_TEXT // 3)
    lines = [f"• {n}" for n in names]
    listing = capped(lines, bk.SECTION_TEXT - len(heading)) or "_no groups_"
    text = heading + listing
    blocks: list[Block] = [bk.section(text)]
    if lines and listing != "\n".join(lines):  # some were left out
        blocks.append(bk.context(f"Every group: <{_admin_url(org_url, user)}|Open in Okta admin>"))
    return bk.reply(text, blocks)


def _admin_url(org_url: str, user: User) -> str:
    return f"{org_url}/admin/user/profile/view/{quote(user.id, safe='')}"


def _when(value: datetime | None) -> str:
    return "never" if value is None else slack_date(value)


def factor_name(factor: Factor) -> str:
    """A factor's type as people call it, escaped."""
    return escape({
        "push": "Okta Verify push",
        "token:software:totp": "TOTP app",
        "sms": "SMS",
        "call": "Voice call",
        "email": "Email",
        "webauthn": "Security key / biometric",
        "question": "Security question",
    }.get(factor.factorType, factor.factorType))


def _factor_status(factor: Factor) -> str:
    status = "" if factor.status in (None, "ACTIVE") else f" ({escape(factor.status)})"
    return factor_name(factor) + status
