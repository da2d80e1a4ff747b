"""The cost bound of q regular expressions (core/query/_regex.py): what it refuses and why, that every ordinary regex
passes, and (property tests) that it refuses exactly the patterns beyond its limits and that PostgreSQL compiles and
runs whatever it lets through."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segment_service.core.query import (
    MAX_REGEX_EXPANSION,
    MAX_REGEX_GROUPS,
    MAX_REGEX_QUANTIFIED_NESTING,
    MAX_REGEX_REPEAT,
    QueryError,
    parse_q,
)
from segment_service.core.query._regex import RegexRefused, check_regex


def refusal(q: str) -> str:
    with pytest.raises(QueryError) as caught:
        parse_q(q)
    return caught.value.message


@pytest.mark.parametrize(
    ("q", "message"),
    [
        (
            r"name.en:~(^(.*)(.*)(.*)(.*)(.*)(.*)\6\5\4\3\2\1$)",
            r"Invalid q at position 36: the regular expression for 'name.en' may not use backreferences (\6): "
            "they make matching take exponential time.",
        ),
        (
            r"code:~(a)\12",
            r"Invalid q at position 10: the regular expression for 'code' may not use backreferences (\12): "
            "they make matching take exponential time.",
        ),
        (
            r"name.en:~((\w{1,200}){1,200})",
            "Invalid q at position 14: the regular expression for 'name.en' has the repetition count {1,200}; "
            "a count may be at most 100.",
        ),
        (
            r"code:~a{101}",
            "Invalid q at position 8: the regular expression for 'code' has the repetition count {101}; a "
            "count may be at most 100.",
        ),
        (
            r"code:~a{1,99999999999999999999999}",
            "Invalid q at position 8: the regular expression for 'code' has the "
            "repetition count {1,99999999999999...; a count may be at most 100.",
        ),
        (
            r"name.en:~(\w{1,100}){1,10}",
            "Invalid q at position 10: the regular expression for 'name.en' is too complex: its repetition counts "
            "make 999 extra copies of what they repeat (nested counts multiply), and at most 100 are allowed.",
        ),
        (
            r"code:~(ab){30}(cd){30}",
            "Invalid q at position 7: the regular expression for 'code' is too complex: its "
            "repetition counts make 116 extra copies of what they repeat (nested counts multiply), and at most 100 are "
            "allowed.",
        ),
        (
            r"code:~(((a+)+)+)+",
            "Invalid q at position 17: the regular expression for 'code' nests quantified groups 4 "
            "deep; at most 3 are allowed.",
        ),
        ("code:~" + "(a)" * 21, "Invalid q at position 67: the regular expression for 'code' has more than 20 groups."),
        (
            r"code:~(?x)a b",
            "Invalid q at position 7: the regular expression for 'code' may not switch to the expanded "
            "syntax with the embedded option (?x).",
        ),
        (
            r"code:~(?b)\(a\)",
            "Invalid q at position 7: the regular expression for 'code' may not switch to the basic "
            "syntax with the embedded option (?b).",
        ),
        (
            r"name.en:~(?=.*coffee)(?=.*beans)",
            "Invalid q at position 10: the regular expression for 'name.en' may use a "
            "lookahead ((?=…) only at its start, right after ^ (as in ^(?=.*coffee)(?=.*beans)): "
            "anywhere else it is tried at every position of the text, which takes time growing with the square of the "
            "text's length.",
        ),
        (
            r"code:~a(?!.*z)",
            "Invalid q at position 8: the regular expression for 'code' may use a lookahead ((?!…) only "
            "at its start, right after ^ (as in ^(?=.*coffee)(?=.*beans)): anywhere else it is tried at every "
            "position of the text, which takes time growing with the square of the text's length.",
        ),
    ],
)
def test_refused_with_what_and_why(q: str, message: str) -> None:
    assert refusal(q) == message


@pytest.mark.parametrize(
    "regex",
    [
        # The forms of tests/core/test_query.py and the Emporix examples (`name.en:~(Yoghurt im)`, `code:~ABCD12`).
        "ABCD12",
        "AB CD",
        "Yoghurt im",
        "(a|b)c",
        "(a|b) [)] x",
        r"a\)b",
        "[[:alpha:]]+",
        "[]a]",
        "^AC.*",
        "^Yog",
        "^x",
        "Gold",
        "Golden Seg",
        # Ordinary patterns people write.
        r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        r"\d{3,5}",
        r"^.{0,100}$",
        r"(?i)coffee",
        r"(?:\w+\s){0,3}beans",
        r"\mcoffee\M",
        r"^(\w+ ){0,3}coffee",
        r"^(?=.*coffee)(?=.*blue)",
        r"^(?!.*decaf)(?=.*beans)",
        r"(?<=coffee )beans",
        r"colou?r",
        r"(gold|silver|bronze)(-plus)?$",
        r"[\1]x",
        r"\0",
        r"((a+)+)+",
        r"(.*)(.*)(.*)(.*)(.*)(.*)x",
        r"a{100}",
        r"(ab){50}",
        r"(a{10}){10}",
        "a" * 256,
        # A literal pattern (***= and (?q)) is cheap whatever it holds.
        r"***=\1\2",
        r"(?q)(a)\1",
    ],
)
def test_ordinary_regexes_pass(regex: str) -> None:
    check_regex(regex)
    assert parse_q(f"code:~({regex})" if " " in regex else f"code:~{regex}")


# ------------------------------------------------------------------------------------------------ property tests
@dataclass(frozen=True)
class Node:
    """A regex as a tree, with what the bound should find: its expanded size, atoms, groups and quantified depth."""

    text: str
    size: int
    atoms: int
    groups: int
    depth: int
    max_count: int


ATOMS = st.sampled_from(["a", "b", "x", "0", ".", r"\w", r"\d", r"\s", "[a-z]", "[[:alpha:]]", r"\.", "-"])


def atom(text: str) -> Node:
    return Node(text, 1, 1, 0, 0, 0)


def group(children: list[Node], alternation: bool) -> Node:
    text = ("|" if alternation else "").join(child.text for child in children)
    return Node(
        f"({text})",
        sum(c.size for c in children),
        sum(c.atoms for c in children),
        1 + sum(c.groups for c in children),
        max(c.depth for c in children),
        max(c.max_count for c in children),
    )


@st.composite
def quantified(draw: st.DrawFn, inner: Node, max_count: int) -> Node:
    kind = draw(st.sampled_from(["*", "+", "?", "{n}", "{m,n}", "{m,}"]))
    if kind in "*+?":
        return Node(inner.text + kind, inner.size, inner.atoms, inner.groups, inner.depth + 1, inner.max_count)
    high = draw(st.integers(min_value=1, max_value=max_count))
    low = draw(st.integers(min_value=0, max_value=high))
    text, copies = {
        "{n}": (f"{{{high}}}", high),
        "{m,n}": (f"{{{low},{high}}}", high),
        "{m,}": (f"{{{low},}}", low + 1),
    }[kind]
    return Node(
        inner.text + text,
        inner.size * max(copies, 1),
        inner.atoms,
        inner.groups,
        inner.depth + 1,
        max(inner.max_count, high if kind != "{m,}" else low),
    )


@st.composite
def regexes(draw: st.DrawFn, max_count: int, depth: int = 0) -> Node:
    if depth >= 5 or draw(st.integers(0, 2)) == 0:
        node = atom(draw(ATOMS))
    else:
        children = draw(st.lists(regexes(max_count, depth + 1), min_size=1, max_size=3))
        node = group(children, draw(st.booleans()))
    if draw(st.integers(0, 2)) == 0:
        node = draw(quantified(node, max_count))
    return node


@st.composite
def sequences(draw: st.DrawFn, max_count: int = 130) -> Node:
    """A regex of up to four parts; repetition counts up to `max_count` (past the bound's by default)."""
    parts = draw(st.lists(regexes(max_count), min_size=1, max_size=4))
    return Node(
        "".join(p.text for p in parts),
        sum(p.size for p in parts),
        sum(p.atoms for p in parts),
        sum(p.groups for p in parts),
        max(p.depth for p in parts),
        max(p.max_count for p in parts),
    )


def within_bound(node: Node) -> bool:
    return (
        node.max_count <= MAX_REGEX_REPEAT
        and node.depth <= MAX_REGEX_QUANTIFIED_NESTING
        and node.groups <= MAX_REGEX_GROUPS
        and node.size - node.atoms <= MAX_REGEX_EXPANSION
    )


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(sequences())
def test_refuses_exactly_what_is_beyond_the_limits(node: Node) -> None:
    reason = None
    try:
        check_regex(node.text)
    except RegexRefused as refused:
        reason = refused.reason
    assert (reason is None) == within_bound(node), f"{node.text!r}: {reason or 'passed the bound'}"


@settings(max_examples=300, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(sequences().filter(within_bound), st.integers(min_value=1, max_value=9))
def test_a_backreference_anywhere_is_refused(node: Node, number: int) -> None:
    with pytest.raises(RegexRefused, match=rf"may not use backreferences \(\\{number}"):
        check_regex(f"{node.text}\\{number}")


@settings(max_examples=500)
@given(st.text(alphabet=st.sampled_from([*"ab.()[]{}*+?|^$\\,:=!<-1029"]), max_size=60))
def test_any_text_is_accepted_or_refused_never_a_crash(text: str) -> None:
    offset = 0
    try:
        check_regex(text)
    except RegexRefused as refused:
        offset = refused.offset
    assert 0 <= offset <= len(text)


def run_regexes(database_url: str, patterns: list[str]) -> list[str]:
    """Each pattern against a few hundred rows of text in the real PostgreSQL; the errors it raised, if any."""

    async def run() -> list[str]:
        conn = await asyncpg.connect(database_url)
        errors = []
        try:
            for pattern in patterns:
                try:
                    await conn.fetchval(
                        "SELECT count(*) FROM generate_series(1, 300) AS g(n) "
                        "WHERE repeat('coffee beans ' || n, 3) ~ $1",
                        pattern,
                    )
                except asyncpg.InvalidRegularExpressionError:
                    pass  # a syntax PostgreSQL refuses (e.g. `a{3,2}`): a 400 through input_error
                except asyncpg.PostgresError as exc:
                    errors.append(f"{pattern!r}: {exc.sqlstate} {exc}")
        finally:
            await conn.close()
        return errors

    return asyncio.run(run())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.lists(sequences(max_count=12).filter(within_bound), min_size=5, max_size=5))
def test_postgresql_runs_whatever_passes(database_url: str, nodes: list[Node]) -> None:
    assert run_regexes(database_url, [node.text for node in nodes]) == []


def test_an_unanchored_lookahead_costs_the_square_of_the_text(database_url: str) -> None:
    """Why a lookahead must come right after a leading ^: elsewhere PostgreSQL tries it at every position, so on
    texts of 10 KB (product descriptions) it costs orders of magnitude more than the anchored form."""

    async def timed(pattern: str) -> float:
        conn = await asyncpg.connect(database_url)
        try:
            started = time.perf_counter()
            await conn.fetchval(
                "SELECT count(*) FROM generate_series(1, 20) AS g(n) "
                "WHERE repeat('Lorem ipsum dolor sit amet ' || n, 370) ~ $1",
                pattern,
            )
            return time.perf_counter() - started
        finally:
            await conn.close()

    anchored = asyncio.run(timed("^(?=.*coffee)(?=.*beans)"))
    unanchored = asyncio.run(timed("(?=.*coffee)(?=.*beans)"))
    assert unanchored > 10 * anchored, (unanchored, anchored)


def test_postgresql_fails_on_what_the_bound_refuses(database_url: str) -> None:
    """Without the bound these reach PostgreSQL and fail (or time out): the bound is what keeps them away."""
    errors = run_regexes(database_url, [r"((\w{1,200}){1,200})"])
    assert len(errors) == 1
    assert "invalid memory alloc request size" in errors[0]
