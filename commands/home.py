"""The App Home tab: the employee's own Okta account, its status, and the self-service actions open
to them right now.

Buttons appear only when the action fits the account's status and the policy lets this employee do
it themselves, so "Unlock my account" shows only while locked out. Their action ids (`self:<verb>`)
carry no account: a click always acts on the clicker, found from the payload's user id.

"Your access" lists the account's active time-bound grants, each with a Release button whose value
is the grant's id; a click releases it only when the grant is the clicker's own Okta account's.
"""

from __future__ import annotations

from typing import Any

from access import Grant, Grants
from access.duration import time_left
from access.messages import at
from actions.describe import status_marker
from actions.invocation import Invocation
from commands.cards import fitting_actions
from commands.self_service import Answer, SelfService, who_refusal
from oktaclient.models import User, UserStatus
from policy import Verb
from policy.verbs import SELF_SERVICE_VERBS
from slackport import blockkit as bk
from slackport.blockkit import ActionsBlock, Block, ButtonElement, DividerBlock, View
from slacktext import escape, fit_middle, more

HOME_ACTION_PREFIX = "self:"
HOME_ACTIONS = {HOME_ACTION_PREFIX + verb.value: verb for verb in SELF_SERVICE_VERBS}
HOME_RELEASE = HOME_ACTION_PREFIX + "release"  # not a verb: ends one of the clicker's time-bound grants
HOME_REQUEST = HOME_ACTION_PREFIX + "request"  # not a verb: opens the request form (commands/request_form.py)
SHOWN_GRANTS = 20  # two blocks each, well inside the tab's 100
_LABELS = {Verb.UNLOCK: "Unlock my account", Verb.RESET_PASSWORD: "Reset my password"}

_GUIDANCE = {
    UserStatus.ACTIVE: "Your account is working: there is nothing to unlock.",
    UserStatus.LOCKED_OUT: "Too many failed sign-ins locked your account; once unlocked, sign in with your usual password.",
    UserStatus.PASSWORD_EXPIRED: "Your password has expired: sign in to Okta and choose a new one.",
    UserStatus.RECOVERY: "A password reset is under way: use the link Okta emailed you.",
}
_ASK_HELPDESK = "Self-service cannot change an account in this state: please contact the helpdesk."
_ALSO_TYPED = "You can also type `/okta unlock` or `/okta reset-password` in any channel. For anything else, ask the helpdesk."


class Home:
    def __init__(self, self_service: SelfService, grants: Grants | None = None) -> None:
        self._self_service = self_service
        self.s = self_service.s
        self._grants = grants  # None: time-bound access is not running, and the tab has no "Your access"

    async def view(self, slack_user_id: str, note: str | None = None) -> dict[str, Any]:
        """The Home tab for this Slack member, with `note` (the last action's progress or result) on top."""
        identity = await self.s.identities.of(slack_user_id)
        refusal = who_refusal(identity)
        if refusal is not None or identity.okta_user is None:  # who_refusal covers no Okta match
            return home_view(note, refusal=refusal)
        user = await self.s.okta.get_user(identity.okta_user.id)  # the status right now, not the cached one

        def allowed(verb: Verb) -> bool:
            return verb in SELF_SERVICE_VERBS and self.s.policy.self_service_rule(verb, identity.roles) is not None

        access = None
        if self._grants:
            requestable = bool(self.s.policy.requestable(identity.roles))
            access = YourAccess(await self._grants.active(user.id), self._grants.clock.now(), requestable=requestable)
        return home_view(note, user=user, offered=fitting_actions(user, allowed), access=access)

    async def release(self, slack_user_id: str, grant_id: str) -> str:
        """A Release click on the tab: the note to show on top. Only the clicker's own grant is released."""
        if self._grants is None:
            return "Time-bound access is not running; nothing changed."
        identity = await self.s.identities.of(slack_user_id)
        refusal = who_refusal(identity)
        if refusal is not None or identity.okta_user is None:  # who_refusal covers no Okta match
            return refusal.text if refusal is not None else ":no_entry: You have no Okta account that Slack vouches for."
        grant = await self._grants.store.get(grant_id)
        if grant is None or grant.user_id != identity.okta_user.id:
            return ":no_entry: That is not access of yours; here is your tab as it is now."
        ended = await self._grants.release(grant.id, slack_user_id, "button")
        name = escape(grant.group_name)
        if ended is None:  # a replayed or double click: the first one ended it
            return f"Your access to *{name}* has ended already."
        if not ended:
            return f":hourglass: Okta refused to remove you from *{name}* for now; it is tried again shortly."
        return f":lock: You released your access to *{name}*."

    async def act(self, inv: Invocation, verb: Verb) -> None:
        """A Home tab button: the verb on the clicker's own account, exactly as `/okta <verb>` would."""
        await self._self_service.run(inv, await self.s.identities.of(inv.user_id), verb)


class YourAccess:
    """The account's active grants, as of `now`."""

    def __init__(self, grants: list[Grant], now: float, *, requestable: bool = False) -> None:
        self.grants = grants
        self.now = now
        self.requestable = requestable  # the policy lets them request a group: the form's button is offered

    def blocks(self) -> list[Block]:
        blocks: list[Block] = [DividerBlock(), bk.header("Your access")]
        if self.requestable:
            request = bk.button("Request access", HOME_REQUEST, style="primary")
            blocks.append(ActionsBlock(block_id="home-request", elements=[request]))
        if not self.grants:
            return [*blocks, bk.section("No time-bound access is active. `/okta request` lists what you may request.")]
        for grant in self.grants[:SHOWN_GRANTS]:
            text = f"*{escape(grant.group_name)}*: ends {at(grant.ends)} ({time_left(grant.ends - self.now)} left)"
            ask = bk.confirm("Release this access?", f"You leave *{escape(grant.group_name)}* now.", "Release")
            release = bk.button("Release", HOME_RELEASE, grant.id, ask=ask)
            blocks += [bk.section(text), ActionsBlock(block_id=f"home-access:{grant.id}", elements=[release])]
        if len(self.grants) > SHOWN_GRANTS:
            blocks.append(bk.context(f"{more(len(self.grants) - SHOWN_GRANTS)}: `/okta access` lists them all."))
        return blocks


def home_view(
    note: str | None,
    *,
    user: User | None = None,
    offered: list[Verb] | None = None,
    refusal: Answer | None = None,
    access: YourAccess | None = None,
) -> dict[str, Any]:
    """The Home tab: `user`'s account with buttons for `offered`, or why there is none (`refusal`)."""
    blocks: list[Block] = [bk.header("Your Okta account")]
    if note:
        blocks += [bk.section(note), DividerBlock()]
    if refusal is not None:
        blocks.append(bk.section(refusal.text))
    if user is not None:
        blocks += [
            bk.fields([f"*Login*\n{escape(user.profile.login)}", f"*Status*\n{status_marker(user.status)}"]),
            bk.section(_GUIDANCE.get(user.status, _ASK_HELPDESK)),
        ]
    if offered:
        blocks.append(ActionsBlock(block_id="self-service", elements=[_button(verb) for verb in offered]))
    if access is not None:
        blocks += access.blocks()
    blocks.append(bk.context(_ALSO_TYPED))
    return View(type="home", blocks=blocks).to_dict()


def unavailable_view(ref: str) -> dict[str, Any]:
    """What the tab shows when building it failed (Okta unreachable, say): nothing that needs Okta."""
    before = ":warning: Something went wrong on our side showing your account (ref `"
    after = "`). Try again in a minute."
    text = fit_middle(before, escape(ref), after, bk.SECTION_TEXT)
    return View(type="home", blocks=[bk.header("Your Okta account"), bk.section(text)]).to_dict()


def _button(verb: Verb) -> ButtonElement:
    ask = None
    if verb == Verb.RESET_PASSWORD:  # it changes how the employee signs in: make sure it was meant
        email = "Okta will email you a link to choose a new password."
        ask = bk.confirm("Reset your password?", email, "Send the email")
    style = "primary" if verb == Verb.UNLOCK else None
    return bk.button(_LABELS[verb], HOME_ACTION_PREFIX + verb.value, style=style, ask=ask)
