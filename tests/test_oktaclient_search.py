"""oktaclient.search: expressions in which anything typed can only ever be a quoted value."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oktaclient import OktaClient, search
from oktaclient.search import SearchSyntaxError
from oktasim import OktaOrg
from tests.conftest import examples


def test_renders_okta_syntax_with_quoted_escaped_values() -> None:
    expr = search.eq("profile.email", 'a"b\\c') & (search.sw("status", "ACT") | search.pr("profile.mobilePhone"))
    assert str(expr) == 'profile.email eq "a\\"b\\\\c" and (status sw "ACT" or profile.mobilePhone pr)'


def test_same_kind_combinations_flatten_and_mixed_ones_are_parenthesised() -> None:
    a, b, c = search.eq("a", "1"), search.eq("b", "2"), search.eq("c", "3")
    assert (a & b) & c == a & (b & c)
    assert str((a & b) & c) == 'a eq "1" and b eq "2" and c eq "3"'
    assert str((a | b) & c) == '(a eq "1" or b eq "2") and c eq "3"'
    assert search.and_(a) is a


@pytest.mark.parametrize(
    "attribute",
    ["", "1abc", "profile.email eq", 'id eq "x" or id', "profile..email", "profile.", "a b", "(id)", "profile.e-mail"],
)
def test_attribute_names_are_strict(attribute: str) -> None:
    with pytest.raises(SearchSyntaxError):
        search.eq(attribute, "x")


@pytest.mark.parametrize("operator", ["ne", "EQ", "eq ", "or", "", "ew"])
def test_operators_come_from_a_fixed_set(operator: str) -> None:
    with pytest.raises(SearchSyntaxError):
        search.condition("status", operator, "ACTIVE")


def test_pr_takes_no_value_and_the_others_need_one() -> None:
    with pytest.raises(SearchSyntaxError):
        search.condition("status", "pr", "x")
    with pytest.raises(SearchSyntaxError):
        search.condition("status", "eq")


def test_an_injection_attempt_stays_one_value() -> None:
    typed = 'nobody@acme.example" or status eq "ACTIVE'
    expr = search.eq("profile.email", typed)
    assert search.parse(str(expr)) == search.Condition("profile.email", "eq", typed)


@pytest.mark.parametrize(
    "text",
    [
        'status eq "A" or',
        'status eq "A" and and',
        "status eq ACTIVE",
        'status eq "unterminated',
        '(status eq "A"',
        'status eq "A")',
        'status eq "bad \\n escape"',
        'not status eq "A"',
        'status eq "A" "B"',
    ],
)
def test_parse_rejects_what_the_builder_cannot_produce(text: str) -> None:
    with pytest.raises(SearchSyntaxError):
        search.parse(text)


@given(st.text())
def test_quote_round_trips_any_text(value: str) -> None:
    assert search.unquote(search.quote(value)) == value


_attributes = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,8}(\.[A-Za-z][A-Za-z0-9_]{0,8}){0,2}", fullmatch=True)
_conditions = st.one_of(
    st.builds(search.Condition, _attributes, st.sampled_from(sorted(search.OPERATORS - {"pr"})), st.text()),
    st.builds(search.pr, _attributes),
)
_expressions = st.recursive(
    _conditions,
    lambda children: st.one_of(
        st.lists(children, min_size=2, max_size=4).map(lambda parts: search.and_(*parts)),
        st.lists(children, min_size=2, max_size=4).map(lambda parts: search.or_(*parts)),
    ),
    max_leaves=12,
)


@given(_expressions)
def test_expressions_round_trip_through_parse(expr: search.Expression) -> None:
    assert search.parse(str(expr)) == expr


_serial = itertools.count()


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(min_size=1, max_size=40))
async def test_email_eq_matches_exactly_the_users_with_that_value(
    okta_org: OktaOrg, okta: OktaClient, value: str
) -> None:
    # Okta compares search string values case-insensitively; a near miss must not match.
    for email in (value, value.swapcase(), value + "x", "x" + value):
        okta_org.add_user(f"hyp{next(_serial)}@hyp.example", "Hypo", "Thesis", email=email)
    expected = {
        user.id
        for user in okta_org.directory.users.values()
        if str(user.profile.get("email", "")).casefold() == value.casefold()
    }
    found = {user.id async for user in okta.search_users(search.eq("profile.email", value))}
    assert found == expected
    assert len(found) >= 1
