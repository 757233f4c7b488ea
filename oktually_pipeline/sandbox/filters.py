"""Okta's filter/search expression language, as far as the list endpoints we read use it.

`lastUpdated gt "2026-01-01T00:00:00.000Z" and (status eq "ACTIVE" or status eq "DEPROVISIONED")`
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

_TOKEN = re.compile(r'\s*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|([A-Za-z_][A-Za-z0-9_.]*))')
_OPS = {"eq", "ne", "gt", "ge", "lt", "le", "sw", "co", "pr"}

Predicate = Callable[[dict[str, Any]], bool]


class FilterError(ValueError):
    """An expression Okta would refuse (400 E0000031)."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise FilterError(f"cannot parse filter near {text[pos:pos + 20]!r}")
        pos = m.end()
        if m.group(1):
            out.append(("(", "("))
        elif m.group(2):
            out.append((")", ")"))
        elif m.group(3) is not None:
            out.append(("str", m.group(3).replace('\\"', '"')))
        else:
            out.append(("word", m.group(4)))
    return out


def _value(obj: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _compare(actual: Any, op: str, expected: str) -> bool:
    if op == "pr":
        return actual is not None
    if actual is None:
        return False
    if isinstance(actual, str) and op in {"gt", "ge", "lt", "le"}:
        try:
            a, e = datetime.fromisoformat(actual), datetime.fromisoformat(expected)
        except ValueError:
            a, e = actual, expected  # type: ignore[assignment]
    else:
        a, e = str(actual), expected  # type: ignore[assignment]
    return {
        "eq": lambda: a == e, "ne": lambda: a != e, "gt": lambda: a > e, "ge": lambda: a >= e,
        "lt": lambda: a < e, "le": lambda: a <= e,
        "sw": lambda: str(a).lower().startswith(str(e).lower()),
        "co": lambda: str(e).lower() in str(a).lower(),
    }[op]()


def parse_filter(text: str, allowed: set[str] | None = None) -> Predicate:
    """Compile an expression to a predicate over Okta objects; `allowed` limits attribute names."""
    tokens = _tokens(text)
    pos = 0

    def peek() -> tuple[str, str] | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal pos
        if pos >= len(tokens):
            raise FilterError("filter ends too early")
        pos += 1
        return tokens[pos - 1]

    def primary() -> Predicate:
        kind, value = take()
        if kind == "(":
            inner = disjunction()
            if take()[0] != ")":
                raise FilterError("unbalanced parentheses in filter")
            return inner
        if kind != "word":
            raise FilterError(f"expected an attribute, got {value!r}")
        if allowed is not None and value not in allowed:
            raise FilterError(f"attribute {value!r} cannot be filtered on")
        op_kind, op = take()
        if op_kind != "word" or op not in _OPS:
            raise FilterError(f"unsupported operator {op!r}")
        if op == "pr":
            return lambda o, a=value: _compare(_value(o, a), "pr", "")
        lit_kind, literal = take()
        if lit_kind not in {"str", "word"}:
            raise FilterError("expected a value after the operator")
        return lambda o, a=value, op=op, e=literal: _compare(_value(o, a), op, e)

    def conjunction() -> Predicate:
        parts = [primary()]
        while (tok := peek()) and tok == ("word", "and"):
            take()
            parts.append(primary())
        return parts[0] if len(parts) == 1 else (lambda o: all(p(o) for p in parts))

    def disjunction() -> Predicate:
        parts = [conjunction()]
        while (tok := peek()) and tok == ("word", "or"):
            take()
            parts.append(conjunction())
        return parts[0] if len(parts) == 1 else (lambda o: any(p(o) for p in parts))

    predicate = disjunction()
    if pos != len(tokens):
        raise FilterError(f"unexpected {tokens[pos][1]!r} in filter")
    return predicate
