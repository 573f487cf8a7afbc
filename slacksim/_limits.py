"""Slack's documented limits, in one table: what the stand-in refuses, and what the bot must fit.

Sources (docs.slack.dev):
- reference/block-kit/blocks: block counts, section, header, context, actions, input, image, block_id
- reference/block-kit/composition-objects: text objects, confirmation dialog, option, option group
- reference/block-kit/block-elements: button, selects, overflow, radio buttons, checkboxes, plain-text input
- reference/views (modal and Home tab fields) and surfaces/modals
- reference/methods/chat.postMessage: `text` (msg_too_long) and legacy attachments
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

BLOCK_KIT_LIMITS: Final[Mapping[str, int]] = MappingProxyType(
    {
        # reference/methods/chat.postMessage
        "message.text": 40_000,  # characters; beyond it: msg_too_long
        "message.attachments": 100,
        # reference/block-kit/blocks
        "message.blocks": 50,
        "view.blocks": 100,  # a modal or a Home tab
        "block_id": 255,
        "section.text": 3_000,
        "section.fields": 10,
        "section.field": 2_000,  # each field's text
        "header.text": 150,
        "context.elements": 10,
        "actions.elements": 25,
        "input.label": 2_000,
        "input.hint": 2_000,
        "image.alt_text": 2_000,
        "image.image_url": 3_000,
        "image.title": 2_000,
        "markdown.text": 12_000,
        # reference/block-kit/composition-objects
        "text.text": 3_000,  # any text object not limited further (a context element's, say)
        "confirm.title": 100,
        "confirm.text": 300,
        "confirm.confirm": 30,
        "confirm.deny": 30,
        "option.text": 75,
        "option.value": 150,
        "option.description": 75,
        "option.url": 3_000,
        "option_group.label": 75,
        "option_group.options": 100,
        # reference/block-kit/block-elements
        "action_id": 255,
        "button.text": 75,
        "button.value": 2_000,
        "button.url": 3_000,
        "button.accessibility_label": 75,
        "placeholder": 150,
        "static_select.options": 100,
        "static_select.option_groups": 100,
        "overflow.options": 5,
        "radio_buttons.options": 10,
        "checkboxes.options": 10,
        "plain_text_input.max_length": 3_000,
        # reference/views
        "modal.title": 24,
        "modal.submit": 24,
        "modal.close": 24,
        "view.private_metadata": 3_000,
        "view.callback_id": 255,
        "view.external_id": 255,
    }
)
