"""commands/blockkit.py: cutting visibly, never inside markup, and capping lists with "and N more"."""

from __future__ import annotations

import pytest

from slackport import blockkit as bk
from slacktext import capped, fit, fit_middle


def test_fit_cuts_with_an_ellipsis_only_when_needed() -> None:
    assert fit("short", 10) == "short"
    assert fit("a" * 11, 10) == "a" * 9 + "…"


@pytest.mark.parametrize(
    ("text", "limit", "cut"),
    [
        ("Tom &amp; Jerry", 9, "Tom …"),  # not "Tom &am…"
        ("see <https://e.example/x|the page> now", 20, "see …"),  # not half a link
        ("by <@U0HANA00001> today", 12, "by …"),  # not half a mention
        ("done &amp; dusted", 11, "done &amp;…"),  # a whole entity stays
    ],
)
def test_fit_never_ends_inside_an_entity_or_markup(text: str, limit: int, cut: str) -> None:
    assert fit(text, limit) == cut and len(cut) <= limit


def test_fit_middle_keeps_the_question_whole() -> None:
    asked = fit_middle("Suspending ", "x" * 500, ". Go ahead?", 300)
    assert len(asked) == 300 and asked.startswith("Suspending xx") and asked.endswith("x…. Go ahead?")


def test_capped_lists_what_fits_then_how_many_more() -> None:
    names = [f"group {n}" for n in range(100)]
    listing = capped(names, 60, sep=", ", rest_sep=" ")
    assert listing == "group 0, group 1, group 2, group 3, group 4 and 95 more"
    assert capped(names, 3000, sep=", ", at_most=3, rest_sep=" ") == "group 0, group 1, group 2 and 97 more"
    assert capped(names[:2], 3000) == "group 0\ngroup 1"
    assert capped([], 10) == ""
    first_too_long = capped(["x" * 50, "y"], 20)
    assert first_too_long == "x" * 8 + "…\nand 1 more" and len(first_too_long) == 20


def test_builders_refuse_what_cannot_be_cut() -> None:
    with pytest.raises(ValueError, match="value"):
        bk.button("Go", "go", "v" * 2001)
    with pytest.raises(ValueError, match="fields"):
        bk.fields([f"f{n}" for n in range(11)])
    with pytest.raises(ValueError, match="blocks"):
        bk.reply("x", [bk.section("s")] * 51)
