r"""The cost bound of the regular expressions of webhook filters (`=~`, docs/webhooks.md#filters).

Python's `re` matches by backtracking, so a pattern chosen by a tenant could hold the relay for hours on one payload
(``(a+)+b``, ``(a|a)*b``, ``a?a?a?…aaa…``). Before a pattern is compiled its worst case is estimated from its shape:

- a pattern may use no backreferences, lookarounds or conditionals, and no repetition of a group that itself repeats
  or has alternatives (the exponential cases);
- what remains backtracks at most ``factor * n ** degree`` times on a text of n characters, where every unbounded
  repetition (``*``, ``+``, ``{m,}``) adds one to the degree, and every ``?``, bounded ``{m,n}`` and alternative
  multiplies the factor. A pattern must stay within `MAX_REGEX_STEPS` on a text of `GUARANTEED_TEXT` characters; a
  longer text is matched only while the same bound holds for it (a longer one never matches).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_REGEX_LENGTH = 200
MAX_REGEX_COUNT = 100
MAX_REGEX_STEPS = 10_000_000
GUARANTEED_TEXT = 1_000

_COUNT = re.compile(r"\{([0-9]*)(?:(,)([0-9]*))?\}")


class RegexRefused(ValueError):
    """A pattern beyond the bound; `offset` is where in the pattern the refused construct starts."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.offset = offset
        self.reason = reason


@dataclass(frozen=True, slots=True)
class RegexCost:
    """The worst case of a pattern: at most ``factor * n ** degree`` backtracking steps on n characters."""

    factor: int
    degree: int

    def steps(self, length: int) -> int:
        return self.factor * int(max(length, 1) ** self.degree)

    def allows(self, length: int) -> bool:
        return self.steps(length) <= MAX_REGEX_STEPS


@dataclass(slots=True)
class _Sequence:
    """The alternatives of one group so far (closed ones as costs) and the sequence being read."""

    start: int
    closed: list[RegexCost] = field(default_factory=list)
    factor: int = 1
    degree: int = 0
    repeats: bool = False  # a quantifier or an alternation inside: the group may not be repeated itself
    last: RegexCost | None = None  # the cost of the last atom, which a quantifier applies to
    last_repeats: bool = False
    last_offset: int = 0

    def add(self, cost: RegexCost, repeats: bool, offset: int) -> None:
        self.factor *= cost.factor
        self.degree += cost.degree
        self.last, self.last_repeats, self.last_offset = cost, repeats, offset
        self.repeats = self.repeats or repeats

    def close(self) -> RegexCost:
        branches = [*self.closed, RegexCost(self.factor, self.degree)]
        return RegexCost(sum(b.factor for b in branches), max(b.degree for b in branches))


def regex_cost(pattern: str) -> RegexCost:
    """The cost of `pattern` (a Python `re` pattern that compiles); RegexRefused when it is beyond the bound."""
    if len(pattern) > MAX_REGEX_LENGTH:
        raise RegexRefused(0, f"the regular expression is {len(pattern)} characters long; at most {MAX_REGEX_LENGTH}")
    stack = [_Sequence(0)]
    i = 0
    while i < len(pattern):
        char, top = pattern[i], stack[-1]
        if char == "\\":
            following = pattern[i + 1 : i + 2]
            if following.isdigit() and following != "0":
                raise RegexRefused(i, f"backreferences (\\{following}) may take exponential time and are not allowed")
            top.add(RegexCost(1, 0), False, i)
            i += 2
        elif char == "[":
            top.add(RegexCost(1, 0), False, i)
            i = _class_end(pattern, i)
        elif char == "(":
            i = _open_group(pattern, i, stack)
        elif char == ")":
            group = stack.pop()
            cost = group.close()
            stack[-1].add(cost, group.repeats or bool(group.closed), group.start)
            i += 1
        elif char == "|":
            top.closed.append(RegexCost(top.factor, top.degree))
            top.factor, top.degree, top.repeats, top.last = 1, 0, True, None
            i += 1
        elif char in "*+?{":
            i = _quantify(pattern, i, top)
        else:
            top.add(RegexCost(1, 0), False, i)
            i += 1
    cost = stack[0].close()
    if not cost.allows(GUARANTEED_TEXT):
        raise RegexRefused(
            0,
            f"the regular expression may backtrack about {cost.steps(GUARANTEED_TEXT):,} times on a text of "
            f"{GUARANTEED_TEXT:,} characters; at most {MAX_REGEX_STEPS:,} (use fewer *, +, ?, {{m,n}} and |)",
        )
    return cost


def _open_group(pattern: str, i: int, stack: list[_Sequence]) -> int:
    """Push the group opening at `i`; return where its content starts."""
    if pattern.startswith("(?", i):
        kind = pattern[i + 2 : i + 4]
        if kind[:1] in ("=", "!") or kind in ("<=", "<!"):
            raise RegexRefused(i, "lookarounds ((?=, (?!, (?<=, (?<!) are not allowed")
        if kind.startswith("P="):
            raise RegexRefused(i, "backreferences ((?P=...)) may take exponential time and are not allowed")
        if kind[:1] == "(":
            raise RegexRefused(i, "conditional groups ((?(...)...)) are not allowed")
        if kind[:1] == "#":
            end = pattern.find(")", i)
            return len(pattern) if end < 0 else end + 1
        flags = re.match(r"\(\?[aiLmsux-]+\)", pattern[i:])
        if flags:
            return i + flags.end()  # inline flags: not a group
        if kind.startswith("P<"):
            name_end = pattern.find(">", i)
            stack.append(_Sequence(i))
            return len(pattern) if name_end < 0 else name_end + 1
        stack.append(_Sequence(i))
        colon = pattern.find(":", i)
        return i + 3 if colon < 0 else colon + 1
    stack.append(_Sequence(i))
    return i + 1


def _quantify(pattern: str, i: int, top: _Sequence) -> int:
    """Apply the quantifier at `i` to the last atom of `top`; return where the pattern goes on."""
    char = pattern[i]
    end = i + 1
    if char == "{":
        count = _COUNT.match(pattern, i)
        if not count or not (count.group(1) or count.group(3)):
            top.add(RegexCost(1, 0), False, i)  # `re` reads a brace that is no count as a literal
            return i + 1
        end = count.end()
        low = int(count.group(1) or "0")
        high = low if not count.group(2) else (int(count.group(3)) if count.group(3) else None)
        for number in (low, high):
            if number is not None and number > MAX_REGEX_COUNT:
                raise RegexRefused(i, f"the repetition count {number} is over {MAX_REGEX_COUNT}")
    else:
        low, high = (0, 1) if char == "?" else (0 if char == "*" else 1, None)
    if end < len(pattern) and pattern[end] in "?+":
        end += 1  # lazy or possessive: the same worst case
    last = top.last
    if last is None:
        return end  # nothing to repeat: `re` has already refused it when compiling
    if top.last_repeats or last.degree or last.factor > 1:
        raise RegexRefused(
            top.last_offset,
            "a repeated group may not contain a repetition or alternatives ((a+)+ and (a|b)* may take exponential "
            "time; write [ab]* instead)",
        )
    top.factor //= last.factor
    top.degree -= last.degree
    repeated = RegexCost(1, 1) if high is None else RegexCost(high - low + 1, 0)
    top.add(repeated, True, top.last_offset)
    top.last = None
    return end


def _class_end(pattern: str, i: int) -> int:
    """Where the character class opening at `i` ends (after its `]`)."""
    j = i + 1
    if pattern[j : j + 1] == "^":
        j += 1
    if pattern[j : j + 1] == "]":
        j += 1
    while j < len(pattern) and pattern[j] != "]":
        j += 2 if pattern[j] == "\\" else 1
    return j + 1
