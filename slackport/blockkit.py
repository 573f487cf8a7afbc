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

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from slackport._models import Reply
from slacktext import fit, fit_plain

# slack_sdk's Block Kit models, re-exported: messages are composed from them everywhere, while
# slack_sdk itself stays behind the port (an import-linter contract).
__all__ = [
    "ActionsBlock", "Block", "ButtonElement", "ConfirmObject", "ContextBlock", "DividerBlock", "HeaderBlock",
    "InputBlock", "MarkdownTextObject", "Option", "PlainTextInputElement", "PlainTextObject", "SectionBlock",
    "StaticSelectElement", "View",
]

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
OPTION_TEXT = 75
OPTION_VALUE = 150
SELECT_OPTIONS = 100  # a static_select's options
PLACEHOLDER = 150


# builders: slack_sdk's models, with every text cut to its limit


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=fit_plain(text, HEADER_TEXT))


def section(text: str, *, block_id: str | None = None, accessory: ButtonElement | None = None) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=fit(text, SECTION_TEXT)), block_id=block_id, accessory=accessory)


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


def option(text: str, value: str) -> Option:
    if len(value) > OPTION_VALUE:
        raise ValueError(f"an option value holds {OPTION_VALUE} characters; a cut one would pick something else")
    return Option(text=fit_plain(text, OPTION_TEXT), value=value)


def select(action_id: str, options: Sequence[Option], placeholder: str) -> StaticSelectElement:
    if not 0 < len(options) <= SELECT_OPTIONS:
        raise ValueError(f"a select holds 1 to {SELECT_OPTIONS} options, not {len(options)}")
    return StaticSelectElement(action_id=action_id, options=list(options), placeholder=fit_plain(placeholder, PLACEHOLDER))


def reply(text: str, blocks: Sequence[Block] = ()) -> Reply:
    """A message: the fallback text cut to what Slack advises, and the blocks as dicts."""
    if len(blocks) > MESSAGE_BLOCKS:
        raise ValueError(f"a message holds {MESSAGE_BLOCKS} blocks, not {len(blocks)}")
    return Reply(text=fit(text, MESSAGE_TEXT), blocks=[b.to_dict() for b in blocks])
