"""Okta `search` (and System Log `filter`) expressions, built so that input can only ever be a value.

    from oktaclient import search
    expr = search.eq("profile.email", typed_by_someone) & search.eq("status", "ACTIVE")
    str(expr)  # 'profile.email eq "..." and status eq "ACTIVE"'

Attributes must match a strict pattern and operators come from a fixed set, so only code chooses
them; values are always double-quoted with `\\` and `"` backslash-escaped, so no value can end its
string and add a clause. `parse` reads an expression back (e.g. one kept in configuration) and
accepts only what this module could have built.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "OPERATORS",
    "And",
    "Condition",
    "Expression",
    "Or",
    "SearchSyntaxError",
    "and_",
    "co",
    "condition",
    "eq",
    "ge",
    "gt",
    "le",
    "lt",
    "or_",
    "parse",
    "pr",
    "quote",
    "sw",
    "unquote",
]

OPERATORS = frozenset({"eq", "sw", "co", "gt", "ge", "lt", "le", "pr"})
_ATTRIBUTE = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*")


class SearchSyntaxError(ValueError):
    """An attribute, operator or expression this module does not accept."""


class Expression:
    """A search expression; `a & b`, `a | b` combine, `str(expr)` is what Okta gets."""

    def __and__(self, other: Expression) -> Expression:
        return and_(self, other)

    def __or__(self, other: Expression) -> Expression:
        return or_(self, other)


@dataclass(frozen=True)
class Condition(Expression):
    attribute: str
    operator: str
    value: str | None = None

    def __post_init__(self) -> None:
        if not _ATTRIBUTE.fullmatch(self.attribute):
            raise SearchSyntaxError(f"not an attribute name: {self.attribute!r}")
        if self.operator not in OPERATORS:
            raise SearchSyntaxError(f"not a search operator: {self.operator!r}")
        if (self.operator == "pr") != (self.value is None):
            raise SearchSyntaxError("`pr` takes no value; every other operator takes one")

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.attribute} pr"
        return f"{self.attribute} {self.operator} {quote(self.value)}"


@dataclass(frozen=True)
class _Junction(Expression):
    parts: tuple[Expression, ...]
    keyword = ""

    def __post_init__(self) -> None:
        # One normal form, so that equal expressions compare equal: a and (b and c) is a and b and c.
        flat: list[Expression] = []
        for part in self.parts:
            flat.extend(part.parts if type(part) is type(self) else (part,))
        if len(flat) < 2:
            raise SearchSyntaxError(f"`{self.keyword}` needs two or more expressions")
        object.__setattr__(self, "parts", tuple(flat))

    def __str__(self) -> str:
        return f" {self.keyword} ".join(f"({p})" if isinstance(p, _Junction) else str(p) for p in self.parts)


class And(_Junction):
    keyword = "and"


class Or(_Junction):
    keyword = "or"


def quote(value: str) -> str:
    """`value` as a search string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unquote(literal: str) -> str:
    """The value of a string literal made by `quote`."""
    if len(literal) < 2 or literal[0] != '"' or literal[-1] != '"':
        raise SearchSyntaxError("a value must be a double-quoted string")
    out: list[str] = []
    chars = iter(literal[1:-1])
    for char in chars:
        if char == '"':
            raise SearchSyntaxError('unescaped `"` inside a value')
        if char == "\\":
            char = next(chars, "")
            if char not in ('"', "\\"):
                raise SearchSyntaxError('only `\\"` and `\\\\` are escapes in a value')
        out.append(char)
    return "".join(out)


def condition(attribute: str, operator: str, value: str | None = None) -> Condition:
    return Condition(attribute, operator, value)


def _comparison(operator: str) -> Callable[[str, str], Condition]:
    def build(attribute: str, value: str) -> Condition:
        return Condition(attribute, operator, value)

    build.__name__ = build.__qualname__ = operator
    build.__doc__ = f'`attribute {operator} "value"`'
    return build


eq, sw, co, gt, ge, lt, le = (_comparison(op) for op in ("eq", "sw", "co", "gt", "ge", "lt", "le"))


def pr(attribute: str) -> Condition:
    """The attribute has a value."""
    return Condition(attribute, "pr")


def and_(*parts: Expression) -> Expression:
    return parts[0] if len(parts) == 1 else And(parts)


def or_(*parts: Expression) -> Expression:
    return parts[0] if len(parts) == 1 else Or(parts)


_TOKEN = re.compile(r'\s*(?:(?P<paren>[()])|(?P<string>"(?:[^"\\]|\\.)*")|(?P<word>[^\s()"]+))', re.DOTALL)


def parse(text: str) -> Expression:
    """The expression `text` denotes; SearchSyntaxError for anything `str(expression)` cannot produce.

    Grammar (and binds tighter than or): expr := term ("or" term)*; term := factor ("and" factor)*;
    factor := "(" expr ")" | attribute operator [string].
    """
    tokens: list[str] = []
    pos = 0
    while pos < len(text.rstrip()):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise SearchSyntaxError(f"unexpected text at offset {pos}")
        tokens.append(match.group(match.lastgroup or "word"))
        pos = match.end()
    parser = _Parser(tokens)
    expression = parser.expression()
    if parser.peek() is not None:
        raise SearchSyntaxError(f"unexpected {parser.peek()!r}")
    return expression


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self._tokens = tokens
        self._pos = 0

    def peek(self) -> str | None:
        return self._tokens[self._pos] if self._pos < len(self._tokens) else None

    def _next(self, expected: str) -> str:
        token = self.peek()
        if token is None:
            raise SearchSyntaxError(f"expected {expected}, found the end")
        self._pos += 1
        return token

    def expression(self) -> Expression:
        return self._chain("or", self._term, or_)

    def _term(self) -> Expression:
        return self._chain("and", self._factor, and_)

    def _chain(
        self, keyword: str, operand: Callable[[], Expression], combine: Callable[..., Expression]
    ) -> Expression:
        parts = [operand()]
        while self.peek() == keyword:
            self._pos += 1
            parts.append(operand())
        return combine(*parts)

    def _factor(self) -> Expression:
        token = self._next("an attribute or `(`")
        if token == "(":
            inner = self.expression()
            if self._next("`)`") != ")":
                raise SearchSyntaxError("expected `)`")
            return inner
        operator = self._next("an operator")
        if operator == "pr":
            return Condition(token, operator)
        return Condition(token, operator, unquote(self._next("a value")))
