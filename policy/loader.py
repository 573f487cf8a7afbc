"""Reading the policy file: YAML -> validated `Policy`, or a `PolicyError` that lists every problem.

This is the policy package's only I/O. Problems carry the line they are on: the YAML is composed
into nodes first, so each value's position is known, and duplicate keys (which plain YAML loading
silently resolves to the last one) are reported instead of ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from policy.fields import ROLES_CONTEXT
from policy.policy import Policy

_Path = tuple[str, ...]
_Problem = tuple[int | None, str]  # (line, what is wrong)


class PolicyError(Exception):
    """Every problem found in a policy file, one per line, each with its line number when known."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"Policy file {source}: {count}:\n" + "\n".join(f"  - {p}" for p in problems))


def load_policy(path: str | Path) -> Policy:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(str(path), ["file not found"]) from None
    except UnicodeDecodeError as e:
        raise PolicyError(str(path), [f"not UTF-8 text (bad byte at offset {e.start})"]) from None
    except OSError as e:
        raise PolicyError(str(path), [f"cannot read the file: {e.strerror}"]) from None
    return parse_policy(text, source=str(path))


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """A policy from YAML text; `source` names it in error messages."""
    data, lines, problems = _compose(text, source)
    if data is None:
        raise PolicyError(source, ["the file is empty: it needs at least 'roles' and 'approvals'"])
    if not isinstance(data, dict):
        raise PolicyError(source, ["the top level must be a mapping of sections (roles, verbs, approvals, ...)"])
    try:
        policy = Policy.model_validate(data, context={ROLES_CONTEXT: _declared_roles(data)})
    except ValidationError as e:
        raise PolicyError(source, _in_file_order(problems + [_describe(err, lines) for err in e.errors()])) from None
    if problems:
        raise PolicyError(source, _in_file_order(problems))
    return policy


def _in_file_order(problems: list[_Problem]) -> list[str]:
    ordered = sorted(problems, key=lambda p: (p[0] is None, p[0] or 0))
    return [what if line is None else f"line {line}: {what}" for line, what in ordered]


def _compose(text: str, source: str) -> tuple[Any, dict[_Path, int], list[_Problem]]:
    """The loaded data, the line of every key and list item, and the duplicate keys found."""
    try:
        node, data = _load(text)
    except yaml.MarkedYAMLError as e:
        where = f"line {e.problem_mark.line + 1}, column {e.problem_mark.column + 1}: " if e.problem_mark else ""
        what = "; ".join(part for part in (e.context, e.problem) if part)
        raise PolicyError(source, [f"{where}YAML syntax error: {what}"]) from None
    except yaml.reader.ReaderError as e:  # a character YAML does not allow (control characters)
        what = f"character {e.position}: YAML does not allow U+{e.character:04X} ({e.reason})"
        raise PolicyError(source, [what]) from None
    lines: dict[_Path, int] = {}
    duplicates: list[_Problem] = []
    if node is not None:
        _index(node, (), lines, duplicates, set())
    return data, lines, duplicates


def _load(text: str) -> tuple[yaml.Node | None, Any]:
    """The document's node tree (for positions) and its data, from a single parse."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        return node, loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()


def _index(
    node: yaml.Node, path: _Path, lines: dict[_Path, int], duplicates: list[_Problem], seen: set[int]
) -> None:
    if id(node) in seen:  # an alias: already indexed where its anchor is (and YAML may alias in cycles)
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue
            at, line = (*path, key.value), key.start_mark.line + 1
            if key.value in first:
                duplicates.append((line, f"{_dotted(at)}: duplicate key (first at line {first[key.value]})"))
            first.setdefault(key.value, line)
            lines[at] = line
            _index(value, at, lines, duplicates, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*path, str(i))] = item.start_mark.line + 1
            _index(item, (*path, str(i)), lines, duplicates, seen)


def _declared_roles(data: dict[Any, Any]) -> dict[str, bool] | None:
    """Role name -> grants everyone, read before validation so references can be checked in the
    same pass (one message with every problem). None when `roles` is not a mapping at all."""
    roles = data.get("roles")
    if not isinstance(roles, dict):
        return None
    return {str(name): isinstance(grant, dict) and grant.get("everyone") is True for name, grant in roles.items()}


def _describe(err: ErrorDetails, lines: dict[_Path, int]) -> _Problem:
    # "[key]" marks an error in a mapping key itself; the key is the element before it.
    path = tuple(str(part) for part in err["loc"] if part != "[key]")
    if err["type"] == "extra_forbidden":
        message = "unknown key"
    elif err["type"] == "missing":
        message = "required, but missing"
    else:
        message = err["msg"]
    # A missing key has no line of its own: use the nearest enclosing one that has.
    line = next((lines[path[:n]] for n in range(len(path), 0, -1) if path[:n] in lines), None)
    return line, f"{_dotted(path) or 'top level'}: {message}"


def _dotted(path: _Path) -> str:
    return "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in path).lstrip(".")

