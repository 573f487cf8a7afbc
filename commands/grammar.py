"""The `/okta` command grammar: `parse(text)` turns slash command text into a `Command` or a
`ParseError`, and never raises; `render(command)` writes a command back as text.

Text is what Slack sends: `&`, `<`, `>` typed by the user arrive as entities, and a raw `<…>` is
Slack markup (`<@U0123ABCD>` mentions, `<mailto:a@b.example|a@b.example>` auto-linked emails).

Rules (docs for users are in `commands.verbs.help_text`):
- The verb comes first, in any case; `-` and `_` in it are optional (`reset_password`,
  `ResetPassword`), and `whois` / `?` are aliases of `lookup` / `help`. Empty text means `help`.
- A <user> is an email/login, an Okta user id (`00u` + 17), a Slack mention, or a name for the
  resolver to search: one word, or several in quotes. `me` (or nothing, for `unlock` and
  `reset-password`) is the caller: `Self`.
- A <group> is one word, several in quotes, or an Okta group id (`00g` + 17).
- Quotes are `"` or Slack's smart quotes `“ ”`, interchangeably; they only group words, so
  `"alex"` means the same as `alex`. A name with a quote character in it needs its id instead.
- Invisible format characters (zero-width spaces that pasted text carries) are ignored.

ParseError messages are Slack mrkdwn and safe to post as they are: user text in them is escaped.
"""

from __future__ import annotations

import difflib
import itertools
import re
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Literal, NoReturn

from pydantic import BaseModel, ConfigDict, Field

from access.duration import parse_duration, short_duration
from commands.verbs import VERB_SPECS, Operands, VerbSpec
from policy.verbs import BULK_MAX, BULK_VERBS, SELF_SERVICE_VERBS, Verb
from slacktext import escape, unescape

MAX_LENGTH = 1000  # far above any real command; bounds the work done on pasted junk
BULK_MAX_LENGTH = 64_000  # a bulk verb with BULK_MAX users named by email, with room to spare
QUOTES = '"“”'

_OKTA_USER_ID = re.compile(r"00u[A-Za-z0-9]{17}")
_OKTA_GROUP_ID = re.compile(r"00g[A-Za-z0-9]{17}")
_LOGIN = re.compile(r"[^@\s<>\"“”]+@[^@\s<>\"“”]+")
_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_SLACK_USERGROUP = re.compile(r"!subteam\^(S[A-Z0-9]{2,})(\|[^<>]*)?")
_REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PAGE = re.compile(r"[1-9][0-9]{0,2}")
MAX_WINDOW = 7 * 86400  # a week of one user's System Log: a bounded read at Okta's 120 requests/min
_FACTOR = re.compile(r"[A-Za-z0-9][A-Za-z0-9:_.-]{0,63}")
_NAME_PUNCTUATION = " .-_'’"  # O'Brien, O’Brien, Jean-Luc, alex.kim; spaces only inside quotes
_MAX_NAME = 100
_MAX_GROUP_NAME = 255  # Okta's limit
_SHOWN = 40  # characters of user input repeated in an error message


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True)


class Login(_Value):
    kind: Literal["login"] = "login"
    login: str


class OktaUserId(_Value):
    kind: Literal["okta_id"] = "okta_id"
    id: str


class SlackUser(_Value):
    """A Slack mention; resolved later through the Slack user's profile email."""

    kind: Literal["slack"] = "slack"
    user_id: str


class Name(_Value):
    """Free text for the resolver to search Okta with."""

    kind: Literal["name"] = "name"
    text: str


class Self(_Value):
    """The caller themselves (employee self-service)."""

    kind: Literal["self"] = "self"


class GroupName(_Value):
    kind: Literal["group_name"] = "group_name"
    name: str


class GroupId(_Value):
    kind: Literal["group_id"] = "group_id"
    id: str


UserRef = Login | OktaUserId | SlackUser | Name
GroupRef = GroupName | GroupId


class Command(_Value):
    verb: Verb
    target: Annotated[UserRef | Self, Field(discriminator="kind")] | None = None
    group: Annotated[GroupRef, Field(discriminator="kind")] | None = None
    request_id: str | None = None  # cancel
    topic: Verb | None = None  # help <verb>
    page: int | None = None  # history <user> <page>: 1 is the newest
    window: int | None = None  # activity <user> <window>: seconds back from now
    factor: str | None = None  # reset-mfa <user> <factor>: a factor type or id
    # bulk verbs: the users named, and the Slack user groups (ids) whose members are meant too
    targets: tuple[Annotated[UserRef, Field(discriminator="kind")], ...] = ()
    usergroups: tuple[str, ...] = ()
    duration: int | None = None  # seconds, after `for` (add-to-group, request, break-glass)
    reason: str | None = None  # the words after the duration


ErrorKind = Literal[
    "too_long",
    "unterminated_quote",
    "unknown_verb",
    "missing_argument",
    "too_many_arguments",
    "bad_user",
    "bad_group",
    "bad_request_id",
    "bad_page",
    "bad_window",
    "bad_factor",
    "too_many_users",
    "bad_duration",
]


class ParseError(_Value):
    kind: ErrorKind
    message: str  # what was wrong, in Slack mrkdwn
    suggestion: Verb | None = None  # the verb the user probably meant (a typo, or a name given alone)
    example: str  # a correct command of that verb, without the `/okta`


def lookup_verb(word: str) -> Verb | None:
    """The verb a word names, ignoring case, `-` and `_`, and accepting aliases."""
    return _VERB_WORDS.get(_normal(word))


def parse(text: str) -> Command | ParseError:
    head = text[:64].split(maxsplit=1)
    limit = BULK_MAX_LENGTH if head and lookup_verb(head[0]) in BULK_VERBS else MAX_LENGTH
    if len(text) > limit:
        return ParseError(
            kind="too_long",
            message=f"That command is {len(text)} characters long; commands are at most {limit}.",
            example=VERB_SPECS[Verb.HELP].example,
        )
    if not text.isascii():  # ASCII has no format characters (zero-width spaces, bidi marks...)
        text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    try:
        tokens = _tokenize(text)
        if not tokens:
            return Command(verb=Verb.HELP)
        verb = None if tokens[0].markup else lookup_verb(tokens[0].text)
        if verb is None:
            return _unknown_verb(tokens)
        return _operands(VERB_SPECS[verb], tokens[1:])
    except _Rejected as rejected:
        return rejected.error


def render(command: Command) -> str:
    """The command as Slack would send its text; `parse(render(c)) == c` for every parsed `c`.

    Raises ValueError for a group name no command text can express (one with a quote character
    that also needs quoting); such a group can be named by its id.
    """
    parts = [command.verb.value]
    if command.target is not None and not isinstance(command.target, Self):  # a bare verb means "myself"
        parts.append(_render_user(command.target))
    if command.group is not None:
        parts.append(_render_group(command.group))
    parts += [value for value in (command.request_id, command.topic) if value is not None]
    if command.page is not None:
        parts.append(str(command.page))
    if command.window is not None:
        parts.append(short_duration(command.window))
    if command.factor is not None:
        parts.append(command.factor)
    parts += [_render_user(user) for user in command.targets]
    parts += [f"<!subteam^{usergroup}>" for usergroup in command.usergroups]
    if command.duration is not None:
        parts += ["for", short_duration(command.duration)]
    if command.reason:
        parts.append(escape(command.reason))
    return " ".join(parts)


# --- tokens ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    text: str  # words and quoted text: unescaped; markup: what is inside <…>, as sent
    markup: bool = False

    def shown(self) -> str:
        return _show(f"<{self.text}>" if self.markup else self.text)


class _Rejected(Exception):
    def __init__(self, error: ParseError) -> None:
        self.error = error


_SPACES = re.compile(r"\s*")  # \s is str.isspace(), Unicode spaces included
_WORD = re.compile(r"\S+")


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = _SPACES.match(text).end(), len(text)  # type: ignore[union-attr]  # \s* always matches
    while i < n:
        if text[i] in QUOTES:
            end = next((j for j in range(i + 1, n) if text[j] in QUOTES), n)
            if end == n:
                raise _Rejected(_unterminated(text, i))
            tokens.append(_Token(unescape(text[i + 1 : end]).strip()))
            i = end + 1
        elif text[i] == "<" and (end := text.find(">", i + 1)) != -1:
            tokens.append(_Token(text[i + 1 : end], markup=True))
            i = end + 1
        else:
            end = _WORD.match(text, i).end()  # type: ignore[union-attr]  # text[i] is not a space
            tokens.append(_Token(unescape(text[i:end])))
            i = end
        i = _SPACES.match(text, i).end()  # type: ignore[union-attr]
    return tokens


def _unterminated(text: str, at: int) -> ParseError:
    words = text.split(maxsplit=1)
    verb = lookup_verb(words[0]) if words else None
    rest = _show(unescape(text[at + 1 :]))
    return ParseError(
        kind="unterminated_quote",
        message=f"The quote before `{rest}` is never closed: end the name with another `\"`.",
        example=VERB_SPECS[verb].example if verb else VERB_SPECS[Verb.ADD_TO_GROUP].example,
    )


# --- verbs ----------------------------------------------------------------------------------------


def _normal(word: str) -> str:
    return word.casefold().replace("-", "").replace("_", "")


_VERB_WORDS: dict[str, Verb] = {
    _normal(word): spec.verb for spec in VERB_SPECS.values() for word in (spec.verb.value, *spec.aliases)
}


def _unknown_verb(tokens: list[_Token]) -> ParseError:
    head = tokens[0]
    # `reset password alex`: the verb written as separate words.
    words = [t.text for t in itertools.takewhile(lambda t: not t.markup, tokens[:3])]
    split = next(((k, v) for k in (3, 2) if len(words) >= k and (v := lookup_verb("".join(words[:k])))), None)
    typo = difflib.get_close_matches(_normal(head.text), list(_VERB_WORDS), n=1, cutoff=0.6)
    guess: Verb | None
    if split is not None:
        count, guess = split
        message = f"`{_show(' '.join(words[:count]))}` is not a command: write `{guess}` as one word."
    elif typo and not head.markup:
        guess = _VERB_WORDS[typo[0]]
        message = f"`{head.shown()}` is not a command. Did you mean `{guess}`?"
    elif _looks_like_user(head):
        guess = Verb.LOOKUP
        message = f"Start with a command: to look someone up, `lookup {head.shown()}`."
    else:
        guess = None
        message = f"`{head.shown()}` is not a command. `/okta help` lists them."
    return ParseError(
        kind="unknown_verb", message=message, suggestion=guess, example=VERB_SPECS[guess or Verb.HELP].example
    )


def _looks_like_user(token: _Token) -> bool:
    if token.markup:
        return token.text.startswith("@") or token.text.casefold().startswith("mailto:")
    return bool(_OKTA_USER_ID.fullmatch(token.text) or _is_login(token.text))


def _is_login(text: str) -> bool:
    return bool(_LOGIN.fullmatch(text)) and text.isprintable()


# --- operands -------------------------------------------------------------------------------------

# (fewest, most) operands, and how a message names them.
_ARITY: dict[Operands, tuple[int, int, str]] = {
    Operands.NONE: (0, 0, "nothing"),
    Operands.USER: (1, 1, "one user"),
    Operands.USER_OR_SELF: (0, 1, "at most one user"),
    Operands.USER_AND_GROUP: (2, 2, "a user and a group"),
    Operands.REQUEST_ID: (1, 1, "one approval request id"),
    Operands.TOPIC: (0, 1, "at most one command name"),
    Operands.USER_AND_PAGE: (1, 2, "a user and, optionally, a page number"),
    Operands.USER_AND_WINDOW: (1, 2, "a user and, optionally, how far back (like `24h`)"),
    Operands.USER_AND_FACTOR: (1, 2, "a user and, optionally, a factor"),
    Operands.GROUP_AND_USERS: (2, 1 + BULK_MAX, f"a group, then up to {BULK_MAX} users or @user-groups"),
    Operands.GROUP_FOR: (0, 1, "a group, then `for` and a duration"),
    Operands.GROUP_REASON: (1, 1, "a group and a reason"),
    Operands.OPTIONAL_USER: (0, 1, "at most one user"),
}


def _operands(spec: VerbSpec, args: list[_Token]) -> Command:
    args, duration, reason = _timed(spec, args)
    _check_arity(spec, args)
    if spec.operands is Operands.GROUP_REASON and reason is None:
        _reject(spec, "missing_argument", f"Say why (an incident, a ticket): `/okta {escape(spec.example)}`.")
    if duration is not None or reason is not None:
        return _operands_of(spec, args).model_copy(update={"duration": duration, "reason": reason})
    if spec.operands is Operands.GROUP_FOR and args:
        _reject(spec, "bad_duration", f"Say for how long: `/okta {escape(spec.example)}`.")
    return _operands_of(spec, args)


def _timed(spec: VerbSpec, args: list[_Token]) -> tuple[list[_Token], int | None, str | None]:
    """The operands before `for <duration> [reason…]`, the duration in seconds and the reason."""
    at = 1 if spec.operands in (Operands.GROUP_FOR, Operands.GROUP_REASON) else 2 if spec.timed else None
    if at is None or len(args) <= at:
        return args, None, None
    if args[at].markup or args[at].text.casefold() != "for":  # no duration: break-glass's reason follows the group
        return (args[:at], None, _words(args[at:])) if spec.operands is Operands.GROUP_REASON else (args, None, None)
    if at + 1 >= len(args):
        _reject(spec, "bad_duration", f"`for` needs a duration after it, like `4h`. Usage: `/okta {escape(spec.usage)}`")
    token = args[at + 1]
    seconds = None if token.markup else parse_duration(token.text)
    if seconds is None:
        _reject(spec, "bad_duration", f"`{token.shown()}` is not a duration: write minutes, hours or days, like `30m`, `4h`, `2d`.")
    return args[:at], seconds, _words(args[at + 2 :])


def _words(tokens: list[_Token]) -> str | None:
    """Free text (a reason) as typed, markup included; None when there is none."""
    words = [f"<{t.text}>" if t.markup else t.text for t in tokens]
    return " ".join(w for w in words if w) or None


def _operands_of(spec: VerbSpec, args: list[_Token]) -> Command:
    verb = spec.verb
    match spec.operands:
        case Operands.NONE:
            return Command(verb=verb)
        case Operands.USER:
            return Command(verb=verb, target=_user(spec, args[0]))
        case Operands.USER_OR_SELF:
            return Command(verb=verb, target=_user(spec, args[0]) if args else Self())
        case Operands.USER_AND_GROUP:
            return Command(verb=verb, target=_user(spec, args[0]), group=_group(spec, args[1]))
        case Operands.REQUEST_ID:
            return Command(verb=verb, request_id=_request_id(spec, args[0]))
        case Operands.TOPIC:
            return Command(verb=verb, topic=_topic(args[0]) if args else None)
        case Operands.USER_AND_PAGE:
            return Command(verb=verb, target=_user(spec, args[0]), page=_page(spec, args[1]) if args[1:] else None)
        case Operands.USER_AND_WINDOW:
            return Command(verb=verb, target=_user(spec, args[0]), window=_window(spec, args[1]) if args[1:] else None)
        case Operands.USER_AND_FACTOR:
            return Command(verb=verb, target=_user(spec, args[0]), factor=_factor(spec, args[1]) if args[1:] else None)
        case Operands.GROUP_AND_USERS:
            return _batch(spec, args)
        case Operands.GROUP_FOR:
            return Command(verb=verb, group=_group(spec, args[0]) if args else None)
        case Operands.GROUP_REASON:
            return Command(verb=verb, group=_group(spec, args[0]))
        case Operands.OPTIONAL_USER:
            return Command(verb=verb, target=_user(spec, args[0]) if args else None)


def _batch(spec: VerbSpec, args: list[_Token]) -> Command:
    """`<group>` then users and Slack user-group mentions, each named once."""
    users: dict[UserRef, None] = {}
    usergroups: dict[str, None] = {}
    for token in args[1:]:
        usergroup = _SLACK_USERGROUP.fullmatch(token.text) if token.markup else None
        if usergroup is not None:
            usergroups[usergroup[1]] = None
            continue
        user = _user(spec, token)
        assert not isinstance(user, Self)  # `me` is refused outside self-service verbs
        users[user] = None
    return Command(verb=spec.verb, group=_group(spec, args[0]), targets=tuple(users), usergroups=tuple(usergroups))


def _check_arity(spec: VerbSpec, args: list[_Token]) -> None:
    fewest, most, takes = _ARITY[spec.operands]
    if fewest <= len(args) <= most:
        return
    usage = f"Usage: `/okta {escape(spec.usage)}`"
    if len(args) < fewest:
        missing = takes if not args else "users after the group" if spec.operands is Operands.GROUP_AND_USERS else "a group after the user"
        _reject(spec, "missing_argument", f"`{spec.verb}` needs {missing}. {usage}")
    if len(args) > most and spec.operands is Operands.GROUP_AND_USERS:
        _reject(spec, "too_many_users", f"`{spec.verb}` takes at most {BULK_MAX} users at once, but got {len(args) - 1}: split the batch.")
    if len(args) > most:
        got = " ".join(t.shown() for t in args)
        quoting = " Put a name with spaces in quotes." if spec.operands is not Operands.NONE else ""
        _reject(spec, "too_many_arguments", f"`{spec.verb}` takes {takes}, but got `{got}`.{quoting} {usage}")


def _user(spec: VerbSpec, token: _Token) -> UserRef | Self:
    if not token.markup:
        return _user_from_text(spec, token.text, token.shown())
    kind, value = _markup(token.text)
    if kind == "mention" and _SLACK_USER_ID.fullmatch(value):
        return SlackUser(user_id=value)
    if kind in ("email", "link"):
        return _user_from_text(spec, value, token.shown())
    why = {
        "mention": "is not a mention of a Slack user.",
        "channel": "is a channel: name one person.",
        "special": "mentions a group of people: name one person.",
    }[kind]
    _reject(spec, "bad_user", f"`{token.shown()}` {why}")


def _user_from_text(spec: VerbSpec, text: str, shown: str) -> UserRef | Self:
    if text.casefold() == "me":
        if spec.verb in SELF_SERVICE_VERBS:
            return Self()
        own = " and ".join(f"`{v}`" for v in sorted(SELF_SERVICE_VERBS))
        _reject(spec, "bad_user", f"`me` works only with {own}: name the person to {spec.verb}.")
    if _OKTA_USER_ID.fullmatch(text):
        return OktaUserId(id=text)
    if _is_login(text):
        return Login(login=text)
    why = _not_a_name(text)
    if why is not None:
        _reject(spec, "bad_user", f"`{shown}` {why}")
    return Name(text=text)


def _not_a_name(text: str) -> str | None:
    """Why `text` is not a name the resolver can search for, or None when it is one."""
    if not text:
        return "is empty: name a person."
    if text.startswith("@"):
        return "reached the bot as text, not as a mention: pick the person from Slack's list, or give their email."
    if _OKTA_GROUP_ID.fullmatch(text):
        return "is an Okta group id; user ids start with `00u`."
    if text.startswith("00u") and text.isascii() and text.isalnum():
        return "is not an Okta user id: those are `00u` and 17 letters or digits."
    if "@" in text:
        return "is not an email address."
    odd = next((c for c in text if unicodedata.category(c)[0] not in "LMN" and c not in _NAME_PUNCTUATION), None)
    if odd is not None:
        return f"is not a name: names can't contain {_show_char(odd)}."
    if not any(c.isalnum() for c in text):
        return "needs a letter or digit to search for."
    if len(text) > _MAX_NAME:
        return f"is longer than a name can be ({_MAX_NAME} characters)."
    return None


def _group(spec: VerbSpec, token: _Token) -> GroupRef:
    text = token.text
    if token.markup:
        kind, text = _markup(token.text)
        why = {
            "mention": "is a person, not a group.",
            "email": "is a person, not a group.",
            "channel": "is a Slack channel, not an Okta group.",
            "special": "is a Slack mention, not an Okta group.",
        }.get(kind)
        if why is not None:
            _reject(spec, "bad_group", f"`{token.shown()}` {why} Usage: `/okta {escape(spec.usage)}`")
    if _OKTA_GROUP_ID.fullmatch(text):
        return GroupId(id=text)
    why = _not_a_group_name(text)
    if why is not None:
        _reject(spec, "bad_group", f"`{_show(text)}` {why}")
    return GroupName(name=text)


def _not_a_group_name(text: str) -> str | None:
    if not text:
        return "is empty: give the group's name."
    if _OKTA_USER_ID.fullmatch(text):
        return "is an Okta user id; group ids start with `00g`."
    # Control characters, and lone surrogates (JSON can carry them; Okta cannot take them).
    odd = next((c for c in text if unicodedata.category(c) in ("Cc", "Cs")), None)
    if odd is not None:
        return f"contains {_show_char(odd)}, which a group name cannot."
    if len(text) > _MAX_GROUP_NAME:
        return f"is longer than an Okta group name can be ({_MAX_GROUP_NAME} characters)."
    return None


def _markup(inner: str) -> tuple[Literal["mention", "channel", "special", "email", "link"], str]:
    """What a `<…>` is: a user mention (its id), a channel, a special mention (@here, user group),
    an auto-linked email (the address) or another link (the text that was typed: its label)."""
    if inner.startswith("@"):
        return "mention", inner[1:].partition("|")[0]
    if inner.startswith("#"):
        return "channel", inner
    if inner.startswith("!"):
        return "special", inner
    link, _, label = inner.partition("|")
    if link.casefold().startswith("mailto:"):
        return "email", unescape(link[len("mailto:") :])
    return "link", unescape(label or link)


def _request_id(spec: VerbSpec, token: _Token) -> str:
    if token.markup or not _REQUEST_ID.fullmatch(token.text):
        example = spec.example.split()[-1]
        _reject(spec, "bad_request_id", f"`{token.shown()}` is not an approval request id (like `{example}`).")
    return token.text


def _topic(token: _Token) -> Verb:
    verb = None if token.markup else lookup_verb(token.text)
    if verb is None:
        raise _Rejected(_unknown_verb([token]))
    return verb


def _page(spec: VerbSpec, token: _Token) -> int:
    if token.markup or not _PAGE.fullmatch(token.text):
        _reject(spec, "bad_page", f"`{token.shown()}` is not a page number (1 is the newest, up to 999).")
    return int(token.text)


def _window(spec: VerbSpec, token: _Token) -> int:
    seconds = None if token.markup else parse_duration(token.text)
    if seconds is None:
        _reject(spec, "bad_window", f"`{token.shown()}` is not a time span: write minutes, hours or days, like `30m`, `24h`, `7d`.")
    if seconds > MAX_WINDOW:
        _reject(spec, "bad_window", f"`{token.shown()}` reaches too far back: at most `7d`.")
    return seconds


def _factor(spec: VerbSpec, token: _Token) -> str:
    if token.markup or not _FACTOR.fullmatch(token.text):
        _reject(spec, "bad_factor", f"`{token.shown()}` is not a factor: name its type (`push`, `sms`, `totp`, …) or its id.")
    return token.text


def _reject(spec: VerbSpec, kind: ErrorKind, message: str) -> NoReturn:
    raise _Rejected(ParseError(kind=kind, message=message, example=spec.example))


def _show(text: str) -> str:
    """User input to quote in an error message: shortened, escaped, and unable to end the code span."""
    if not text:
        return '""'
    short = text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"
    return escape(short.replace("`", "'"))


def _show_char(char: str) -> str:
    return f"`{escape(char)}`" if char.isprintable() and char not in " `" else f"U+{ord(char):04X}"


# --- rendering ------------------------------------------------------------------------------------


def _render_user(user: UserRef) -> str:
    match user:
        case Login(login=login):
            return escape(login)
        case OktaUserId(id=okta_id):
            return okta_id
        case SlackUser(user_id=user_id):
            return f"<@{user_id}>"
        case Name(text=text):
            return _quoted_if_spaced(text)


def _render_group(group: GroupRef) -> str:
    match group:
        case GroupId(id=group_id):
            return group_id
        case GroupName(name=name):
            return _quoted_if_spaced(name)


def _quoted_if_spaced(text: str) -> str:
    if not any(c.isspace() for c in text) and text[:1] not in QUOTES:
        return escape(text)
    if any(c in QUOTES for c in text):
        raise ValueError(f"{text!r} has both spaces and quotes: no command text can name it")
    return f'"{escape(text)}"'
