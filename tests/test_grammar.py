"""The `/okta` grammar: every verb, every error kind, and properties over arbitrary text."""

from __future__ import annotations

from typing import get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commands.grammar import (
    MAX_LENGTH,
    Command,
    ErrorKind,
    GroupId,
    GroupName,
    Login,
    Name,
    OktaUserId,
    ParseError,
    Self,
    SlackUser,
    lookup_verb,
    parse,
    render,
)
from commands.verbs import VERB_SPECS, Operands, help_text
from policy.verbs import Verb
from tests.conftest import examples

ALEX = Login(login="alex.kim@acme.example")
ADMINS = GroupName(name="Okta Admins")

VALID = [
    # every verb, in its plain form
    ("request", Command(verb=Verb.REQUEST)),
    ("request Finance for 2h quarter close", Command(verb=Verb.REQUEST, group=GroupName(name="Finance"), duration=7200, reason="quarter close")),
    ('request "Okta Admins" FOR 90M', Command(verb=Verb.REQUEST, group=GroupName(name="Okta Admins"), duration=5400)),
    ("access", Command(verb=Verb.ACCESS)),
    (
        "break-glass Engineering INC-4711 checkout is down",
        Command(verb=Verb.BREAK_GLASS, group=GroupName(name="Engineering"), reason="INC-4711 checkout is down"),
    ),
    (
        'breakglass "Prod DB" for 30m <@U012AB3CD> asked',
        Command(verb=Verb.BREAK_GLASS, group=GroupName(name="Prod DB"), duration=1800, reason="<@U012AB3CD> asked"),
    ),
    ("access alex.kim@acme.example", Command(verb=Verb.ACCESS, target=ALEX)),
    (
        "add-to-group alex.kim@acme.example Sales for 1d INC-1 <@U012AB3CD>",
        Command(verb=Verb.ADD_TO_GROUP, target=ALEX, group=GroupName(name="Sales"), duration=86400, reason="INC-1 <@U012AB3CD>"),
    ),
    ("lookup alex.kim@acme.example", Command(verb=Verb.LOOKUP, target=ALEX)),
    ("unlock lee", Command(verb=Verb.UNLOCK, target=Name(text="lee"))),
    ("reset-password alex.kim@acme.example", Command(verb=Verb.RESET_PASSWORD, target=ALEX)),
    ("expire-password alex.kim@acme.example", Command(verb=Verb.EXPIRE_PASSWORD, target=ALEX)),
    ("suspend alex.kim@acme.example", Command(verb=Verb.SUSPEND, target=ALEX)),
    ("unsuspend alex.kim@acme.example", Command(verb=Verb.UNSUSPEND, target=ALEX)),
    ("deactivate alex.kim@acme.example", Command(verb=Verb.DEACTIVATE, target=ALEX)),
    ("clear-sessions alex.kim@acme.example", Command(verb=Verb.CLEAR_SESSIONS, target=ALEX)),
    ("groups alex.kim@acme.example", Command(verb=Verb.GROUPS, target=ALEX)),
    ('add-to-group alex.kim@acme.example "Okta Admins"', Command(verb=Verb.ADD_TO_GROUP, target=ALEX, group=ADMINS)),
    (
        "remove-from-group alex.kim@acme.example Contractors",
        Command(verb=Verb.REMOVE_FROM_GROUP, target=ALEX, group=GroupName(name="Contractors")),
    ),
    ("approvals", Command(verb=Verb.APPROVALS)),
    ("cancel kX2f9Tq0Lw3bZr1A", Command(verb=Verb.CANCEL, request_id="kX2f9Tq0Lw3bZr1A")),
    ("cancel -x_9", Command(verb=Verb.CANCEL, request_id="-x_9")),  # token_urlsafe ids may start with '-'
    ("help", Command(verb=Verb.HELP)),
    ("help suspend", Command(verb=Verb.HELP, topic=Verb.SUSPEND)),
    ("history alex.kim@acme.example", Command(verb=Verb.HISTORY, target=ALEX)),
    ("history alex.kim@acme.example 3", Command(verb=Verb.HISTORY, target=ALEX, page=3)),
    ("activity alex.kim@acme.example", Command(verb=Verb.ACTIVITY, target=ALEX)),
    ("activity alex.kim@acme.example 24h", Command(verb=Verb.ACTIVITY, target=ALEX, window=86400)),
    ("activity alex.kim@acme.example 90M", Command(verb=Verb.ACTIVITY, target=ALEX, window=5400)),
    ("activity alex.kim@acme.example 7d", Command(verb=Verb.ACTIVITY, target=ALEX, window=7 * 86400)),
    ("reset-mfa alex.kim@acme.example", Command(verb=Verb.RESET_MFA, target=ALEX)),
    ("reset-mfa alex.kim@acme.example push", Command(verb=Verb.RESET_MFA, target=ALEX, factor="push")),
    ("reset-mfa alex.kim@acme.example token:software:totp", Command(verb=Verb.RESET_MFA, target=ALEX, factor="token:software:totp")),
    ("activate alex.kim@acme.example", Command(verb=Verb.ACTIVATE, target=ALEX)),
    ("reactivate alex.kim@acme.example", Command(verb=Verb.REACTIVATE, target=ALEX)),
    ("verify alex.kim@acme.example", Command(verb=Verb.VERIFY, target=ALEX)),
    # bulk: the group first, then users and Slack user groups, each once
    (
        'bulk-add-to-group "Okta Admins" alex.kim@acme.example <@U0LEE000001> "Sue S" alex.kim@acme.example',
        Command(verb=Verb.BULK_ADD_TO_GROUP, group=ADMINS, targets=(ALEX, SlackUser(user_id="U0LEE000001"), Name(text="Sue S"))),
    ),
    (
        "bulk-remove-from-group 00g1a2b3c4d5e6f7g8h9 <!subteam^S0ONCALL01|@it-oncall> lee",
        Command(
            verb=Verb.BULK_REMOVE_FROM_GROUP, group=GroupId(id="00g1a2b3c4d5e6f7g8h9"),
            targets=(Name(text="lee"),), usergroups=("S0ONCALL01",),
        ),
    ),
    (
        "bulk-add-to-group Engineering " + " ".join(f"u{n}@acme.example" for n in range(500)),
        Command(verb=Verb.BULK_ADD_TO_GROUP, group=GroupName(name="Engineering"), targets=tuple(Login(login=f"u{n}@acme.example") for n in range(500))),
    ),
    # empty text is help
    ("", Command(verb=Verb.HELP)),
    ("  \t\n ", Command(verb=Verb.HELP)),
    # self-service: no target or `me`, in any case, quoted or not
    ("unlock", Command(verb=Verb.UNLOCK, target=Self())),
    ("unlock me", Command(verb=Verb.UNLOCK, target=Self())),
    ("reset-password ME", Command(verb=Verb.RESET_PASSWORD, target=Self())),
    ('unlock "me"', Command(verb=Verb.UNLOCK, target=Self())),
    # verb case, separators and aliases
    ("LOOKUP alex.kim@acme.example", Command(verb=Verb.LOOKUP, target=ALEX)),
    ("whois alex.kim@acme.example", Command(verb=Verb.LOOKUP, target=ALEX)),
    ("WhoIs alex.kim@acme.example", Command(verb=Verb.LOOKUP, target=ALEX)),
    ("reset_password", Command(verb=Verb.RESET_PASSWORD, target=Self())),
    ("ResetPassword", Command(verb=Verb.RESET_PASSWORD, target=Self())),
    ("Clear_Sessions alex.kim@acme.example", Command(verb=Verb.CLEAR_SESSIONS, target=ALEX)),
    ("?", Command(verb=Verb.HELP)),
    ("help WHOIS", Command(verb=Verb.HELP, topic=Verb.LOOKUP)),
    # user forms
    ("lookup <mailto:alex.kim@acme.example|alex.kim@acme.example>", Command(verb=Verb.LOOKUP, target=ALEX)),
    ("lookup <@U012AB3CD>", Command(verb=Verb.LOOKUP, target=SlackUser(user_id="U012AB3CD"))),
    ("lookup <@W012AB3CD|alex.kim>", Command(verb=Verb.LOOKUP, target=SlackUser(user_id="W012AB3CD"))),
    ("lookup 00u1a2b3c4d5e6f7g8h9", Command(verb=Verb.LOOKUP, target=OktaUserId(id="00u1a2b3c4d5e6f7g8h9"))),
    ("lookup alex", Command(verb=Verb.LOOKUP, target=Name(text="alex"))),
    ('lookup "Alex Kim"', Command(verb=Verb.LOOKUP, target=Name(text="Alex Kim"))),
    ("lookup “Alex Kim”", Command(verb=Verb.LOOKUP, target=Name(text="Alex Kim"))),
    ("lookup O’Brien", Command(verb=Verb.LOOKUP, target=Name(text="O’Brien"))),
    ('lookup "José Núñez-Ruiz"', Command(verb=Verb.LOOKUP, target=Name(text="José Núñez-Ruiz"))),
    ('lookup "alex.kim@acme.example"', Command(verb=Verb.LOOKUP, target=ALEX)),  # quotes only group words
    ("lookup <http://alex.kim|alex.kim>", Command(verb=Verb.LOOKUP, target=Name(text="alex.kim"))),  # autolinked
    ("lookup a&amp;b@acme.example", Command(verb=Verb.LOOKUP, target=Login(login="a&b@acme.example"))),
    # group forms
    (
        "add-to-group alex 00g1a2b3c4d5e6f7g8h9",
        Command(verb=Verb.ADD_TO_GROUP, target=Name(text="alex"), group=GroupId(id="00g1a2b3c4d5e6f7g8h9")),
    ),
    ("add-to-group alex “Okta Admins”", Command(verb=Verb.ADD_TO_GROUP, target=Name(text="alex"), group=ADMINS)),
    ('add-to-group alex "Okta Admins”', Command(verb=Verb.ADD_TO_GROUP, target=Name(text="alex"), group=ADMINS)),
    ('add-to-group alex "  Okta Admins "', Command(verb=Verb.ADD_TO_GROUP, target=Name(text="alex"), group=ADMINS)),
    (
        "add-to-group alex R&amp;D",
        Command(verb=Verb.ADD_TO_GROUP, target=Name(text="alex"), group=GroupName(name="R&D")),
    ),
    # whitespace of any kind, and invisible characters pasted text carries
    ("\u00a0lookup\t\talex.kim@acme.example\n", Command(verb=Verb.LOOKUP, target=ALEX)),
    ("look\u200bup alex.kim@acme.example\ufeff", Command(verb=Verb.LOOKUP, target=ALEX)),
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_valid_commands(text: str, expected: Command) -> None:
    assert parse(text) == expected


ERRORS = [
    # (text, kind, suggestion, words the message must contain)
    ("x" * (MAX_LENGTH + 1), "too_long", None, [str(MAX_LENGTH)]),
    ('add-to-group alex "Okta Admins', "unterminated_quote", None, ["Okta Admins", "never closed"]),
    ("lookup “Alex", "unterminated_quote", None, ["Alex"]),
    ("unlcok lee", "unknown_verb", Verb.UNLOCK, ["unlcok", "unlock"]),
    ("suspnd alex", "unknown_verb", Verb.SUSPEND, ["suspend"]),
    ("reset password alex", "unknown_verb", Verb.RESET_PASSWORD, ["one word"]),
    ("add to group alex Sales", "unknown_verb", Verb.ADD_TO_GROUP, ["add to group"]),
    ("alex.kim@acme.example", "unknown_verb", Verb.LOOKUP, ["lookup alex.kim@acme.example"]),
    ("<@U012AB3CD>", "unknown_verb", Verb.LOOKUP, ["lookup"]),
    ("frobnicate", "unknown_verb", None, ["frobnicate", "help"]),
    ("help unlcok", "unknown_verb", Verb.UNLOCK, ["unlcok"]),
    ("lookup", "missing_argument", None, ["lookup", "one user"]),
    ("groups", "missing_argument", None, ["groups"]),
    ("cancel", "missing_argument", None, ["request id"]),
    ("add-to-group alex", "missing_argument", None, ["group"]),
    ("request Finance", "bad_duration", None, ["how long"]),
    ("break-glass", "missing_argument", None, ["a group and a reason"]),
    ("break-glass Engineering", "missing_argument", None, ["Say why"]),
    ("break-glass Engineering for 1h", "missing_argument", None, ["Say why"]),
    ("break-glass Engineering for an outage", "bad_duration", None, ["`an` is not a duration"]),
    ("break-glass <@U012AB3CD> INC-1", "bad_group", None, ["is a person, not a group"]),
    ("request Finance for", "bad_duration", None, ["needs a duration"]),
    ("add-to-group alex Sales for 4w", "bad_duration", None, ["`4w` is not a duration"]),
    ("add-to-group alex Sales for 0h", "bad_duration", None, ["not a duration"]),
    ("suspend alex kim", "too_many_arguments", None, ["alex kim", "quotes"]),
    ("unlock alex kim", "too_many_arguments", None, ["quotes"]),
    ("add-to-group alex Okta Admins", "too_many_arguments", None, ["quotes"]),
    ("approvals cancel x", "too_many_arguments", None, ["approvals", "cancel x"]),
    ("help unlock suspend", "too_many_arguments", None, ["help"]),
    ("suspend me", "bad_user", None, ["me", "unlock"]),
    ("suspend @alex", "bad_user", None, ["mention"]),
    ("lookup <#C0123|general>", "bad_user", None, ["channel"]),
    ("lookup <!subteam^S0123|@it>", "bad_user", None, ["group of people"]),
    ("lookup <@bob>", "bad_user", None, ["not a mention"]),
    ("lookup 00g1a2b3c4d5e6f7g8h9", "bad_user", None, ["group id"]),
    ("lookup 00u123", "bad_user", None, ["17"]),
    ("lookup a@b@c", "bad_user", None, ["email"]),
    ("lookup alex;rm", "bad_user", None, ["`;`"]),
    ("lookup a*", "bad_user", None, ["`*`"]),
    ('lookup ""', "bad_user", None, ["empty"]),
    ("lookup ...", "bad_user", None, ["letter"]),
    ("lookup " + "a" * 101, "bad_user", None, ["100"]),
    ("add-to-group Sales <mailto:a@acme.example|a@acme.example>", "bad_group", None, ["person", "<user> <group>"]),
    ("add-to-group alex <@U012AB3CD>", "bad_group", None, ["person"]),
    ("add-to-group alex <#C0123|general>", "bad_group", None, ["channel"]),
    ("add-to-group alex <!subteam^S0123|@it>", "bad_group", None, ["Slack mention"]),
    ('add-to-group alex ""', "bad_group", None, ["empty"]),
    ("add-to-group alex 00u1a2b3c4d5e6f7g8h9", "bad_group", None, ["user id"]),
    ("add-to-group alex a\x01b", "bad_group", None, ["U+0001"]),
    ("add-to-group alex a\ud800b", "bad_group", None, ["U+D800"]),
    ('add-to-group alex "' + "g" * 256 + '"', "bad_group", None, ["255"]),
    ("cancel <#C0123>", "bad_request_id", None, ["request id"]),
    ("cancel abc/def", "bad_request_id", None, ["request id"]),
    ("history alex 0", "bad_page", None, ["page number"]),
    ("history alex two", "bad_page", None, ["two"]),
    ("activity alex 8d", "bad_window", None, ["7d"]),
    ("activity alex kim", "bad_window", None, ["kim", "24h"]),
    ("activity alex 24", "bad_window", None, ["24"]),
    ("reset-mfa alex <#C0123>", "bad_factor", None, ["factor"]),
    ("reset-mfa alex push sms", "too_many_arguments", None, ["push sms"]),
    ("history", "missing_argument", None, ["history"]),
    ("bulk-add-to-group Engineering", "missing_argument", None, ["users after the group"]),
    ("bulk-add-to-group Engineering " + "a " * 501, "too_many_users", None, ["at most 500", "501"]),
    ("bulk-add-to-group Engineering me", "bad_user", None, ["me"]),
    ("bulk-add-to-group Engineering <!here>", "bad_user", None, ["one person"]),
    ("lookup " + "a" * 1001, "too_long", None, ["1000"]),
]


@pytest.mark.parametrize(("text", "kind", "suggestion", "words"), ERRORS, ids=[e[0][:40] for e in ERRORS])
def test_errors(text: str, kind: str, suggestion: Verb | None, words: list[str]) -> None:
    result = parse(text)
    assert isinstance(result, ParseError)
    assert (result.kind, result.suggestion) == (kind, suggestion)
    shown = result.message.replace("&lt;", "<").replace("&gt;", ">")
    for word in words:
        assert word in shown
    assert isinstance(parse(result.example), Command)


def test_every_error_kind_is_covered() -> None:
    assert {kind for _, kind, _, _ in ERRORS} == set(get_args(ErrorKind))


def test_every_verb_is_covered() -> None:
    assert {expected.verb for _, expected in VALID} == set(Verb)


def test_error_example_is_for_the_verb_used() -> None:
    result = parse("suspend")
    assert isinstance(result, ParseError)
    assert result.example == VERB_SPECS[Verb.SUSPEND].example


def test_error_messages_cannot_ping_or_break_formatting() -> None:
    """Echoed user text is escaped (no live <!channel>) and cannot close the code span."""
    for text in ("lookup <!channel>", "suspend `a`b`", "frob <!here|here>"):
        result = parse(text)
        assert isinstance(result, ParseError)
        assert "<" not in result.message and "`a`" not in result.message


def test_huge_input_is_refused_quickly() -> None:
    result = parse("lookup " + '"' * 10_000_000)
    assert isinstance(result, ParseError) and result.kind == "too_long"


# --- the verb table ---


def test_table_has_every_verb_and_examples_parse_to_their_verb() -> None:
    assert set(VERB_SPECS) == set(Verb)
    for verb, spec in VERB_SPECS.items():
        parsed = parse(spec.example)
        assert isinstance(parsed, Command) and parsed.verb is verb, spec.example
        assert spec.usage.startswith(verb.value)


def test_aliases_resolve_and_do_not_collide() -> None:
    words = [w for spec in VERB_SPECS.values() for w in (spec.verb.value, *spec.aliases)]
    assert len({w.replace("-", "") for w in words}) == len(words)
    for spec in VERB_SPECS.values():
        for word in (spec.verb.value, *spec.aliases):
            assert lookup_verb(word.upper()) is spec.verb
    assert lookup_verb("unlok") is None


def test_self_service_usage_and_help_text() -> None:
    assert VERB_SPECS[Verb.UNLOCK].operands is Operands.USER_OR_SELF
    full = help_text()
    for spec in VERB_SPECS.values():
        assert f"/okta {spec.verb.value}" in full
    assert "<" not in full  # mrkdwn-escaped: usage placeholders would otherwise be read as links
    one = help_text(Verb.LOOKUP)
    assert "whois" in one and VERB_SPECS[Verb.LOOKUP].example in one and "suspend" not in one


# --- rendering ---


@pytest.mark.parametrize(
    ("command", "text"),
    [
        (Command(verb=Verb.UNLOCK, target=Self()), "unlock"),
        (Command(verb=Verb.LOOKUP, target=Name(text="Alex Kim")), 'lookup "Alex Kim"'),
        (Command(verb=Verb.LOOKUP, target=SlackUser(user_id="U1ABC")), "lookup <@U1ABC>"),
        (Command(verb=Verb.ADD_TO_GROUP, target=ALEX, group=GroupName(name="R&D <EU>")),
         'add-to-group alex.kim@acme.example "R&amp;D &lt;EU&gt;"'),
        (Command(verb=Verb.HELP, topic=Verb.UNLOCK), "help unlock"),
        (Command(verb=Verb.CANCEL, request_id="abc"), "cancel abc"),
    ],
)
def test_render(command: Command, text: str) -> None:
    assert render(command) == text
    assert parse(text) == command


def test_render_refuses_a_group_name_no_text_can_express() -> None:
    with pytest.raises(ValueError, match="quotes"):
        render(Command(verb=Verb.ADD_TO_GROUP, target=ALEX, group=GroupName(name='The "A" Team')))
    # quotes inside a single word need no quoting, so they are fine
    assert render(Command(verb=Verb.ADD_TO_GROUP, target=ALEX, group=GroupName(name='A"Team'))).endswith(' A"Team')


# --- properties ---

_IDS = st.from_regex(r"[A-Za-z0-9]{17}", fullmatch=True)
_LETTER = st.characters(categories=("Lu", "Ll", "Lo"))
_NAME_CHAR = st.one_of(_LETTER, st.characters(categories=("Nd", "Mn")), st.sampled_from(".-_'’"))
_names = (
    st.builds(lambda first, rest: first + rest, _LETTER, st.text(st.one_of(_NAME_CHAR, st.just(" ")), max_size=30))
    .map(lambda s: " ".join(s.split()))
    .filter(lambda s: s.casefold() != "me")
)
_login_chars = st.characters(categories=("L", "N", "P", "S"), exclude_characters='@<>"“”')
_login_parts = st.text(_login_chars, min_size=1, max_size=15)
_logins = st.builds(lambda local, domain: f"{local}@{domain}", _login_parts, _login_parts)
_users = st.one_of(
    _logins.map(lambda s: Login(login=s)),
    _IDS.map(lambda s: OktaUserId(id="00u" + s)),
    st.from_regex(r"[UW][A-Z0-9]{2,10}", fullmatch=True).map(lambda s: SlackUser(user_id=s)),
    _names.map(lambda s: Name(text=s)),
)
_group_names = (
    st.text(st.characters(exclude_categories=("Cc", "Cf", "Cs"), exclude_characters='"“”'), min_size=1, max_size=40)
    .map(str.strip)
    .filter(lambda s: s and not (len(s) == 20 and s[:3] in ("00u", "00g") and s.isascii() and s.isalnum()))
)
_groups = st.one_of(_IDS.map(lambda s: GroupId(id="00g" + s)), _group_names.map(lambda s: GroupName(name=s)))


_reasons = st.lists(st.from_regex(r"[A-Za-z0-9.#-]{1,12}", fullmatch=True), min_size=1, max_size=5).map(" ".join)
_timed = st.fixed_dictionaries({"duration": st.integers(1, 10_000).map(lambda n: n * 60)}, optional={"reason": _reasons})
_durations = st.just({}) | _timed


@st.composite
def commands(draw: st.DrawFn) -> Command:
    spec = VERB_SPECS[draw(st.sampled_from(list(Verb)))]
    verb = spec.verb
    match spec.operands:
        case Operands.NONE:
            return Command(verb=verb)
        case Operands.USER:
            return Command(verb=verb, target=draw(_users))
        case Operands.USER_OR_SELF:
            return Command(verb=verb, target=draw(st.one_of(st.just(Self()), _users)))
        case Operands.USER_AND_GROUP if spec.timed:
            return Command(verb=verb, target=draw(_users), group=draw(_groups), **draw(_durations))
        case Operands.USER_AND_GROUP:
            return Command(verb=verb, target=draw(_users), group=draw(_groups))
        case Operands.GROUP_FOR:
            return draw(st.just(Command(verb=verb)) | st.builds(lambda g, d: Command(verb=verb, group=g, **d), _groups, _timed))
        case Operands.GROUP_REASON:  # without a duration, a reason's first word is never `for`
            duration = draw(st.none() | st.integers(1, 10_000).map(lambda n: n * 60))
            reason = draw(_reasons.filter(lambda r: duration is not None or r.split()[0].casefold() != "for"))
            return Command(verb=verb, group=draw(_groups), duration=duration, reason=reason)
        case Operands.OPTIONAL_USER:
            return Command(verb=verb, target=draw(st.none() | _users))
        case Operands.REQUEST_ID:
            return Command(verb=verb, request_id=draw(st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)))
        case Operands.TOPIC:
            return Command(verb=verb, topic=draw(st.none() | st.sampled_from(list(Verb))))
        case Operands.USER_AND_PAGE:
            return Command(verb=verb, target=draw(_users), page=draw(st.none() | st.integers(1, 999)))
        case Operands.USER_AND_WINDOW:
            windows = st.sampled_from([60, 5400, 3600, 86400, 7 * 86400, 59 * 60])
            return Command(verb=verb, target=draw(_users), window=draw(st.none() | windows))
        case Operands.USER_AND_FACTOR:
            factors = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9:_.-]{0,63}", fullmatch=True)
            return Command(verb=verb, target=draw(_users), factor=draw(st.none() | factors))
        case Operands.GROUP_AND_USERS:
            users = st.lists(_users, max_size=5, unique=True)
            usergroups = st.lists(st.from_regex(r"S[A-Z0-9]{2,10}", fullmatch=True), max_size=2, unique=True)
            targets, teams = draw(users), draw(usergroups)
            if not targets and not teams:
                targets = [draw(_users)]
            return Command(verb=verb, group=draw(_groups), targets=tuple(targets), usergroups=tuple(teams))


# Text made of the grammar's own pieces finds more corners than uniformly random text.
_pieces = st.sampled_from(
    ['"', "“", "”", "<", ">", "|", "@", "&amp;", "&lt;", " ", "\t", "\u200b", "me", "00u", "00g", "<@U1AB>",
     "<mailto:a@b.c|a@b.c>", "<#C1>", "<!here>", "lookup", "add-to-group", "cancel", "help", "unlock", "x", "é"]
)
_grammarish = st.lists(_pieces, max_size=12).map("".join)


@settings(max_examples=examples(400))
@given(st.one_of(st.text(max_size=MAX_LENGTH + 50), _grammarish))
def test_parse_never_raises_and_errors_are_usable(text: str) -> None:
    result = parse(text)
    assert isinstance(result, Command | ParseError)
    if isinstance(result, ParseError):
        assert result.message and "<" not in result.message
        assert isinstance(parse(result.example), Command)


@settings(max_examples=examples(400))
@given(commands())
def test_render_then_parse_round_trips(command: Command) -> None:
    assert parse(render(command)) == command


_space = st.text(st.sampled_from(" \t\n\u00a0\u2003"), min_size=1, max_size=3)


@settings(max_examples=examples(200))
@given(commands(), st.data())
def test_verbs_ignore_case_separators_and_whitespace(command: Command, data: st.DataObject) -> None:
    verb, _, rest = render(command).partition(" ")
    cased = "".join(data.draw(st.sampled_from([c.lower(), c.upper()])) for c in verb)
    spelled = cased.replace("-", data.draw(st.sampled_from(["-", "_", ""])))
    lead, gap, tail = data.draw(_space), data.draw(_space), data.draw(_space)
    assert parse(f"{lead}{spelled}{gap}{rest}{tail}") == command
