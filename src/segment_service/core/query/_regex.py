r"""The cost bound of ``q`` regular expressions, checked before a pattern reaches PostgreSQL.

PostgreSQL's regex engine (Spencer's ARE) matches in linear time with a lazily built DFA, with two exceptions that a
single request can use to occupy a database connection for seconds or to exhaust its memory:

- a **backreference** (``\1`` .. ``\9``) switches it to a backtracking matcher that takes exponential time
  (``^(.*)(.*)(.*)(.*)(.*)(.*)\6\5\4\3\2\1$``: seconds per row);
- **counted repetitions** are compiled by copying their operand, so nested counts multiply:
  ``(\w{1,200}){1,200}`` asks for 40,000 copies and fails with "invalid memory alloc request size", and even a few
  hundred copies make every row cost tens of times what a plain pattern costs.

So a regex may not use backreferences; no repetition count may exceed `MAX_REGEX_REPEAT`; expanded the way PostgreSQL
expands it (every atom times the counts around it), the pattern may grow by at most `MAX_REGEX_EXPANSION` atoms;
quantified groups may nest at most `MAX_REGEX_QUANTIFIED_NESTING` deep and a pattern may have at most
`MAX_REGEX_GROUPS` groups.
The embedded options that change the syntax the check reads (``(?b)``, ``(?e)``, ``(?x)``) are refused; ``(?q)`` and
the ``***=`` director make the rest a literal, which is always cheap. Everything else (classes, brackets, anchors,
alternation, ``*``/``+``/``?``, lookbehind) is allowed, and so are lookaheads (``(?=…)``, ``(?!…)``) at the start of
an anchored pattern (``^(?=.*coffee)(?=.*beans)``): anywhere else PostgreSQL tries a lookahead at every position of
the text, so its cost grows with the square of the text's length (seconds on a few hundred descriptions of 10 KB).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_REGEX_REPEAT = 100
MAX_REGEX_EXPANSION = 100
MAX_REGEX_QUANTIFIED_NESTING = 3
MAX_REGEX_GROUPS = 20

_BOUND = re.compile(r"\{([0-9]+)(?:(,)([0-9]*))?\}")
_OPTIONS = re.compile(r"\(\?([a-z]+)\)")
_SYNTAX_OPTIONS = {"b": "basic", "e": "extended", "x": "expanded"}


class RegexRefused(ValueError):
    """A regex the cost bound refuses; ``offset`` is where in the regex the refused construct starts."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.offset = offset
        self.reason = reason


@dataclass(slots=True)
class _Group:
    """An open group: its expanded size so far (all alternatives: PostgreSQL copies each of them) and the quantified
    nesting inside it."""

    size: int = 0
    last_atom: int = 0  # expanded size of the last atom, which a following quantifier multiplies
    last_depth: int = 0  # quantified nesting inside the last atom
    depth: int = 0  # deepest quantified nesting seen in this group

    def add(self, size: int, depth: int) -> None:
        self.size += size
        self.last_atom, self.last_depth = size, depth
        self.depth = max(self.depth, depth)


def check_regex(regex: str) -> None:
    """Raise RegexRefused when `regex` is beyond the cost bound (see the module docstring); the caller has checked
    that its parentheses and brackets balance."""
    i = 0
    if regex.startswith("***="):
        return  # the rest is a literal string
    if regex.startswith("***:"):
        i = 4
    options = _OPTIONS.match(regex, i)
    if options:
        for letter in options.group(1):
            if letter == "q":
                return  # the rest is a literal string
            if letter in _SYNTAX_OPTIONS:
                raise RegexRefused(
                    i, f"may not switch to the {_SYNTAX_OPTIONS[letter]} syntax with the embedded option (?{letter})"
                )
        i = options.end()
    stack = [_Group()]
    groups = atoms = 0
    n = len(regex)
    start = i
    lookahead_ok = False  # only right after a leading ^ (and other lookaheads there)
    while i < n:
        c = regex[i]
        top = stack[-1]
        lookahead = c == "(" and regex.startswith(("?=", "?!"), i + 1)
        if lookahead and not (lookahead_ok and len(stack) == 1):
            raise RegexRefused(
                i,
                f"may use a lookahead ({regex[i : i + 3]}…) only at its start, right after ^ (as in "
                "^(?=.*coffee)(?=.*beans)): anywhere else it is tried at every position of the text, "
                "which takes time growing with the square of the text's length",
            )
        if len(stack) == 1 and not lookahead:
            lookahead_ok = c == "^" and i == start
        if c == "\\":
            following = regex[i + 1 : i + 2]
            if following in "123456789" and following:
                digits = re.match(r"[0-9]+", regex[i + 1 :])
                reference = "\\" + (digits.group() if digits else following)
                raise RegexRefused(
                    i, f"may not use backreferences ({reference}): they make matching take exponential time"
                )
            top.add(1, 0)
            atoms += 1
            i += 2
        elif c == "[":
            top.add(1, 0)
            atoms += 1
            i = _bracket_end(regex, i)
        elif c == "(":
            groups += 1
            if groups > MAX_REGEX_GROUPS:
                raise RegexRefused(i, f"has more than {MAX_REGEX_GROUPS} groups")
            stack.append(_Group())
            i += 1
            if regex.startswith("?", i):  # (?: (?= (?! (?<= (?<!
                i += 3 if regex.startswith("?<", i) else 2
        elif c == ")" and len(stack) > 1:  # (an unbalanced one is the parser's error, not the bound's)
            inner = stack.pop()
            stack[-1].add(inner.size, inner.depth)
            i += 1
        elif c == "|":
            top.last_atom = top.last_depth = 0
            i += 1
        elif c in "*+?":
            # Unbounded and optional repetitions add no copies; they only nest.
            _quantify(top, i, 1)
            i += 1
            if regex.startswith("?", i):
                i += 1
        elif c == "{" and (bound := _BOUND.match(regex, i)) is not None:
            low, comma, high = bound.groups()
            count = _count(low, bound.group(), i)
            if comma:  # {m,n} makes n copies, {m,} m copies and a star
                count = _count(high, bound.group(), i) if high else count + 1
            _quantify(top, i, count)
            i = bound.end()
            if regex.startswith("?", i):
                i += 1
        else:
            top.add(1, 0)
            atoms += 1
            i += 1
    copies = stack[0].size - atoms
    if copies > MAX_REGEX_EXPANSION:
        raise RegexRefused(
            0,
            f"is too complex: its repetition counts make {copies} extra copies of what they repeat "
            f"(nested counts multiply), and at most {MAX_REGEX_EXPANSION} are allowed",
        )


def _count(digits: str, bound: str, offset: int) -> int:
    # Compare as text first: int() of thousands of digits is slow, and any count that long is refused anyway.
    significant = digits.lstrip("0") or "0"
    value = int(significant) if len(significant) <= 6 else MAX_REGEX_REPEAT + 1
    if value > MAX_REGEX_REPEAT:
        shown = bound if len(bound) <= 20 else bound[:17] + "..."
        raise RegexRefused(offset, f"has the repetition count {shown}; a count may be at most {MAX_REGEX_REPEAT}")
    return value


def _quantify(group: _Group, offset: int, count: int) -> None:
    depth = group.last_depth + 1
    if depth > MAX_REGEX_QUANTIFIED_NESTING:
        raise RegexRefused(
            offset, f"nests quantified groups {depth} deep; at most {MAX_REGEX_QUANTIFIED_NESTING} are allowed"
        )
    grown = group.last_atom * max(count, 1)
    group.size += grown - group.last_atom
    group.last_atom, group.last_depth = grown, depth
    group.depth = max(group.depth, depth)


def _bracket_end(s: str, i: int) -> int:
    # As the parser reads brackets: a leading ']' is literal, [:class:] / [.coll.] / [=equiv=] nest, \ escapes.
    k = i + 1
    n = len(s)
    if k < n and s[k] == "^":
        k += 1
    if k < n and s[k] == "]":
        k += 1
    while k < n:
        c = s[k]
        if c == "\\":
            k += 2
        elif c == "[" and k + 1 < n and s[k + 1] in ":.=":
            close = s.find(s[k + 1] + "]", k + 2)
            k = n if close < 0 else close + 2
        elif c == "]":
            return k + 1
        else:
            k += 1
    return n
