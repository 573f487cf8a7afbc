"""The bot token's OAuth scopes, as Slack reports and enforces them.

Slack names the token's scopes in every Web API response's `X-OAuth-Scopes` header, and answers a
method the token lacks a scope for with `{"ok": false, "error": "missing_scope", "needed": ...,
"provided": ...}`. `ws.scopes` is the grant (every scope the stand-in's methods need, by default);
take one away to play a workspace that installed an older manifest.
"""

from __future__ import annotations

from slacksim._errors import SlackError
from slacksim._models import SlackChannel

# What the demo app was installed with: every scope the bot's manifest asks for, and a few more.
GRANTED = frozenset(
    "commands chat:write im:write users:read users:read.email usergroups:read channels:read groups:read im:read "
    "channels:history groups:history im:history".split()
)
# bot-token method -> the scope Slack requires (api.slack.com/methods/<method>); methods not listed need none
_METHOD_SCOPE = {
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.update": "chat:write",
    "chat.delete": "chat:write",
    "users.info": "users:read",
    "users.lookupByEmail": "users:read.email",
    "usergroups.list": "usergroups:read",
    "usergroups.users.list": "usergroups:read",
    "conversations.open": "im:write",
}
# Methods on conversations need the scope of the conversation's kind: channels:, groups:, im:...
_CONVERSATION_ACCESS = {"conversations.info": "read", "conversations.list": "read", "conversations.history": "history"}
_KIND_PREFIX = {"public_channel": "channels", "private_channel": "groups", "im": "im", "mpim": "mpim"}


def header(scopes: frozenset[str] | set[str]) -> str:
    return ",".join(sorted(scopes))


def require(scopes: frozenset[str] | set[str], method: str, kinds: list[str] | None = None) -> None:
    """Raises missing_scope when `scopes` lack what `method` needs (for the conversation `kinds` it touches)."""
    needed: list[str] = []
    if method in _METHOD_SCOPE:
        needed = [_METHOD_SCOPE[method]]
    elif method in _CONVERSATION_ACCESS and kinds:
        needed = [f"{_KIND_PREFIX[kind]}:{_CONVERSATION_ACCESS[method]}" for kind in kinds]
    missing = [scope for scope in needed if scope not in scopes]
    if missing:
        raise SlackError("missing_scope", needed=",".join(missing), provided=header(scopes))


def conversation_kind(channel: SlackChannel) -> str:
    """A SlackChannel's kind, as conversations.list's `types` name it."""
    return "im" if channel.is_im else "private_channel" if channel.is_private else "public_channel"
