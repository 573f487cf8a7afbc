"""Okta's SCIM-style filter expressions: `profile.login eq "a@b.c" and (status eq "ACTIVE" or created gt "...")`.

One parser serves the users `search` and `filter` parameters, groups search/filter and the System Log
`filter`; each caller says which attributes and operators it accepts and whether values compare
case-insensitively (search) or exactly (filter).

Grammar (operators and keywords are case-insensitive, attribute names are not):
    expr       := and_expr ("or" and_expr)*
    and_expr   := unary ("and" unary)*
    unary      := "not" unary | "(" expr ")" | comparison
    comparison := ATTRIBUTE "pr" | ATTRIBUTE OP VALUE
    VALUE      := "double-quoted string with \\" and \\\\ escapes" | true | false | null | number
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from oktasim._clock import parse_iso

OPERATORS = frozenset({"eq", "ne", "sw", "ew", "co", "pr", "gt", "ge", "lt", "le"})
_ATTRIBUTE = re.compile(r"[A-Za-z_][\w.:-]*\Z")
_NUMBER = re.compile(r"-?\d+(\.\d+)?\Z")
_LITERALS: dict[str, bool | None] = {"true": True, "false": False, "null": None}

Value = str | bool | float | None
Resolver = Callable[[str], Sequence[Any]]  # attribute path -> the values found there (empty when absent)


class SearchSyntaxError(ValueError):
    """The expression does not parse; the message says where."""


@dataclass(frozen=True)
class Comparison:
    attribute: str
    op: str
    value: Value = None


@dataclass(frozen=True)
class Logical:
    op: str  # "and" | "or"
    left: Expression
    right: Expression


@dataclass(frozen=True)
class Not:
    operand: Expression


Expression = Comparison | Logical | Not


@dataclass(frozen=True)
class _Token:
    kind: str  # "(" | ")" | "word" | "string"
    text: str
    position: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(_Token(char, char, i))
            i += 1
        elif char == '"':
            start, i, chars = i, i + 1, []
            while True:
                if i >= len(text):
                    raise SearchSyntaxError(f"unterminated string starting at position {start}")
                if text[i] == "\\" and i + 1 < len(text):
                    chars.append(text[i + 1])  # \" and \\ (and any other escaped character) stand for themselves
                    i += 2
                elif text[i] == '"':
                    i += 1
                    break
                else:
                    chars.append(text[i])
                    i += 1
            tokens.append(_Token("string", "".join(chars), start))
        else:
            start = i
            while i < len(text) and not text[i].isspace() and text[i] not in '()"':
                i += 1
            tokens.append(_Token("word", text[start:i], start))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self._tokens = _tokenize(text)
        self._i = 0

    def parse(self) -> Expression:
        if not self._tokens:
            raise SearchSyntaxError("empty expression")
        expr = self._or()
        if self._i < len(self._tokens):
            token = self._tokens[self._i]
            raise SearchSyntaxError(f"unexpected {token.text!r} at position {token.position}")
        return expr

    def _peek_keyword(self, keyword: str) -> bool:
        if self._i < len(self._tokens):
            token = self._tokens[self._i]
            return token.kind == "word" and token.text.lower() == keyword
        return False

    def _next(self, what: str) -> _Token:
        if self._i >= len(self._tokens):
            raise SearchSyntaxError(f"expected {what} at the end of the expression")
        token = self._tokens[self._i]
        self._i += 1
        return token

    def _or(self) -> Expression:
        return self._chain("or", self._and)

    def _and(self) -> Expression:
        return self._chain("and", self._unary)

    def _chain(self, keyword: str, operand: Callable[[], Expression]) -> Expression:
        left = operand()
        while self._peek_keyword(keyword):
            self._i += 1
            left = Logical(keyword, left, operand())
        return left

    def _unary(self) -> Expression:
        if self._peek_keyword("not"):
            self._i += 1
            return Not(self._unary())
        token = self._next("an attribute or '('")
        if token.kind == "(":
            inner = self._or()
            closing = self._next("')'")
            if closing.kind != ")":
                raise SearchSyntaxError(f"expected ')' at position {closing.position}")
            return inner
        if token.kind != "word" or not _ATTRIBUTE.match(token.text):
            raise SearchSyntaxError(f"expected an attribute at position {token.position}, found {token.text!r}")
        op_token = self._next("an operator")
        op = op_token.text.lower()
        if op_token.kind != "word" or op not in OPERATORS:
            raise SearchSyntaxError(
                f"unrecognized operator {op_token.text!r} at position {op_token.position}; "
                f"expected one of {','.join(sorted(OPERATORS))}"
            )
        if op == "pr":
            return Comparison(token.text, op)
        return Comparison(token.text, op, self._value())

    def _value(self) -> Value:
        token = self._next("a value")
        if token.kind == "string":
            return token.text
        if token.kind == "word" and token.text.lower() in _LITERALS:
            return _LITERALS[token.text.lower()]
        if token.kind == "word" and _NUMBER.match(token.text):
            return float(token.text)
        raise SearchSyntaxError(f"expected a quoted value at position {token.position}, found {token.text!r}")


def parse(text: str) -> Expression:
    return _Parser(text).parse()


def compile_expression(
    text: str, allowed: Callable[[Comparison], bool] = lambda _c: True, *, allow_not: bool = True
) -> Expression:
    """Parses `text` and checks it uses only what the endpoint supports (raises SearchSyntaxError)."""
    expr = parse(text)
    for comparison in comparisons(expr):
        if not allowed(comparison):
            raise SearchSyntaxError(
                f"the combination of operator and field is not supported: {comparison.attribute} {comparison.op}"
            )
    if not allow_not and _negates(expr):
        raise SearchSyntaxError("the not operator is not supported")
    return expr


def _negates(expr: Expression) -> bool:
    if isinstance(expr, Not):
        return True
    return isinstance(expr, Logical) and (_negates(expr.left) or _negates(expr.right))


def comparisons(expr: Expression) -> Iterator[Comparison]:
    if isinstance(expr, Comparison):
        yield expr
    elif isinstance(expr, Logical):
        yield from comparisons(expr.left)
        yield from comparisons(expr.right)
    else:
        yield from comparisons(expr.operand)


def evaluate(expr: Expression, resolve: Resolver, *, case_sensitive: bool) -> bool:
    if isinstance(expr, Logical):
        left = evaluate(expr.left, resolve, case_sensitive=case_sensitive)
        if expr.op == "and":
            return left and evaluate(expr.right, resolve, case_sensitive=case_sensitive)
        return left or evaluate(expr.right, resolve, case_sensitive=case_sensitive)
    if isinstance(expr, Not):
        return not evaluate(expr.operand, resolve, case_sensitive=case_sensitive)
    candidates = [value for value in resolve(expr.attribute) if value is not None and value != ""]
    if expr.op == "pr":
        return bool(candidates)
    if expr.value is None:  # `attr eq null` holds when the attribute is absent, `ne null` when present
        return {"eq": not candidates, "ne": bool(candidates)}.get(expr.op, False)
    if expr.op == "ne":
        return not any(_compare(c, "eq", expr.value, case_sensitive) for c in candidates)
    # Arrays (a log event's targets, multi-valued attributes) match when any element matches (SCIM).
    return any(_compare(c, expr.op, expr.value, case_sensitive) for c in candidates)


def _compare(candidate: Any, op: str, value: str | bool | float, case_sensitive: bool) -> bool:
    if isinstance(value, bool) or isinstance(candidate, bool):
        return op == "eq" and str(candidate).lower() == str(value).lower()
    if isinstance(value, float):
        try:
            number = float(candidate)
        except (TypeError, ValueError):
            return False
        return _order(number, op, value)
    text = str(candidate)
    if op in ("gt", "ge", "lt", "le"):
        moments = _as_datetimes(text, value)
        if moments is not None:
            return _order(moments[0], op, moments[1])
    if not case_sensitive:
        text, value = text.casefold(), value.casefold()
    if op == "eq":
        return text == value
    if op == "sw":
        return text.startswith(value)
    if op == "ew":
        return text.endswith(value)
    if op == "co":
        return value in text
    return _order(text, op, value)


def _as_datetimes(left: str, right: str) -> tuple[datetime, datetime] | None:
    try:
        return parse_iso(left), parse_iso(right)
    except ValueError:
        return None


def _order(left: Any, op: str, right: Any) -> bool:
    if op == "eq":
        return bool(left == right)
    if op == "gt":
        return bool(left > right)
    if op == "ge":
        return bool(left >= right)
    if op == "lt":
        return bool(left < right)
    if op == "le":
        return bool(left <= right)
    return False


def matches(expr: Expression, document: Any, *, case_sensitive: bool) -> bool:
    """Whether JSON-like `document` satisfies `expr`."""
    return evaluate(expr, lambda path: resolve_path(document, path), case_sensitive=case_sensitive)


def resolve_path(document: Any, path: str) -> list[Any]:
    """Values at a dotted path in JSON-like data; lists along the way fan out (target.id -> every target's id)."""
    current: list[Any] = [document]
    for part in path.split("."):
        found: list[Any] = []
        for node in current:
            items = node if isinstance(node, list) else [node]
            found.extend(item[part] for item in items if isinstance(item, dict) and part in item)
        current = found
    return [leaf for value in current for leaf in (value if isinstance(value, list) else [value])]
