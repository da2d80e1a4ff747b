"""The ``q`` grammar: a hand-written parser from text to terms (see the package docstring for the language)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum

from segment_service.core.query._regex import RegexRefused, check_regex

MAX_Q_LENGTH = 40_000  # room for a list of 1,000 ids (storefronts fetch a segment's products that way)
MAX_TERMS = 50
MAX_IN_VALUES = 1000
MAX_REGEX_LENGTH = 256
MAX_JSON_DEPTH = 10


class QueryError(ValueError):
    """Bad q (or field path); ``message`` is a complete sentence a client can act on."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Op(StrEnum):
    """Condition of a term; the comparison members' values double as their SQL operators."""

    EQ = "="
    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="
    IN = "in"
    RANGE = "range"
    REGEX = "~"
    NULL = "null"
    EXISTS = "exists"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class Value:
    """A literal from q; ``quoted`` ones are always plain strings (never keywords, never JSON numbers)."""

    text: str
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class Term:
    """One ``field:expr`` condition; RANGE keeps (operator, value) pairs in ``bounds``, others use ``values``."""

    field: str
    op: Op
    values: tuple[Value, ...] = ()
    bounds: tuple[tuple[Op, Value], ...] = ()


# ---------------------------------------------------------------------------------------------------- parsing
# Only ASCII whitespace separates terms, so exotic Unicode spaces stay inside values rather than splitting them.
_WS = " \t\r\n\f\v"
_WSC = r" \t\r\n\f\v"
_WS_RUN = re.compile(rf"[{_WSC}]*")
_FIELD_RUN = re.compile(rf"[^{_WSC}:]*")
_BARE_RUN = re.compile(rf"[^{_WSC}]*")
_BOUND_RUN = re.compile(rf"[^{_WSC})]*")
_ITEM_RUN = re.compile(r"[^,)]*")
_QUOTED = re.compile(r'"([^"\\]*(?:\\.[^"\\]*)*)"', re.S)
_ESCAPE = re.compile(r'\\(["\\])')
_AND = re.compile(rf"[Aa][Nn][Dd](?=[{_WSC})])")
_BAD_FIELD_CHAR = re.compile(r"[^A-Za-z0-9_.\-]")
_REGEX_SPECIAL = re.compile(r"[\\\[()]")
_KEYWORDS = {"null": Op.NULL, "exists": Op.EXISTS, "missing": Op.MISSING}
# Fast path for the common shapes (field:v, field:>v, field:"v", field:(a,b), field:(>=a AND <b)); anything it
# does not match exactly (escapes, spaces, regexes, errors) falls through to the general parser below. Values
# may not start with '=' here, or backtracking would read ">=5" as ">" then "=5".
_BOUND = rf'([<>]=?)(?:"([^"\\]*)"|([^{_WSC}")=][^{_WSC})]*))'
_FAST = re.compile(
    rf'([A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*):(?:([<>]=?)?(?:"([^"\\]*)"|([^{_WSC}"(~<>=][^{_WSC}]*))'
    rf'|\(([^{_WSC}"()~<>][^"()]*)\)|\({_BOUND}[{_WSC}]+[Aa][Nn][Dd][{_WSC}]+{_BOUND}\))(?=[{_WSC}]|\Z)'
)
_CMP = {">": Op.GT, ">=": Op.GE, "<": Op.LT, "<=": Op.LE}


def _syntax(pos: int, detail: str) -> QueryError:
    return QueryError(f"Invalid q at position {pos + 1}: {detail}.")


def _unclosed(pos: int) -> QueryError:
    return _syntax(pos, "'(' is never closed; add a matching ')'")


def _show(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _span(pattern: re.Pattern[str], s: str, i: int) -> int:
    m = pattern.match(s, i)
    return m.end() if m else i


def parse_q(text: str) -> tuple[Term, ...]:
    """Parse q into terms (results are cached); raise QueryError naming the position of the first problem."""
    if len(text) > MAX_Q_LENGTH:
        raise QueryError(f"q is {len(text)} characters long; the maximum is {MAX_Q_LENGTH}.")
    return _parse_cached(text)


@functools.lru_cache(maxsize=1024)
def _parse_cached(s: str) -> tuple[Term, ...]:
    # PostgreSQL text cannot hold NUL and UTF-8 cannot encode lone surrogates: reject now, not as a driver error.
    if "\x00" in s:
        raise QueryError("q must not contain NUL characters.")
    if not s.isascii():
        try:
            s.encode()
        except UnicodeEncodeError:
            raise QueryError("q contains unpaired surrogate characters; send valid Unicode text.") from None
    n = len(s)
    terms: list[Term] = []
    i = _span(_WS_RUN, s, 0)
    while i < n:
        if len(terms) == MAX_TERMS:
            raise QueryError(f"q has more than {MAX_TERMS} terms; narrow the search or use lists like id:(a,b).")
        m = _FAST.match(s, i)
        term = _fast_term(m) if m else None
        if term is not None and m is not None:
            i = m.end()
        else:
            term, i = _parse_term(s, i, n)
        terms.append(term)
        if i < n and s[i] not in _WS:
            raise _syntax(i, f"unexpected {s[i]!r} after the condition on '{term.field}'; separate terms with spaces")
        i = _span(_WS_RUN, s, i)
    return tuple(terms)


def _fast_term(m: re.Match[str]) -> Term | None:
    field, cmp, quoted, bare, items, op1, quoted1, bare1, op2, quoted2, bare2 = m.groups()
    if items is not None:
        values = tuple(Value(part) for item in items.split(",") for part in _or_parts(item.strip(_WS)))
        if len(values) > MAX_IN_VALUES or not all(v.text for v in values):
            return None  # let the general parser produce the error
        return Term(field, Op.IN, values)
    if op1 is not None:
        low = Value(bare1) if quoted1 is None else Value(quoted1, True)
        high = Value(bare2) if quoted2 is None else Value(quoted2, True)
        return Term(field, Op.RANGE, bounds=((_CMP[op1], low), (_CMP[op2], high)))
    if cmp is not None:
        return Term(field, _CMP[cmp], (Value(bare) if quoted is None else Value(quoted, True),))
    if quoted is not None:
        return Term(field, Op.EQ, (Value(quoted, True),))
    keyword = _KEYWORDS.get(bare)
    return Term(field, keyword) if keyword else Term(field, Op.EQ, (Value(bare),))


def _parse_term(s: str, i: int, n: int) -> tuple[Term, int]:
    j = _span(_FIELD_RUN, s, i)
    field = s[i:j]
    if not field:
        raise _syntax(i, "expected a field name before ':'")
    if j >= n or s[j] != ":":
        raise _syntax(j, f"expected ':' after field name {_show(field)}")
    bad = _BAD_FIELD_CHAR.search(field)
    if bad:
        raise _syntax(
            i + bad.start(),
            f"unexpected {bad.group()!r} in field name {_show(field)}; use letters, digits, '_', '-' and '.'",
        )
    if "" in field.split("."):
        raise _syntax(i, f"field name '{field}' has an empty part between dots")
    j += 1
    if j >= n or s[j] in _WS:
        raise _syntax(j, f"expected a value after '{field}:'")
    c = s[j]
    if c == '"':
        value, j = _quoted(s, j)
        return Term(field, Op.EQ, (value,)), j
    if c == "(":
        return _parse_group(s, j, n, field)
    if c == "~":
        return _parse_regex(s, j + 1, n, field)
    if c in "<>":
        op, j = _cmp_op(s, j)
        if j >= n or s[j] in _WS:
            raise _syntax(j, f"expected a value after '{field}:{op}'")
        if s[j] == '"':
            value, j = _quoted(s, j)
        else:
            end = _span(_BARE_RUN, s, j)
            value, j = Value(s[j:end]), end
        return Term(field, op, (value,)), j
    end = _span(_BARE_RUN, s, j)
    word = s[j:end]
    keyword = _KEYWORDS.get(word)
    return (Term(field, keyword) if keyword else Term(field, Op.EQ, (Value(word),))), end


def _quoted(s: str, i: int) -> tuple[Value, int]:
    m = _QUOTED.match(s, i)
    if m is None:
        raise _syntax(i, "this double quote is never closed; end the value with '\"'")
    body = m.group(1)
    # Only \" and \\ are escapes; any other backslash is kept so paths and patterns survive quoting unchanged.
    return Value(_ESCAPE.sub(r"\1", body) if "\\" in body else body, quoted=True), m.end()


def _cmp_op(s: str, i: int) -> tuple[Op, int]:
    if s.startswith("=", i + 1):
        return _CMP[s[i : i + 2]], i + 2
    return _CMP[s[i]], i + 1


# Emporix's own examples also write lists as (a OR b); "OR" between values means the same as a comma.
_OR_SEPARATOR = re.compile(r"\s+OR\s+")


def _or_parts(raw: str) -> list[str]:
    return _OR_SEPARATOR.split(raw) if "OR" in raw else [raw]


def _parse_group(s: str, j: int, n: int, field: str) -> tuple[Term, int]:
    k = _span(_WS_RUN, s, j + 1)
    if k >= n:
        raise _unclosed(j)
    if s[k] == ")":
        raise _syntax(k, f"the list for '{field}' is empty; give at least one value, e.g. {field}:(a,b)")
    if s[k] == "~":
        close = _scan_regex(s, k + 1, n, j)
        return _regex_term(field, s[k + 1 : close], k + 1), close + 1
    if s[k] in "<>":
        return _parse_range(s, k, n, j, field)
    values: list[Value] = []
    while True:
        k = _span(_WS_RUN, s, k)
        if k < n and s[k] == '"':
            value, k = _quoted(s, k)
            values.append(value)
            w = _span(_WS_RUN, s, k)
            if w > k and s.startswith("OR", w) and w + 2 < n and s[w + 2] in _WS:
                k = w + 2  # `"a" OR "b"`: OR stands for the comma
                if len(values) > MAX_IN_VALUES:
                    raise QueryError(f"The list for '{field}' in q has more than {MAX_IN_VALUES} values.")
                continue
            k = w
        else:
            end = _span(_ITEM_RUN, s, k)
            if end >= n:
                raise _unclosed(j)
            raw = s[k:end].rstrip(_WS)
            if not raw:
                raise _syntax(k, f"empty value in the list for '{field}'")
            parts = _or_parts(raw)
            if not all(parts):
                raise _syntax(k, f"empty value next to OR in the list for '{field}'")
            values.extend(Value(part) for part in parts)
            k = end
        if len(values) > MAX_IN_VALUES:
            raise QueryError(f"The list for '{field}' in q has more than {MAX_IN_VALUES} values.")
        if k >= n:
            raise _unclosed(j)
        if s[k] == ")":
            return Term(field, Op.IN, tuple(values)), k + 1
        if s[k] != ",":
            raise _syntax(k, f"expected ',' or ')' in the list for '{field}'")
        k += 1


def _parse_range(s: str, k: int, n: int, open_pos: int, field: str) -> tuple[Term, int]:
    bounds: list[tuple[Op, Value]] = []
    while True:
        op, k = _cmp_op(s, k)
        k = _span(_WS_RUN, s, k)
        if k >= n:
            raise _unclosed(open_pos)
        if s[k] == '"':
            value, k = _quoted(s, k)
        else:
            end = _span(_BOUND_RUN, s, k)
            if end == k:
                raise _syntax(k, f"expected a value after '{op}' in the range for '{field}'")
            value, k = Value(s[k:end]), end
        bounds.append((op, value))
        w = _span(_WS_RUN, s, k)
        if w >= n:
            raise _unclosed(open_pos)
        if s[w] == ")":
            term = Term(field, op, (value,)) if len(bounds) == 1 else Term(field, Op.RANGE, bounds=tuple(bounds))
            return term, w + 1
        if w == k or _AND.match(s, w) is None:
            raise _syntax(w, f"expected ' AND ' or ')' in the range for '{field}', e.g. {field}:(>=1 AND <5)")
        k = _span(_WS_RUN, s, w + 3)
        if k >= n or s[k] not in "<>":
            raise _syntax(k, f"expected a comparison (>, <, >=, <=) after AND in the range for '{field}'")


def _parse_regex(s: str, k: int, n: int, field: str) -> tuple[Term, int]:
    # "~(a b)" wraps a regex containing spaces, but "~(a|b)c" is a plain regex that merely starts with a group;
    # the two readings of "~(a|b)" match the same strings, so trying the wrapped one first is safe.
    if s.startswith("(", k):
        try:
            close = _scan_regex(s, k + 1, n, k)
        except QueryError:
            close = -1
        if close >= 0 and (close + 1 >= n or s[close + 1] in _WS):
            return _regex_term(field, s[k + 1 : close], k + 1), close + 1
    end = _span(_BARE_RUN, s, k)
    _scan_regex(s, k, end, -1)
    return _regex_term(field, s[k:end], k), end


def _scan_regex(s: str, i: int, end: int, open_pos: int) -> int:
    """Return the index of the ')' closing a wrapped regex (open_pos >= 0) or `end`; reject unbalanced groups."""
    start, depth = i, 0
    while (m := _REGEX_SPECIAL.search(s, i, end)) is not None:
        i = m.start()
        c = s[i]
        if c == "\\":
            if i + 1 >= end:
                raise _syntax(i, "the regex ends with a lone backslash")
            i += 2
        elif c == "[":
            i = _skip_bracket(s, i, end)
        elif c == "(":
            depth, i = depth + 1, i + 1
        elif depth:
            depth, i = depth - 1, i + 1
        elif open_pos >= 0:
            return i
        else:
            raise _syntax(i, "unbalanced ')' in the regex")
    if open_pos >= 0:
        raise _unclosed(open_pos)
    if depth:
        raise _syntax(start, "unbalanced '(' in the regex")
    return end


def _skip_bracket(s: str, i: int, end: int) -> int:
    # PostgreSQL bracket expressions: a leading ']' is literal, [:class:] / [.coll.] / [=equiv=] nest, \ escapes.
    k = i + 1
    if k < end and s[k] == "^":
        k += 1
    if k < end and s[k] == "]":
        k += 1
    while k < end:
        c = s[k]
        if c == "\\":
            k += 2
        elif c == "[" and k + 1 < end and s[k + 1] in ":.=":
            close = s.find(s[k + 1] + "]", k + 2, end)
            if close < 0:
                raise _syntax(k, "unclosed '[' in the regex")
            k = close + 2
        elif c == "]":
            return k + 1
        else:
            k += 1
    raise _syntax(i, "unclosed '[' in the regex")


def _regex_term(field: str, regex: str, pos: int) -> Term:
    if not regex:
        raise _syntax(pos, f"empty regex for '{field}'")
    if len(regex) > MAX_REGEX_LENGTH:
        raise _syntax(
            pos, f"the regex for '{field}' is {len(regex)} characters long; the maximum is {MAX_REGEX_LENGTH}"
        )
    try:
        check_regex(regex)
    except RegexRefused as refused:
        raise _syntax(pos + refused.offset, f"the regular expression for '{field}' {refused.reason}") from None
    return Term(field, Op.REGEX, (Value(regex),))
