"""Block Kit checks: the limits Slack enforces that a bot can plausibly break, with Slack-style messages.

Not a full schema: unknown block types, missing or over-long texts, too many blocks or elements,
duplicate ids, and the modal fields views.* reject. Each problem is "<what> [json-pointer:<where>]".
"""

from __future__ import annotations

from typing import Any

BLOCK_TYPES = frozenset(
    {"section", "divider", "image", "actions", "context", "input", "header", "rich_text", "file", "video", "markdown"}
)
MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100


def block_problems(blocks: Any, limit: int, where: str = "/blocks") -> list[str]:
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{where}]"]
    problems: list[str] = []
    if len(blocks) > limit:
        problems.append(f"no more than {limit} items allowed [json-pointer:{where}]")
    seen_ids: set[str] = set()
    for i, block in enumerate(blocks):
        at = f"{where}/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            problems.append(f"missing required field: type [json-pointer:{at}]")
            continue
        if block["type"] not in BLOCK_TYPES:
            problems.append(f"unsupported type: {block['type']} [json-pointer:{at}/type]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or not 0 < len(block_id) <= 255:
                problems.append(f"must be a string of 1 to 255 characters [json-pointer:{at}/block_id]")
            elif block_id in seen_ids:
                problems.append(f"duplicate block_id: {block_id} [json-pointer:{at}/block_id]")
            else:
                seen_ids.add(block_id)
        problems += _block_body_problems(block, at)
    return problems


def view_problems(view: Any, expected_type: str) -> list[str]:
    if not isinstance(view, dict):
        return ["must be an object [json-pointer:/view]"]
    if view.get("type") != expected_type:
        return [f"must be {expected_type} [json-pointer:/view/type]"]
    problems = block_problems(view.get("blocks"), VIEW_BLOCK_LIMIT, "/view/blocks")
    if expected_type == "modal":
        if "title" not in view:
            problems.append("missing required field: title [json-pointer:/view]")
        for field in ("title", "submit", "close"):
            if view.get(field) is not None:
                problems += _text_problems(view[field], f"/view/{field}", 24, plain_only=True)
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or [])
        if has_input and view.get("submit") is None:
            problems.append("must provide submit when there are input blocks [json-pointer:/view/submit]")
    if len(str(view.get("private_metadata") or "")) > 3000:
        problems.append("must be less than 3001 characters [json-pointer:/view/private_metadata]")
    if len(str(view.get("callback_id") or "")) > 255:
        problems.append("must be less than 256 characters [json-pointer:/view/callback_id]")
    return problems


def _block_body_problems(block: dict[str, Any], at: str) -> list[str]:
    kind = block["type"]
    if kind == "section":
        if "text" not in block and "fields" not in block:
            return [f"must provide text or fields [json-pointer:{at}]"]
        text = _text_problems(block["text"], f"{at}/text", 3000) if "text" in block else []
        return text + (_element_problems(block["accessory"], f"{at}/accessory") if "accessory" in block else [])
    if kind == "header":
        return _text_problems(block.get("text"), f"{at}/text", 150, plain_only=True)
    if kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 0 < len(elements) <= 25:
            return [f"must be an array of 1 to 25 elements [json-pointer:{at}/elements]"]
        problems: list[str] = []
        action_ids: set[str] = set()
        for j, element in enumerate(elements):
            problems += _element_problems(element, f"{at}/elements/{j}")
            action_id = element.get("action_id") if isinstance(element, dict) else None
            if action_id in action_ids:
                problems.append(f"duplicate action_id: {action_id} [json-pointer:{at}/elements/{j}/action_id]")
            elif isinstance(action_id, str):
                action_ids.add(action_id)
        return problems
    if kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 0 < len(elements) <= 10:
            return [f"must be an array of 1 to 10 elements [json-pointer:{at}/elements]"]
        return []
    if kind == "input":
        label = _text_problems(block.get("label"), f"{at}/label", 2000, plain_only=True)
        element = (
            [] if isinstance(block.get("element"), dict) else [f"missing required field: element [json-pointer:{at}]"]
        )
        return label + element
    return []


def _element_problems(element: Any, at: str) -> list[str]:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [f"missing required field: type [json-pointer:{at}]"]
    problems: list[str] = []
    if len(str(element.get("action_id") or "")) > 255:
        problems.append(f"must be less than 256 characters [json-pointer:{at}/action_id]")
    if element["type"] == "button":
        problems += _text_problems(element.get("text"), f"{at}/text", 75, plain_only=True)
        if len(str(element.get("value") or "")) > 2000:
            problems.append(f"must be less than 2001 characters [json-pointer:{at}/value]")
    return problems


def _text_problems(obj: Any, at: str, limit: int, *, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        return [f"must be a text object [json-pointer:{at}]"]
    if plain_only and obj["type"] != "plain_text":
        return [f"must be plain_text [json-pointer:{at}/type]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"must be more than 0 characters [json-pointer:{at}/text]"]
    if len(text) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{at}/text]"]
    return []
