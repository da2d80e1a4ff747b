"""The `filter` of an `eventsConfiguration` entry: a JsonPath predicate over the event payload, in the Jayway syntax
Emporix documents (`$[?(@.status == 'DECLINED')]`, `$[?(@.total.amount > 100)]`). docs/webhooks.md#filters lists
what is supported; anything else is refused when the filter is configured, with the offset of the problem.

Evaluating never raises: a path that is missing, or values of different types, make a comparison false.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MAX_LENGTH = 1000
MAX_DEPTH = 32
MAX_REGEX_LENGTH = 200

_MISSING = object()

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<regex>/(?:[^/\\]|\\.)*/i?)
  | (?P<op>==|!=|<=|>=|=~|&&|\|\||[<>!()\[\],.?@$])
  | (?P<word>[A-Za-z_][A-Za-z0-9_\-]*)
    """,
    re.VERBOSE,
)
_WORD_OPERATORS = frozenset({"in", "nin", "subsetof", "anyof", "noneof", "size", "empty"})
_SYMBOL_OPERATORS = frozenset({"==", "!=", "<", "<=", ">", ">=", "=~"})


class JsonPathError(ValueError):
    """A filter that is not a supported JsonPath predicate; the message says what and where."""


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    at: int


@dataclass(frozen=True, slots=True)
class _Path:
    steps: tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class _Literal:
    value: Any


@dataclass(frozen=True, slots=True)
class _Regex:
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class _Compare:
    left: Any
    op: str
    right: Any


@dataclass(frozen=True, slots=True)
class _Exists:
    path: _Path


@dataclass(frozen=True, slots=True)
class _Not:
    inner: Any


@dataclass(frozen=True, slots=True)
class _Bool:
    op: str
    parts: tuple[Any, ...]


def _tokens(expression: str) -> list[_Token]:
    tokens = []
    at = 0
    while at < len(expression):
        match = _TOKEN.match(expression, at)
        if match is None:
            raise JsonPathError(f"unexpected character {expression[at]!r} at offset {at}")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group(), at))
        at = match.end()
    tokens.append(_Token("end", "", len(expression)))
    return tokens


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m.group(1), m.group(1)), body)


def _has_nested_repeat(pattern: str) -> bool:
    """Whether a repetition contains another unbounded one (`(a+)+`): the patterns that backtrack exponentially."""
    from re import _parser

    def walk(items: Any, inside: bool) -> bool:
        for op, arg in items:
            name = str(op)
            if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                _low, high, sub = arg
                unbounded = high == _parser.MAXREPEAT or high > 100
                if inside and unbounded:
                    return True
                if walk(sub, inside or unbounded):
                    return True
            elif name == "SUBPATTERN":
                if walk(arg[-1], inside):
                    return True
            elif name == "BRANCH" and any(walk(branch, inside) for branch in arg[1]):
                return True
        return False

    return walk(_parser.parse(pattern), False)


class _Parser:
    def __init__(self, expression: str) -> None:
        self.tokens = _tokens(expression)
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def take(self, text: str | None = None, kind: str | None = None) -> _Token:
        token = self.current
        if (text is not None and token.text != text) or (kind is not None and token.kind != kind):
            wanted = repr(text) if text is not None else kind
            found = repr(token.text) if token.text else "the end"
            raise JsonPathError(f"expected {wanted} at offset {token.at}, found {found}")
        self.index += 1
        return token

    def at(self, text: str) -> bool:
        return self.current.text == text and self.current.kind in ("op", "word")

    def filter(self) -> Any:
        for part in ("$", "[", "?", "("):
            if not self.at(part):
                raise JsonPathError(
                    "a filter must be a JsonPath predicate of the form $[?(<condition>)], e.g. $[?(@.status == 'NEW')]"
                )
            self.take(part)
        expr = self.expr()
        self.take(")")
        self.take("]")
        self.take(kind="end")
        return expr

    def expr(self) -> Any:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise JsonPathError(f"the filter nests deeper than {MAX_DEPTH} levels (offset {self.current.at})")
        parts = [self.conjunction()]
        while self.at("||"):
            self.take("||")
            parts.append(self.conjunction())
        self.depth -= 1
        return parts[0] if len(parts) == 1 else _Bool("||", tuple(parts))

    def conjunction(self) -> Any:
        parts = [self.unary()]
        while self.at("&&"):
            self.take("&&")
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else _Bool("&&", tuple(parts))

    def unary(self) -> Any:
        if self.at("!"):
            self.take("!")
            return _Not(self.unary())
        if self.at("("):
            self.take("(")
            inner = self.expr()
            self.take(")")
            return inner
        return self.comparison()

    def comparison(self) -> Any:
        left = self.operand()
        token = self.current
        if (token.kind == "op" and token.text in _SYMBOL_OPERATORS) or (
            token.kind == "word" and token.text in _WORD_OPERATORS
        ):
            self.index += 1
            right = self.operand()
            if token.text == "=~" and not isinstance(right, _Regex):
                raise JsonPathError(f"=~ needs a regular expression /.../ at offset {self.tokens[self.index - 1].at}")
            if isinstance(right, _Regex) and token.text != "=~":
                raise JsonPathError(f"a regular expression can only follow =~ (offset {token.at})")
            return _Compare(left, token.text, right)
        if not isinstance(left, _Path):
            raise JsonPathError(f"expected a comparison operator at offset {token.at}")
        return _Exists(left)

    def operand(self) -> Any:
        token = self.current
        if token.kind == "op" and token.text in ("@", "$"):
            return self.path()
        if token.kind == "string":
            self.index += 1
            return _Literal(_unquote(token.text))
        if token.kind == "number":
            self.index += 1
            number = float(token.text) if any(c in token.text for c in ".eE") else int(token.text)
            return _Literal(number)
        if token.kind == "word" and token.text in ("true", "false", "null"):
            self.index += 1
            return _Literal({"true": True, "false": False, "null": None}[token.text])
        if token.kind == "regex":
            self.index += 1
            return self.regex(token)
        if token.kind == "op" and token.text == "[":
            return self.list_literal()
        found = repr(token.text) if token.text else "the end"
        raise JsonPathError(f"expected a path (@.field), a value or a list at offset {token.at}, found {found}")

    def regex(self, token: _Token) -> _Regex:
        text = token.text
        flags = re.IGNORECASE if text.endswith("i") else 0
        source = text[1 : text.rindex("/")].replace("\\/", "/")
        if len(source) > MAX_REGEX_LENGTH:
            raise JsonPathError(f"the regular expression at offset {token.at} is longer than {MAX_REGEX_LENGTH}")
        try:
            if _has_nested_repeat(source):
                raise JsonPathError(
                    f"the regular expression at offset {token.at} repeats a repetition (like (a+)+), which can take "
                    "exponential time; write it without the nesting"
                )
            return _Regex(re.compile(source, flags))
        except re.error as exc:
            raise JsonPathError(f"invalid regular expression at offset {token.at}: {exc}") from None

    def list_literal(self) -> _Literal:
        self.take("[")
        values = []
        while not self.at("]"):
            item = self.operand()
            if not isinstance(item, _Literal):
                raise JsonPathError(f"a list holds values only (offset {self.current.at})")
            values.append(item.value)
            if not self.at("]"):
                self.take(",")
        self.take("]")
        return _Literal(values)

    def path(self) -> _Path:
        self.index += 1  # @ or $
        steps: list[str | int] = []
        while True:
            if self.at("."):
                self.take(".")
                token = self.current
                if token.kind not in ("word", "number") or (token.kind == "number" and not token.text.isdigit()):
                    raise JsonPathError(f"expected a field name at offset {token.at}")
                self.index += 1
                steps.append(token.text)
            elif self.at("[") and self.tokens[self.index + 1].kind in ("string", "number"):
                self.take("[")
                token = self.current
                self.index += 1
                if token.kind == "string":
                    steps.append(_unquote(token.text))
                elif re.fullmatch(r"-?\d+", token.text):
                    steps.append(int(token.text))
                else:
                    raise JsonPathError(f"an index must be a whole number (offset {token.at})")
                self.take("]")
            else:
                return _Path(tuple(steps))


def _resolve(path: _Path, payload: Any) -> Any:
    value = payload
    for step in path.steps:
        if isinstance(step, int):
            if not isinstance(value, list) or not -len(value) <= step < len(value):
                return _MISSING
            value = value[step]
        elif isinstance(value, dict) and step in value:
            value = value[step]
        else:
            return _MISSING
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(left: Any, right: Any) -> bool:
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    return type(left) is type(right) and bool(left == right)


def _compare(node: _Compare, payload: Any) -> bool:
    left = _resolve(node.left, payload) if isinstance(node.left, _Path) else node.left.value
    if left is _MISSING:
        return False
    if isinstance(node.right, _Regex):
        return isinstance(left, str) and node.right.pattern.fullmatch(left) is not None
    right = _resolve(node.right, payload) if isinstance(node.right, _Path) else node.right.value
    if right is _MISSING:
        return False
    op = node.op
    if op == "==":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    if op in ("<", "<=", ">", ">="):
        if not ((_is_number(left) and _is_number(right)) or (isinstance(left, str) and isinstance(right, str))):
            return False
        return bool({"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op])
    if op in ("in", "nin"):
        if not isinstance(right, list):
            return False
        found = any(_equal(left, item) for item in right)
        return found if op == "in" else not found
    if op in ("subsetof", "anyof", "noneof"):
        if not isinstance(left, list) or not isinstance(right, list):
            return False
        hits = [any(_equal(item, other) for other in right) for item in left]
        return {"subsetof": all(hits), "anyof": any(hits), "noneof": not any(hits)}[op]
    if op == "size":
        return isinstance(left, list | str | dict) and _is_number(right) and len(left) == right
    if op == "empty":
        return isinstance(left, list | str | dict) and isinstance(right, bool) and (len(left) == 0) == right
    return False


def _evaluate(node: Any, payload: Any) -> bool:
    if isinstance(node, _Bool):
        results = (_evaluate(part, payload) for part in node.parts)
        return all(results) if node.op == "&&" else any(results)
    if isinstance(node, _Not):
        return not _evaluate(node.inner, payload)
    if isinstance(node, _Exists):
        value = _resolve(node.path, payload)
        return value is not _MISSING and value is not None
    return _compare(node, payload)


@dataclass(frozen=True, slots=True)
class JsonPathFilter:
    """A compiled filter; `matches(payload)` says whether an event goes to the entry."""

    expression: str
    _root: Any

    def matches(self, payload: Any) -> bool:
        try:
            return _evaluate(self._root, payload)
        except (RecursionError, TypeError, ValueError):
            return False


def compile_filter(expression: str) -> JsonPathFilter:
    """Parse a filter; JsonPathError says what is wrong and where."""
    if len(expression) > MAX_LENGTH:
        raise JsonPathError(f"the filter is longer than {MAX_LENGTH} characters")
    return JsonPathFilter(expression, _Parser(expression.strip()).filter())
