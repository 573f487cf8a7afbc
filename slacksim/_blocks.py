"""Block Kit checks: the documented limits (slacksim/_limits.py) and the shapes Slack insists on,
with Slack's wording.

Each problem reads "<what> [json-pointer:<where>]", as in Slack's `errors`; answers prefix them
with "[ERROR] " in `response_metadata.messages`. Not a full schema: it checks what a bot can
plausibly get wrong (lengths, counts, missing or mistyped fields, duplicate ids), for every block
and element the bot or the console uses, and the type of any other.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from slacksim._limits import BLOCK_KIT_LIMITS as LIMITS

BLOCK_TYPES = frozenset(
    {"section", "divider", "image", "actions", "context", "input", "header", "rich_text", "file", "video", "markdown"}
)
ELEMENT_TYPES = frozenset(
    {
        "button",
        "checkboxes",
        "datepicker",
        "datetimepicker",
        "timepicker",
        "email_text_input",
        "image",
        "number_input",
        "overflow",
        "plain_text_input",
        "radio_buttons",
        "url_text_input",
        "rich_text_input",
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
        "file_input",
    }
)
_SELECTS_WITH_OPTIONS = frozenset({"static_select", "multi_static_select"})
_OPTION_LISTS = {
    "overflow": "overflow.options",
    "radio_buttons": "radio_buttons.options",
    "checkboxes": "checkboxes.options",
}
MESSAGE_BLOCK_LIMIT = LIMITS["message.blocks"]
VIEW_BLOCK_LIMIT = LIMITS["view.blocks"]

# How many payloads were checked, by kind ("message", "view"), in this process: tests report it.
CHECKED: Counter[str] = Counter()


def error_messages(problems: list[str]) -> list[str]:
    """`response_metadata.messages` as Slack words them."""
    return [f"[ERROR] {p}" for p in problems]


def message_problems(content: dict[str, Any]) -> list[str]:
    """A message's blocks and legacy attachments (whose own `blocks` follow the same rules)."""
    CHECKED["message"] += 1
    check = _Check()
    if "blocks" in content:
        check.blocks(content["blocks"], MESSAGE_BLOCK_LIMIT, "/blocks")
    attachments = content.get("attachments")
    if attachments is not None:
        if not isinstance(attachments, list):
            check.add("must be an array", "/attachments")
        else:
            check.count(attachments, "message.attachments", "/attachments")
            for i, attachment in enumerate(attachments):
                if not isinstance(attachment, dict):
                    check.add("must be an object", f"/attachments/{i}")
                elif "blocks" in attachment:
                    check.blocks(attachment["blocks"], MESSAGE_BLOCK_LIMIT, f"/attachments/{i}/blocks")
    return check.problems


def view_problems(view: Any, expected_type: str) -> list[str]:
    CHECKED["view"] += 1
    if not isinstance(view, dict):
        return ["must be an object [json-pointer:/view]"]
    if view.get("type") != expected_type:
        return [f"must be {expected_type} [json-pointer:/view/type]"]
    check = _Check()
    check.blocks(view.get("blocks"), VIEW_BLOCK_LIMIT, "/view/blocks")
    if expected_type == "modal":
        if "title" not in view:
            check.add("missing required field: title", "/view")
        for field in ("title", "submit", "close"):
            if view.get(field) is not None:
                check.text(view[field], f"/view/{field}", f"modal.{field}", plain_only=True)
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or [])
        if has_input and view.get("submit") is None:
            check.add("must provide submit when there are input blocks", "/view/submit")
    for field in ("private_metadata", "callback_id", "external_id"):
        check.length(view.get(field), f"view.{field}", f"/view/{field}")
    return check.problems


class _Check:
    """Collects the problems of one payload."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self._block_ids: set[str] = set()

    def add(self, what: str, at: str) -> None:
        self.problems.append(f"{what} [json-pointer:{at}]")

    def count(self, items: list[Any], limit_key: str, at: str) -> None:
        if len(items) > LIMITS[limit_key]:
            self.add(f"no more than {LIMITS[limit_key]} items allowed", at)

    def length(self, value: Any, limit_key: str, at: str) -> None:
        """An optional string field's length."""
        if value is not None and len(str(value)) > LIMITS[limit_key]:
            self.add(f"must be less than {LIMITS[limit_key] + 1} characters", at)

    def items(self, value: Any, limit_key: str, at: str) -> list[Any]:
        """A required, non-empty array of at most the limit's items (what to check further)."""
        if not isinstance(value, list) or not value:
            self.add("must provide a non-empty array", at)
            return []
        self.count(value, limit_key, at)
        return value

    def text(self, obj: Any, at: str, limit_key: str, *, plain_only: bool = False) -> None:
        if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
            self.add("must be a text object", at)
            return
        if plain_only and obj["type"] != "plain_text":
            self.add("must be plain_text", f"{at}/type")
        text = obj.get("text")
        if not isinstance(text, str) or not text:
            self.add("must be more than 0 characters", f"{at}/text")
        elif len(text) > LIMITS[limit_key]:
            self.add(f"must be less than {LIMITS[limit_key] + 1} characters", f"{at}/text")

    # blocks

    def blocks(self, blocks: Any, limit: int, where: str) -> list[str]:
        if not isinstance(blocks, list):
            self.add("must be an array", where)
            return self.problems
        if len(blocks) > limit:
            self.add(f"no more than {limit} items allowed", where)
        for i, block in enumerate(blocks):
            self.block(block, f"{where}/{i}")
        return self.problems

    def block(self, block: Any, at: str) -> None:
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            self.add("missing required field: type", at)
            return
        kind = block["type"]
        if kind not in BLOCK_TYPES:
            self.add(f"unsupported type: {kind}", f"{at}/type")
            return
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or not 0 < len(block_id) <= LIMITS["block_id"]:
                self.add(f"must be a string of 1 to {LIMITS['block_id']} characters", f"{at}/block_id")
            elif block_id in self._block_ids:
                self.add(f"duplicate block_id: {block_id}", f"{at}/block_id")
            else:
                self._block_ids.add(block_id)
        body = getattr(self, f"_{kind}", None)
        if body is not None:
            body(block, at)

    def _section(self, block: dict[str, Any], at: str) -> None:
        if "text" not in block and "fields" not in block:
            self.add("must provide text or fields", at)
        if "text" in block:
            self.text(block["text"], f"{at}/text", "section.text")
        if "fields" in block:
            for j, field in enumerate(self.items(block["fields"], "section.fields", f"{at}/fields")):
                self.text(field, f"{at}/fields/{j}", "section.field")
        if "accessory" in block:
            self.element(block["accessory"], f"{at}/accessory")

    def _header(self, block: dict[str, Any], at: str) -> None:
        self.text(block.get("text"), f"{at}/text", "header.text", plain_only=True)

    def _context(self, block: dict[str, Any], at: str) -> None:
        for j, element in enumerate(self.items(block.get("elements"), "context.elements", f"{at}/elements")):
            where = f"{at}/elements/{j}"
            if isinstance(element, dict) and element.get("type") == "image":
                self._image_fields(element, where)
            else:
                self.text(element, where, "text.text")

    def _actions(self, block: dict[str, Any], at: str) -> None:
        action_ids: set[str] = set()
        for j, element in enumerate(self.items(block.get("elements"), "actions.elements", f"{at}/elements")):
            self.element(element, f"{at}/elements/{j}")
            action_id = element.get("action_id") if isinstance(element, dict) else None
            if isinstance(action_id, str) and action_id in action_ids:
                self.add(f"duplicate action_id: {action_id}", f"{at}/elements/{j}/action_id")
            elif isinstance(action_id, str):
                action_ids.add(action_id)

    def _input(self, block: dict[str, Any], at: str) -> None:
        self.text(block.get("label"), f"{at}/label", "input.label", plain_only=True)
        if block.get("hint") is not None:
            self.text(block["hint"], f"{at}/hint", "input.hint", plain_only=True)
        if isinstance(block.get("element"), dict):
            self.element(block["element"], f"{at}/element")
        else:
            self.add("missing required field: element", at)

    def _image(self, block: dict[str, Any], at: str) -> None:
        self._image_fields(block, at)
        if block.get("title") is not None:
            self.text(block["title"], f"{at}/title", "image.title", plain_only=True)

    def _image_fields(self, image: dict[str, Any], at: str) -> None:
        if not image.get("alt_text"):
            self.add("missing required field: alt_text", at)
        self.length(image.get("alt_text"), "image.alt_text", f"{at}/alt_text")
        if "image_url" not in image and "slack_file" not in image:
            self.add("must provide image_url or slack_file", at)
        self.length(image.get("image_url"), "image.image_url", f"{at}/image_url")

    def _markdown(self, block: dict[str, Any], at: str) -> None:
        text = block.get("text")
        if not isinstance(text, str) or not text:
            self.add("must be more than 0 characters", f"{at}/text")
        else:
            self.length(text, "markdown.text", f"{at}/text")

    # elements

    def element(self, element: Any, at: str) -> None:
        if not isinstance(element, dict) or not isinstance(element.get("type"), str):
            self.add("missing required field: type", at)
            return
        kind = element["type"]
        if kind not in ELEMENT_TYPES:
            self.add(f"unsupported type: {kind}", f"{at}/type")
            return
        if kind == "image":
            self._image_fields(element, at)
            return
        action_id = element.get("action_id")
        if action_id is not None and not (isinstance(action_id, str) and 0 < len(action_id) <= LIMITS["action_id"]):
            self.add(f"must be a string of 1 to {LIMITS['action_id']} characters", f"{at}/action_id")
        if element.get("placeholder") is not None:
            self.text(element["placeholder"], f"{at}/placeholder", "placeholder", plain_only=True)
        if element.get("confirm") is not None:
            self.confirm(element["confirm"], f"{at}/confirm")
        if kind == "button":
            self.text(element.get("text"), f"{at}/text", "button.text", plain_only=True)
            self.length(element.get("value"), "button.value", f"{at}/value")
            self.length(element.get("url"), "button.url", f"{at}/url")
            self.length(element.get("accessibility_label"), "button.accessibility_label", f"{at}/accessibility_label")
            if element.get("style") not in (None, "primary", "danger"):
                self.add("must be primary or danger", f"{at}/style")
        elif kind in _SELECTS_WITH_OPTIONS:
            self._select_options(element, at)
        elif kind in _OPTION_LISTS:
            for j, option in enumerate(self.items(element.get("options"), _OPTION_LISTS[kind], f"{at}/options")):
                self.option(option, f"{at}/options/{j}", plain_only=kind == "overflow")
        elif kind == "plain_text_input":
            self._text_input(element, at)

    def _select_options(self, element: dict[str, Any], at: str) -> None:
        has_options, has_groups = "options" in element, "option_groups" in element
        if has_options == has_groups:
            self.add("must provide exactly one of options or option_groups", at)
        if has_options:
            for j, option in enumerate(self.items(element["options"], "static_select.options", f"{at}/options")):
                self.option(option, f"{at}/options/{j}", plain_only=True)
        if has_groups:
            groups = self.items(element["option_groups"], "static_select.option_groups", f"{at}/option_groups")
            for g, group in enumerate(groups):
                where = f"{at}/option_groups/{g}"
                if not isinstance(group, dict):
                    self.add("must be an object", where)
                    continue
                self.text(group.get("label"), f"{where}/label", "option_group.label", plain_only=True)
                for j, option in enumerate(
                    self.items(group.get("options"), "option_group.options", f"{where}/options")
                ):
                    self.option(option, f"{where}/options/{j}", plain_only=True)

    def _text_input(self, element: dict[str, Any], at: str) -> None:
        ceiling = LIMITS["plain_text_input.max_length"]
        for field in ("min_length", "max_length"):
            value = element.get(field)
            if value is not None and not (isinstance(value, int) and 0 <= value <= ceiling):
                self.add(f"must be an integer from 0 to {ceiling}", f"{at}/{field}")
        low, high = element.get("min_length"), element.get("max_length")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            self.add("must be no more than max_length", f"{at}/min_length")

    def option(self, option: Any, at: str, *, plain_only: bool) -> None:
        if not isinstance(option, dict):
            self.add("must be an object", at)
            return
        self.text(option.get("text"), f"{at}/text", "option.text", plain_only=plain_only)
        value = option.get("value")
        if not isinstance(value, str) or not value:
            self.add("must be more than 0 characters", f"{at}/value")
        self.length(value, "option.value", f"{at}/value")
        if option.get("description") is not None:
            self.text(option["description"], f"{at}/description", "option.description")
        self.length(option.get("url"), "option.url", f"{at}/url")

    def confirm(self, confirm: Any, at: str) -> None:
        if not isinstance(confirm, dict):
            self.add("must be an object", at)
            return
        self.text(confirm.get("title"), f"{at}/title", "confirm.title", plain_only=True)
        self.text(confirm.get("text"), f"{at}/text", "confirm.text")
        self.text(confirm.get("confirm"), f"{at}/confirm", "confirm.confirm", plain_only=True)
        self.text(confirm.get("deny"), f"{at}/deny", "confirm.deny", plain_only=True)
        if confirm.get("style") not in (None, "primary", "danger"):
            self.add("must be primary or danger", f"{at}/style")
