"""Block Kit within Slack's limits by construction: the one place the bot's messages are cut to fit.

Slack refuses a whole message when one text is a character too long (invalid_blocks, msg_too_long),
so every builder here cuts what it is given: visibly, ending with "…", and never inside an
`&amp;` entity or `<...>` markup (a half link or a half mention would render as garbage). Lists are
capped with "and N more". Values that carry data (a button's value, ids) are never cut: a builder
refuses them instead, since a shortened value would act on something else.

The limits are Slack's (docs.slack.dev: reference/block-kit/blocks, composition objects, block
elements; reference/methods/chat.postMessage); tests check them against the stand-in's table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from commands.ports import Reply

ELLIPSIS = "…"
MESSAGE_TEXT = 4_000  # Slack truncates beyond 40,000 characters and advises keeping under 4,000
MESSAGE_BLOCKS = 50
SECTION_TEXT = 3_000
SECTION_FIELDS = 10
FIELD_TEXT = 2_000
HEADER_TEXT = 150
TEXT_OBJECT = 3_000  # any other text object, e.g. a context element
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2_000
CONFIRM_TITLE = 100
CONFIRM_TEXT = 300
CONFIRM_BUTTON = 30
MODAL_TITLE = 24  # also a modal's submit and close labels
INPUT_LABEL = 2_000
PRIVATE_METADATA = 3_000


def fit(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else its start ending with "…" (mrkdwn-safe)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    amp = cut.rfind("&")
    if amp >= 0 and ";" not in cut[amp:]:  # an entity cut in half: drop it
        cut = cut[:amp]
    lt = cut.rfind("<")
    if lt >= 0 and ">" not in cut[lt:]:  # a link, mention or date cut in half: drop it
        cut = cut[:lt]
    return cut + ELLIPSIS


def fit_plain(text: str, limit: int) -> str:
    """`fit` for plain_text, where nothing is markup."""
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


def fit_middle(before: str, middle: str, after: str, limit: int) -> str:
    """`before + middle + after` in `limit` characters, cutting `middle` only, so that the
    question or the instruction around a long name stays whole."""
    return before + fit(middle, max(len(ELLIPSIS), limit - len(before) - len(after))) + after


def more(n: int) -> str:
    return f"and {n} more"


def capped(
    items: Sequence[str],
    limit: int,
    *,
    sep: str = "\n",
    at_most: int | None = None,
    rest: Callable[[int], str] = more,
    rest_sep: str | None = None,
) -> str:
    """As many `items` as fit in `limit` characters (and at most `at_most`), then `rest(n)` for the n
    left out, joined by `rest_sep` (default `sep`). A first item too long by itself is cut."""
    note_sep = sep if rest_sep is None else rest_sep
    shown: list[str] = []
    used = -len(sep)  # the first item has no separator before it
    for i, item in enumerate(items):
        left = len(items) - i - 1
        note = len(note_sep) + len(rest(left)) if left else 0
        if (at_most is not None and i >= at_most) or used + len(sep) + len(item) + note > limit:
            break
        shown.append(item)
        used += len(sep) + len(item)
    hidden = len(items) - len(shown)
    if hidden == 0:
        return sep.join(shown)
    if not shown and (at_most is None or at_most > 0):
        first = fit(items[0], limit - (len(note_sep) + len(rest(hidden - 1)) if hidden > 1 else 0))
        return first + (note_sep + rest(hidden - 1) if hidden > 1 else "")
    return sep.join(shown) + (note_sep if shown else "") + rest(hidden)


# builders: slack_sdk's models, with every text cut to its limit


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=fit_plain(text, HEADER_TEXT))


def section(text: str, *, block_id: str | None = None) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=fit(text, SECTION_TEXT)), block_id=block_id)


def fields(texts: Sequence[str]) -> SectionBlock:
    """A section of fields: Slack shows at most ten, each up to 2,000 characters."""
    if not 0 < len(texts) <= SECTION_FIELDS:
        raise ValueError(f"a section holds 1 to {SECTION_FIELDS} fields, not {len(texts)}")
    return SectionBlock(fields=[MarkdownTextObject(text=fit(t, FIELD_TEXT)) for t in texts])


def context(*texts: str) -> ContextBlock:
    if not 0 < len(texts) <= CONTEXT_ELEMENTS:
        raise ValueError(f"a context holds 1 to {CONTEXT_ELEMENTS} elements, not {len(texts)}")
    return ContextBlock(elements=[MarkdownTextObject(text=fit(t, TEXT_OBJECT)) for t in texts])


def confirm(title: str, text: str, yes: str, no: str = "Cancel", *, style: str | None = None) -> ConfirmObject:
    return ConfirmObject(
        title=fit_plain(title, CONFIRM_TITLE),
        text=fit(text, CONFIRM_TEXT),
        confirm=fit_plain(yes, CONFIRM_BUTTON),
        deny=fit_plain(no, CONFIRM_BUTTON),
        style=style,
    )


def button(
    text: str, action_id: str, value: str | None = None, *, style: str | None = None, ask: ConfirmObject | None = None
) -> ButtonElement:
    if value is not None and len(value) > BUTTON_VALUE:
        raise ValueError(f"a button value holds {BUTTON_VALUE} characters; a cut one would act on something else")
    return ButtonElement(text=fit_plain(text, BUTTON_TEXT), action_id=action_id, value=value, style=style, confirm=ask)


def reply(text: str, blocks: Sequence[Block] = ()) -> Reply:
    """A message: the fallback text cut to what Slack advises, and the blocks as dicts."""
    if len(blocks) > MESSAGE_BLOCKS:
        raise ValueError(f"a message holds {MESSAGE_BLOCKS} blocks, not {len(blocks)}")
    return Reply(text=fit(text, MESSAGE_TEXT), blocks=[b.to_dict() for b in blocks])
