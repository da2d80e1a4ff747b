"""Webhook filters: a Jayway JsonPath predicate over an event's payload (docs/webhooks.md#filters).

A filter is `$[?(<predicate>)]`; it matches a payload when Jayway would select it (an object is selected by the
predicate itself, a list when one of its elements is). Parsing is a small recursive descent that records where each
problem is; matching never raises: a missing path, a value of another type or a regex over its bound is no match.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from segment_service.webhooks.filter_regex import RegexRefused, regex_cost
from segment_service.webhooks.jsonpath_nodes import Compare, Exists, Literal, Logical, Node, Not, Path, Regex, holds

MAX_FILTER_LENGTH = 1_000
MAX_FILTER_DEPTH = 32

_PREFIX = re.compile(r"\s*\$\s*\[\s*\?\s*\(")
_SUFFIX = re.compile(r"\)\s*\]\s*\Z")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[^\s.\[\]()=!<>&|'\",~@$]+")
_INDEX = re.compile(r"-?[0-9]+")
_WORD = re.compile(r"[a-z]+")
_COMPARISONS = ("==", "!=", "<=", ">=", "<", ">", "=~")
_WORD_OPERATORS = frozenset({"in", "nin", "subsetof", "anyof", "noneof", "size", "empty"})
_ESCAPES = {"'": "'", '"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class JsonPathError(ValueError):
    """A filter that is not a supported JsonPath predicate; `offset` is the character where the problem is."""

    def __init__(self, offset: int, detail: str) -> None:
        super().__init__(f"Invalid filter at position {offset + 1}: {detail}.")
        self.offset = offset
        self.detail = detail


class JsonPathFilter:
    """A compiled filter; `matches` tells whether an event's payload passes it."""

    __slots__ = ("_predicate", "expression")

    def __init__(self, expression: str, predicate: Node) -> None:
        self.expression = expression
        self._predicate = predicate

    def __repr__(self) -> str:
        return f"JsonPathFilter({self.expression!r})"

    def matches(self, payload: Any) -> bool:
        if isinstance(payload, list):
            return any(holds(self._predicate, item, payload) for item in payload)
        return holds(self._predicate, payload, payload)


def compile_filter(expression: str) -> JsonPathFilter:
    """`expression` (`$[?(@.status == 'DECLINED')]`) compiled; JsonPathError saying what is wrong and where."""
    if len(expression) > MAX_FILTER_LENGTH:
        raise JsonPathError(MAX_FILTER_LENGTH, f"a filter may be at most {MAX_FILTER_LENGTH:,} characters long")
    prefix = _PREFIX.match(expression)
    suffix = _SUFFIX.search(expression)
    if not prefix or not suffix or suffix.start() < prefix.end():
        offset = 0 if not prefix else len(expression.rstrip())
        raise JsonPathError(offset, "a filter must be a predicate of the form $[?(...)], e.g. $[?(@.status == 'NEW')]")
    parser = _Parser(expression, prefix.end(), suffix.start())
    return JsonPathFilter(expression, parser.parse())


class _Parser:
    """Recursive descent over `text[pos:end]`, the predicate between `$[?(` and `)]`."""

    def __init__(self, text: str, start: int, end: int) -> None:
        self.text, self.pos, self.end, self.depth = text, start, end, 0

    def parse(self) -> Node:
        if not self.text[self.pos : self.end].strip():
            raise JsonPathError(self.pos, "the predicate between $[?( and )] is empty")
        node = self._or()
        self._skip()
        if self.pos < self.end:
            raise JsonPathError(self.pos, f"unexpected {self._show()}; expected &&, || or the end of the predicate")
        return node

    def _or(self) -> Node:
        operands = [self._and()]
        while self._take("||"):
            operands.append(self._and())
        return operands[0] if len(operands) == 1 else Logical("||", tuple(operands))

    def _and(self) -> Node:
        operands = [self._unary()]
        while self._take("&&"):
            operands.append(self._unary())
        return operands[0] if len(operands) == 1 else Logical("&&", tuple(operands))

    def _unary(self) -> Node:
        self._skip()
        start = self.pos
        if self._peek("!") and not self._peek("!="):
            self.pos += 1
            return Not(self._nested(start, self._unary))
        if self._take("("):
            node = self._nested(start, self._or)
            if not self._take(")"):
                raise JsonPathError(
                    self.pos, f"expected ) to close the ( at position {start + 1}, found {self._show()}"
                )
            return node
        return self._relation()

    def _nested(self, start: int, parse: Callable[[], Node]) -> Node:
        self.depth += 1
        if self.depth > MAX_FILTER_DEPTH:
            raise JsonPathError(start, f"the predicate nests more than {MAX_FILTER_DEPTH} levels deep")
        node = parse()
        self.depth -= 1
        return node

    def _relation(self) -> Node:
        left = self._operand()
        self._skip()
        at = self.pos
        operator = next((op for op in _COMPARISONS if self._peek(op)), None)
        if operator is None:
            word = _WORD.match(self.text, self.pos, self.end)
            if word and word.group() in _WORD_OPERATORS:
                operator = word.group()
        if operator is None:
            if isinstance(left, Path):
                return Exists(left)
            raise JsonPathError(at, f"expected a comparison after the value, found {self._show()}")
        self.pos += len(operator)
        if operator == "=~":
            self._skip()
            if not self._peek("/"):
                raise JsonPathError(self.pos, f"=~ takes a regular expression such as /^A.*/i, found {self._show()}")
            return Compare(left, operator, self._regex())
        right = self._operand()
        self._check_right(operator, right, at)
        return Compare(left, operator, right)

    def _check_right(self, operator: str, right: Path | Literal, at: int) -> None:
        value = right.value if isinstance(right, Literal) else None
        if operator in ("in", "nin", "subsetof", "anyof", "noneof") and not (
            isinstance(right, Path) or isinstance(value, list)
        ):
            raise JsonPathError(at, f"{operator} takes a list such as ['A', 'B'] or a path")
        if operator == "empty" and not isinstance(value, bool):
            raise JsonPathError(at, "empty takes true or false, e.g. @.items empty false")
        if operator == "size" and not (isinstance(right, Path) or _is_integer(value)):
            raise JsonPathError(at, "size takes a whole number, e.g. @.items size 2")

    def _operand(self) -> Path | Literal:
        self._skip()
        if self.pos >= self.end:
            raise JsonPathError(self.pos, "expected a path (@.field) or a value, found the end of the predicate")
        char = self.text[self.pos]
        if char in "@$":
            return self._path()
        if char == "[":
            return Literal(self._list())
        return Literal(self._scalar())

    def _path(self) -> Path:
        root = self.text[self.pos] == "$"
        self.pos += 1
        steps: list[str | int] = []
        while self.pos < self.end:
            if self._peek(".."):
                raise JsonPathError(self.pos, "deep scan (..) is not supported in a filter; name the path in full")
            if self._peek("."):
                self.pos += 1
                name = _NAME.match(self.text, self.pos, self.end)
                if not name or name.group() == "*":
                    raise JsonPathError(self.pos, f"expected a field name after '.', found {self._show()}")
                self.pos = name.end()
                if self._peek("("):
                    raise JsonPathError(name.start(), f"functions such as {name.group()}() are not supported")
                steps.append(name.group())
            elif self._peek("["):
                steps.append(self._bracket())
            else:
                break
        return Path(root, tuple(steps))

    def _bracket(self) -> str | int:
        self.pos += 1
        self._skip()
        index = _INDEX.match(self.text, self.pos, self.end)
        if index:
            self.pos = index.end()
            step: str | int = int(index.group())
        elif self.pos < self.end and self.text[self.pos] in "'\"":
            step = self._string()
        else:
            raise JsonPathError(self.pos, f"expected an index or a quoted name in [...], found {self._show()}")
        self._skip()
        if not self._take("]"):
            raise JsonPathError(self.pos, f"expected ] (one name or index per bracket), found {self._show()}")
        return step

    def _list(self) -> list[Any]:
        self.pos += 1
        items: list[Any] = []
        self._skip()
        if self._take("]"):
            return items
        while True:
            self._skip()
            items.append(self._scalar())
            self._skip()
            if self._take("]"):
                return items
            if not self._take(","):
                raise JsonPathError(self.pos, f"expected , or ] in the list, found {self._show()}")

    def _scalar(self) -> Any:
        if self.pos >= self.end:
            raise JsonPathError(self.pos, "expected a value, found the end of the predicate")
        if self.text[self.pos] in "'\"":
            return self._string()
        number = _NUMBER.match(self.text, self.pos, self.end)
        if number:
            self.pos = number.end()
            fraction, exponent = number.group(1), number.group(2)
            return float(number.group()) if fraction or exponent else int(number.group())
        for word, value in (("true", True), ("false", False), ("null", None)):
            if self._peek(word) and not _NAME.match(self.text, self.pos + len(word), self.pos + len(word) + 1):
                self.pos += len(word)
                return value
        expected = "a path (@.field), a quoted string, a number, true, false or null"
        raise JsonPathError(self.pos, f"expected {expected}, found {self._show()}")

    def _string(self) -> str:
        quote, start = self.text[self.pos], self.pos
        self.pos += 1
        chars: list[str] = []
        while self.pos < self.end:
            char = self.text[self.pos]
            if char == quote:
                self.pos += 1
                return "".join(chars)
            if char == "\\":
                chars.append(self._escape())
                continue
            chars.append(char)
            self.pos += 1
        raise JsonPathError(start, f"the string starting here has no closing {quote}")

    def _escape(self) -> str:
        escaped = self.text[self.pos + 1 : self.pos + 2]
        if escaped == "u":
            digits = self.text[self.pos + 2 : self.pos + 6]
            if len(digits) == 4 and all(c in "0123456789abcdefABCDEF" for c in digits):
                self.pos += 6
                return chr(int(digits, 16))
            raise JsonPathError(self.pos, "\\u must be followed by four hexadecimal digits")
        if escaped not in _ESCAPES:
            raise JsonPathError(self.pos, f"unknown escape \\{escaped} in a string")
        self.pos += 2
        return _ESCAPES[escaped]

    def _regex(self) -> Regex:
        start = self.pos
        self.pos += 1
        chars: list[str] = []
        while self.pos < self.end and self.text[self.pos] != "/":
            if self.text[self.pos] == "\\" and self._peek("\\/"):
                chars.append("/")
                self.pos += 2
                continue
            chars.append(self.text[self.pos : self.pos + 2] if self.text[self.pos] == "\\" else self.text[self.pos])
            self.pos += len(chars[-1])
        if self.pos >= self.end:
            raise JsonPathError(start, "the regular expression starting here has no closing /")
        self.pos += 1
        flags = 0
        if self._peek("i") and not _NAME.match(self.text, self.pos + 1, self.pos + 2):
            flags, self.pos = re.IGNORECASE, self.pos + 1
        pattern = "".join(chars)
        try:
            compiled = re.compile(pattern, flags)
        except re.error as exc:
            at = start + 1 + (exc.pos or 0)
            raise JsonPathError(at, f"the regular expression is not valid: {exc.msg}") from None
        try:
            cost = regex_cost(pattern)
        except RegexRefused as exc:
            raise JsonPathError(start + 1 + exc.offset, exc.reason) from None
        return Regex(compiled, cost)

    def _skip(self) -> None:
        while self.pos < self.end and self.text[self.pos].isspace():
            self.pos += 1

    def _peek(self, token: str) -> bool:
        return self.text.startswith(token, self.pos, self.end)

    def _take(self, token: str) -> bool:
        self._skip()
        if self._peek(token):
            self.pos += len(token)
            return True
        return False

    def _show(self) -> str:
        if self.pos >= self.end:
            return "the end of the predicate"
        return repr(self.text[self.pos : min(self.pos + 10, self.end)])


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
