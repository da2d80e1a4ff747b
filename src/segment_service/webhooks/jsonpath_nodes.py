"""The predicate tree of a compiled webhook filter (webhooks/jsonpath.py) and how it holds on a payload.

Jayway's semantics (docs/webhooks.md#filters): a path that leads nowhere makes a comparison false, values of different
JSON types are never equal or ordered (an integer and a decimal are both numbers; a boolean is no number), `<` and `>`
order numbers by value and strings lexicographically. Nothing here raises on any JSON value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from segment_service.webhooks.filter_regex import RegexCost

MAX_COMPARED_DEPTH = 64  # deeper values compare as different, so that equality cannot exhaust the stack
MISSING: Any = object()  # the value of a path that leads nowhere


@dataclass(frozen=True, slots=True)
class Path:
    from_root: bool  # `$` (the whole payload) rather than `@` (the value being tested)
    steps: tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any


@dataclass(frozen=True, slots=True)
class Regex:
    pattern: re.Pattern[str]
    cost: RegexCost


Operand = Path | Literal | Regex


@dataclass(frozen=True, slots=True)
class Exists:
    """A bare path: it leads to a value other than null."""

    path: Path


@dataclass(frozen=True, slots=True)
class Compare:
    left: Path | Literal
    operator: str
    right: Operand


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class Logical:
    operator: str  # "&&" or "||"
    operands: tuple[Node, ...]


Node = Exists | Compare | Not | Logical


def holds(node: Node, current: Any, root: Any) -> bool:
    """Whether `node` holds for `current` (`@`) within the payload `root` (`$`)."""
    if isinstance(node, Logical):
        if node.operator == "&&":
            return all(holds(operand, current, root) for operand in node.operands)
        return any(holds(operand, current, root) for operand in node.operands)
    if isinstance(node, Not):
        return not holds(node.operand, current, root)
    if isinstance(node, Exists):
        value = _resolve(node.path, current, root)
        return value is not MISSING and value is not None
    left = _value(node.left, current, root)
    if left is MISSING:
        return False
    if isinstance(node.right, Regex):
        regex = node.right
        return isinstance(left, str) and regex.cost.allows(len(left)) and regex.pattern.fullmatch(left) is not None
    right = _value(node.right, current, root)
    if right is MISSING:
        return False
    return _compare(left, node.operator, right)


def _compare(left: Any, operator: str, right: Any) -> bool:
    if operator == "==":
        return _same(left, right, 0)
    if operator == "!=":
        return not _same(left, right, 0)
    if operator in ("<", "<=", ">", ">="):
        return _ordered(left, operator, right)
    if operator in ("in", "nin"):
        if not isinstance(right, list):
            return False
        found = any(_same(left, item, 0) for item in right)
        return found if operator == "in" else not found
    if operator == "size":
        return isinstance(left, str | list) and _is_number(right) and len(left) == right
    if operator == "empty":
        return isinstance(left, str | list | dict) and isinstance(right, bool) and (len(left) == 0) == right
    if not (isinstance(left, list) and isinstance(right, list)):
        return False
    shared = [any(_same(item, other, 0) for other in right) for item in left]
    if operator == "subsetof":
        return all(shared)
    if operator == "anyof":
        return any(shared)
    return not any(shared)  # noneof


def _ordered(left: Any, operator: str, right: Any) -> bool:
    if not ((_is_number(left) and _is_number(right)) or (isinstance(left, str) and isinstance(right, str))):
        return False
    if operator == "<":
        return bool(left < right)
    if operator == "<=":
        return bool(left <= right)
    if operator == ">":
        return bool(left > right)
    return bool(left >= right)


def _same(left: Any, right: Any, depth: int) -> bool:
    if depth > MAX_COMPARED_DEPTH:
        return False
    if _is_number(left) or _is_number(right):
        return _is_number(left) and _is_number(right) and bool(left == right)
    if isinstance(left, list):
        return (
            isinstance(right, list)
            and len(left) == len(right)
            and all(_same(a, b, depth + 1) for a, b in zip(left, right, strict=True))
        )
    if isinstance(left, dict):
        return (
            isinstance(right, dict)
            and left.keys() == right.keys()
            and all(_same(value, right[key], depth + 1) for key, value in left.items())
        )
    if isinstance(left, bool | str) or left is None:
        return type(left) is type(right) and left == right
    return False


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _value(operand: Path | Literal, current: Any, root: Any) -> Any:
    return operand.value if isinstance(operand, Literal) else _resolve(operand, current, root)


def _resolve(path: Path, current: Any, root: Any) -> Any:
    value = root if path.from_root else current
    for step in path.steps:
        if isinstance(step, str):
            if not isinstance(value, dict) or step not in value:
                return MISSING
            value = value[step]
        else:
            if not isinstance(value, list) or not -len(value) <= step < len(value):
                return MISSING
            value = value[step]
    return value
