"""Webhook filters (webhooks/jsonpath.py): the Jayway predicate subset, its refusals, and (property tests) that
matching never raises on any JSON payload."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segment_service.webhooks.jsonpath import JsonPathError, compile_filter

ORDER: dict[str, Any] = {
    "id": "o-1",
    "status": "DECLINED",
    "total": {"amount": 150.5, "currency": "EUR"},
    "count": 3,
    "paid": False,
    "note": None,
    "name": "Hello World",
    "tags": ["vip", "b2b"],
    "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 1}],
    "empty": [],
    "blank": "",
    "odd key": {"x": 1},
    "quote'key": "q",
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("$[?(@.status == 'DECLINED')]", True),
        ("$[?(@.status == 'NEW')]", False),
        ('$[?(@.status == "DECLINED")]', True),
        ("  $ [ ? ( @.status=='DECLINED' ) ]  ", True),
        ("$[?(@.total.amount > 100)]", True),
        ("$[?(@.total.amount > 150.5)]", False),
        ("$[?(@.total.amount >= 150.5)]", True),
        ("$[?(@.total.amount <= 1.505e2)]", True),
        ("$[?(@.count == 3.0)]", True),
        ("$[?(@.count > -1)]", True),
        ("$[?(@.count < 1E1)]", True),
        ("$[?(@.count != 3)]", False),
        ("$[?(@.count == '3')]", False),
        ("$[?(@.count != '3')]", True),
        ("$[?(@.paid == false)]", True),
        ("$[?(@.paid == 0)]", False),
        ("$[?(@.note == null)]", True),
        ("$[?(@.missing == null)]", False),
        ("$[?(@.missing != 'x')]", False),
        ("$[?(@.missing < 3)]", False),
        ("$[?(@.status > 'ACCEPTED')]", True),
        ("$[?(@.status < 'ACCEPTED')]", False),
        ("$[?(@.status < 5)]", False),
        ("$[?(@['status'] == 'DECLINED')]", True),
        ("$[?(@['odd key']['x'] == 1)]", True),
        ("$[?(@['quote\\'key'] == 'q')]", True),
        ("$[?(@.items[0].sku == 'A-1')]", True),
        ("$[?(@.items[-1].qty == 1)]", True),
        ("$[?(@.items[2].sku)]", False),
        ("$[?(@.total)]", True),
        ("$[?(@.note)]", False),
        ("$[?(@.missing)]", False),
        ("$[?(!@.missing)]", True),
        ("$[?(!@.note)]", True),
        ("$[?(@.name =~ /hello.*/i)]", True),
        ("$[?(@.name =~ /hello.*/)]", False),
        ("$[?(@.name =~ /Hello/)]", False),  # a full match, as Jayway's
        ("$[?(@.name =~ /H\\w+ W\\w+/)]", True),
        ("$[?(@.id =~ /o\\/?-1/)]", True),
        ("$[?(@.count =~ /3/)]", False),
        ("$[?(@.status in ['NEW', 'DECLINED'])]", True),
        ("$[?(@.status nin ['NEW', 'DECLINED'])]", False),
        ("$[?(@.count in [1, 2, 3])]", True),
        ("$[?(@.count in ['3'])]", False),
        ("$[?(@.missing nin ['x'])]", False),
        ("$[?(@.tags subsetof ['vip', 'b2b', 'new'])]", True),
        ("$[?(@.tags subsetof ['vip'])]", False),
        ("$[?(@.tags anyof ['vip', 'x'])]", True),
        ("$[?(@.tags anyof ['x'])]", False),
        ("$[?(@.tags noneof ['x', 'y'])]", True),
        ("$[?(@.tags noneof ['b2b'])]", False),
        ("$[?(@.status anyof ['DECLINED'])]", False),
        ("$[?(@.tags size 2)]", True),
        ("$[?(@.name size 11)]", True),
        ("$[?(@.count size 1)]", False),
        ("$[?(@.empty empty true)]", True),
        ("$[?(@.blank empty true)]", True),
        ("$[?(@.tags empty true)]", False),
        ("$[?(@.tags empty false)]", True),
        ("$[?(@.tags == ['vip', 'b2b'])]", True),
        ("$[?(@.tags == ['b2b', 'vip'])]", False),
        ("$[?(@.status == 'DECLINED' && @.total.amount > 100)]", True),
        ("$[?(@.status == 'NEW' || @.total.amount > 100)]", True),
        ("$[?(@.status == 'NEW' || @.count == 1 && @.paid == false)]", False),  # && binds tighter
        ("$[?((@.status == 'NEW' || @.count == 3) && @.paid == false)]", True),
        ("$[?(!(@.status == 'NEW'))]", True),
        ("$[?(!!@.total)]", True),
        ("$[?(@.total.currency == $.total.currency)]", True),
        ("$[?(@.count == @.items[0].qty)]", False),
        ("$[?('DECLINED' == @.status)]", True),
        ("$[?(@.name == 'Hello\\u0020World')]", True),
        ("$[?(@.first-name)]", False),
    ],
)
def test_a_filter_on_an_object(expression, expected):
    assert compile_filter(expression).matches(ORDER) is expected


def test_a_list_matches_when_one_of_its_elements_does():
    matcher = compile_filter("$[?(@.qty > 1)]")
    assert matcher.matches(ORDER["items"])
    assert not matcher.matches([{"qty": 1}, "x", None])
    assert not matcher.matches([])


@pytest.mark.parametrize("payload", [None, 1, "DECLINED", True, 2.5, [[1]], {"status": ["DECLINED"]}])
def test_other_payloads_do_not_match_and_do_not_fail(payload):
    assert not compile_filter("$[?(@.status == 'DECLINED')]").matches(payload)


def test_the_expression_is_kept():
    assert compile_filter("$[?(@.a)]").expression == "$[?(@.a)]"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        (
            "@.status == 'X'",
            "Invalid filter at position 1: a filter must be a predicate of the form $[?(...)], "
            "e.g. $[?(@.status == 'NEW')].",
        ),
        (
            "$.status",
            "Invalid filter at position 1: a filter must be a predicate of the form $[?(...)], "
            "e.g. $[?(@.status == 'NEW')].",
        ),
        (
            "$[?(@.a == 1)",
            "Invalid filter at position 14: a filter must be a predicate of the form $[?(...)], "
            "e.g. $[?(@.status == 'NEW')].",
        ),
        ("$[?()]", "Invalid filter at position 5: the predicate between $[?( and )] is empty."),
        (
            "$[?(@.a == )]",
            "Invalid filter at position 12: expected a path (@.field) or a value, found the end of the predicate.",
        ),
        ("$[?(@.a == 'x)]", "Invalid filter at position 12: the string starting here has no closing '."),
        (
            "$[?(@.a == tru)]",
            "Invalid filter at position 12: expected a path (@.field), a quoted string, a number, "
            "true, false or null, found 'tru'.",
        ),
        (
            "$[?(@.a === 1)]",
            "Invalid filter at position 11: expected a path (@.field), a quoted string, a number, "
            "true, false or null, found '= 1'.",
        ),
        (
            "$[?(@.a == 'x' @.b)]",
            "Invalid filter at position 16: unexpected '@.b'; expected &&, || or the end of the predicate.",
        ),
        (
            "$[?((@.a == 1)]",
            "Invalid filter at position 14: expected ) to close the ( at position 5, found the end of the predicate.",
        ),
        (
            "$[?(1 == 1 2)]",
            "Invalid filter at position 12: unexpected '2'; expected &&, || or the end of the predicate.",
        ),
        (
            "$[?('x')]",
            "Invalid filter at position 8: expected a comparison after the value, found the end of the predicate.",
        ),
        ("$[?(@.a in 'x')]", "Invalid filter at position 9: in takes a list such as ['A', 'B'] or a path."),
        ("$[?(@.a empty 1)]", "Invalid filter at position 9: empty takes true or false, e.g. @.items empty false."),
        ("$[?(@.a size 'x')]", "Invalid filter at position 9: size takes a whole number, e.g. @.items size 2."),
        (
            "$[?(@.a =~ 'x')]",
            "Invalid filter at position 12: =~ takes a regular expression such as /^A.*/i, found \"'x'\".",
        ),
        ("$[?(@.a =~ /x)]", "Invalid filter at position 12: the regular expression starting here has no closing /."),
        (
            "$[?(@.a =~ /(x/)]",
            "Invalid filter at position 13: the regular expression is not valid: missing ), unterminated subpattern.",
        ),
        (
            "$[?(@..a)]",
            "Invalid filter at position 6: deep scan (..) is not supported in a filter; name the path in full.",
        ),
        ("$[?(@.*)]", "Invalid filter at position 7: expected a field name after '.', found '*'."),
        ("$[?(@.a.length() > 2)]", "Invalid filter at position 9: functions such as length() are not supported."),
        ("$[?(@[*])]", "Invalid filter at position 7: expected an index or a quoted name in [...], found '*]'."),
        (
            "$[?(@['a','b'])]",
            "Invalid filter at position 10: expected ] (one name or index per bracket), found \",'b']\".",
        ),
        ("$[?(@.a in ['x' 'y'])]", "Invalid filter at position 17: expected , or ] in the list, found \"'y']\"."),
        ("$[?(@.a == 'x\\q')]", "Invalid filter at position 14: unknown escape \\q in a string."),
        ("$[?(@.a == '\\u12')]", "Invalid filter at position 13: \\u must be followed by four hexadecimal digits."),
        (
            "$[?(@.a == 01)]",
            "Invalid filter at position 13: unexpected '1'; expected &&, || or the end of the predicate.",
        ),
    ],
)
def test_refusals_say_what_and_where(expression, message):
    with pytest.raises(JsonPathError) as caught:
        compile_filter(expression)
    assert str(caught.value) == message
    assert caught.value.offset == int(message.split("position ")[1].split(":")[0]) - 1


def test_the_length_is_bounded():
    longest = "$[?(@.a == '" + "x" * 985 + "')]"
    assert len(longest) == 1000
    compile_filter(longest)
    with pytest.raises(JsonPathError, match="a filter may be at most 1,000 characters long"):
        compile_filter(longest.replace("'x", "'xx"))


def test_the_nesting_is_bounded():
    compile_filter("$[?(" + "(" * 32 + "@.a" + ")" * 32 + ")]")
    with pytest.raises(JsonPathError, match="the predicate nests more than 32 levels deep"):
        compile_filter("$[?(" + "(" * 33 + "@.a" + ")" * 33 + ")]")
    with pytest.raises(JsonPathError, match="the predicate nests more than 32 levels deep"):
        compile_filter("$[?(" + "!" * 33 + "@.a)]")


@pytest.mark.parametrize(
    ("regex", "reason"),
    [
        ("(a+)+b", "a repeated group may not contain a repetition or alternatives"),
        ("(a|aa)*", "a repeated group may not contain a repetition or alternatives"),
        ("(x?)+", "a repeated group may not contain a repetition or alternatives"),
        ("(a)\\1", "backreferences (\\1) may take exponential time"),
        ("(?P<a>x)(?P=a)", "backreferences ((?P=...)) may take exponential time"),
        ("(?=a)a", "lookarounds"),
        ("(?<!a)b", "lookarounds"),
        ("(a)?(?(1)b|c)", "conditional groups"),
        ("a{101}", "the repetition count 101 is over 100"),
        (".*a.*b.*c", "may backtrack about 1,000,000,000 times on a text of 1,000 characters; at most 10,000,000"),
        ("a?" * 24, "may backtrack about 16,777,216 times"),
        ("x" * 201, "the regular expression is 201 characters long; at most 200"),
    ],
)
def test_costly_regular_expressions_are_refused(regex, reason):
    with pytest.raises(JsonPathError, match="Invalid filter at position") as caught:
        compile_filter(f"$[?(@.a =~ /{regex}/)]")
    assert reason in str(caught.value)


@pytest.mark.parametrize(
    "regex",
    [".*", "^A.*Z$", ".*foo.*", "[a-z]+@[a-z]+\\.com", "(abc)+", "(?:ab)*c", "(?i)x", "a{2,5}b{3}", "[(|)]+", "x{,3}"],
)
def test_ordinary_regular_expressions_are_accepted(regex):
    compile_filter(f"$[?(@.a =~ /{regex}/)]")


def test_a_regex_is_tried_on_long_texts_only_within_its_bound():
    matcher = compile_filter("$[?(@.a =~ /.*x.*/)]")
    assert matcher.matches({"a": "y" * 3000 + "x"})
    assert not matcher.matches({"a": "y" * 4000 + "x"})  # over 10,000,000 steps for two unbounded repetitions
    assert compile_filter("$[?(@.a =~ /y*x/)]").matches({"a": "y" * 100_000 + "x"})


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from("abcs"), children, max_size=4),
    max_leaves=20,
)
NAMES = st.sampled_from(["a", "b", "c", "s"])
PATHS = st.lists(NAMES | st.integers(-2, 2), max_size=3).map(
    lambda steps: "@" + "".join(f".{s}" if isinstance(s, str) else f"[{s}]" for s in steps)
)
SCALARS = st.sampled_from(["1", "-2.5", "1e3", "'x'", '"a\\"b"', "true", "false", "null", "''"])
LISTS = st.lists(SCALARS, max_size=3).map(lambda items: "[" + ", ".join(items) + "]")
RELATIONS = st.one_of(
    PATHS,
    st.tuples(PATHS, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), SCALARS | PATHS).map(" ".join),
    st.tuples(PATHS, st.sampled_from(["in", "nin", "subsetof", "anyof", "noneof", "=="]), LISTS).map(" ".join),
    st.tuples(PATHS, st.sampled_from(["=~ /x.*/", "=~ /[ab]+/i", "empty true", "empty false", "size 2"])).map(" ".join),
)
PREDICATES = st.recursive(
    RELATIONS,
    lambda inner: st.one_of(
        inner.map(lambda p: f"!({p})"),
        st.tuples(inner, st.sampled_from(["&&", "||"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
    ),
    max_leaves=8,
)


@settings(max_examples=300)
@given(predicate=PREDICATES, payload=JSON)
def test_matching_never_raises(predicate, payload):
    matcher = compile_filter(f"$[?({predicate})]")
    assert matcher.matches(payload) in (True, False)


@settings(max_examples=300)
@given(predicate=PREDICATES, payload=JSON)
def test_negation_is_the_complement(predicate, payload):
    assert compile_filter(f"$[?(!({predicate}))]").matches(payload) is not compile_filter(f"$[?({predicate})]").matches(
        payload
    ) or isinstance(payload, list)


@given(st.text(max_size=60))
def test_compiling_any_text_either_works_or_says_where(text):
    for expression in (text, f"$[?({text})]"):
        offset = refusal_offset(expression)
        assert offset is None or 0 <= offset <= len(expression)


def refusal_offset(expression: str) -> int | None:
    try:
        compile_filter(expression)
    except JsonPathError as error:
        return error.offset
    return None


@given(st.text(max_size=30))
def test_a_quoted_string_reads_back_as_itself(text):
    quoted = "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    assert compile_filter(f"$[?(@.v == {quoted})]").matches({"v": text})
