"""The request form, built and read without Slack: it fits Slack's limits whatever the policy lists,
and a submission becomes the typed command, or errors named by field."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.grammar import Command, GroupName, parse
from commands.request_form import DURATION_BLOCK, GROUP_BLOCK, REASON_BLOCK, listable, read_form, request_view
from policy import Verb, load_policy
from slackport import blockkit as bk
from slacksim import BLOCK_KIT_LIMITS, view_problems
from tests.chatops_support import EXAMPLE_POLICY
from tests.conftest import examples

POLICY = load_policy(EXAMPLE_POLICY)


def options(view: dict[str, Any], block_id: str) -> list[tuple[str, str]]:
    block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
    return [(o["text"]["text"], o["value"]) for o in block["element"]["options"]]


def test_the_form_offers_each_group_with_its_longest_duration_and_durations_up_to_the_longest() -> None:
    view = request_view([("Finance", 8 * 3600), ("Contractors", 2 * 86400)], "C0HELPDESK1")
    assert view_problems(view, "modal") == []
    assert options(view, GROUP_BLOCK) == [("Finance (up to 8h)", "Finance"), ("Contractors (up to 2d)", "Contractors")]
    assert [value for _, value in options(view, DURATION_BLOCK)] == ["15m", "30m", "1h", "2h", "4h", "8h", "12h", "1d", "2d"]
    assert json.loads(view["private_metadata"]) == {"channel": "C0HELPDESK1"}  # where to answer, nothing more


def test_a_cap_off_the_ladder_is_offered_in_whole_minutes_and_one_under_a_minute_not_at_all() -> None:
    view = request_view([("Odd", 90 * 60 + 30), ("Tiny", 20)], None)
    assert options(view, GROUP_BLOCK) == [("Odd (up to 90m)", "Odd")]
    assert [value for _, value in options(view, DURATION_BLOCK)] == ["15m", "30m", "1h", "90m"]
    assert "1 more can be requested with `/okta request" in json.dumps(view["blocks"][0])


names = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=255)


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(names, st.integers(1, 365 * 86400)), min_size=1, max_size=150, unique_by=lambda g: g[0]))
def test_the_form_fits_slacks_limits_for_any_groups(groups: list[tuple[str, int]]) -> None:
    fitting = sum(len(name) <= bk.OPTION_VALUE and cap >= 60 for name, cap in groups)
    assert len(listable(groups)) == min(bk.SELECT_OPTIONS, fitting)
    if fitting:
        view = request_view(groups, None)
        assert view_problems(view, "modal") == []
        assert [value for _, value in options(view, GROUP_BLOCK)] == [name for name, _ in listable(groups)]


def test_the_bots_option_limits_are_slacks() -> None:
    assert (bk.OPTION_TEXT, bk.OPTION_VALUE, bk.SELECT_OPTIONS, bk.PLACEHOLDER) == (
        BLOCK_KIT_LIMITS["option.text"],
        BLOCK_KIT_LIMITS["option.value"],
        BLOCK_KIT_LIMITS["static_select.options"],
        BLOCK_KIT_LIMITS["placeholder"],
    )


def test_a_good_submission_is_the_command_typed_out() -> None:
    read = read_form(POLICY, "Finance", "4h", "quarter close")
    assert read == Command(verb=Verb.REQUEST, group=GroupName(name="Finance"), duration=4 * 3600, reason="quarter close")
    assert read == parse("request Finance for 4h quarter close")


def test_each_bad_value_is_named_on_its_field() -> None:
    assert read_form(POLICY, "Finance", "1d", "month end") == {DURATION_BLOCK: "Finance can be given for at most 8h: pick a shorter time."}
    assert read_form(POLICY, "Sales", "1h", "x") == {GROUP_BLOCK: "Pick one of the groups in the list."}  # not listed
    assert read_form(POLICY, None, None, "") == {
        GROUP_BLOCK: "Pick one of the groups in the list.",
        REASON_BLOCK: "Say why you need it: the approvers decide on it.",
    }
    assert read_form(POLICY, "Finance", "soon", "x" * 501) == {
        DURATION_BLOCK: "Pick one of the durations in the list.",
        REASON_BLOCK: "At most 500 characters, please.",
    }
