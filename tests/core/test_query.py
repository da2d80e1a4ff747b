"""Unit tests for the Emporix ``q`` parser and its SQL compiler (no database needed)."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segment_service.core.query import (
    MAX_IN_VALUES,
    MAX_JSON_DEPTH,
    MAX_Q_LENGTH,
    MAX_REGEX_LENGTH,
    MAX_TERMS,
    Field,
    FieldKind,
    Op,
    QueryError,
    Resolved,
    Term,
    Value,
    compile_q,
    parse_q,
    resolve_path,
)
from segment_service.core.query import _parse as grammar
from segment_service.core.query._regex import RegexRefused, check_regex

REGISTRY = {
    "id": Field("id", FieldKind.TEXT),
    "name": Field("name", FieldKind.LOCALIZED),
    "status": Field("status", FieldKind.TEXT),
    "siteCode": Field("site_code", FieldKind.TEXT),
    "validity.from": Field("valid_from", FieldKind.DATETIME),
    "metadata.version": Field("version", FieldKind.NUMBER),
    "active": Field("active", FieldKind.BOOLEAN),
    "mixins": Field("mixins", FieldKind.JSON),
}
WS = " \t\r\n\f\v"
PLACEHOLDER = re.compile(r"\$(\d+)")


def compiled(q: str, prefill: list[object] | None = None) -> tuple[str, list[object]]:
    params: list[object] = list(prefill or [])
    return compile_q(q, REGISTRY, params), params


def expect_error(q: str, message: str) -> None:
    with pytest.raises(QueryError) as info:
        compiled(q)
    assert message in info.value.message


def eq(field: str, text: str, quoted: bool = False) -> Term:
    return Term(field, Op.EQ, (Value(text, quoted),))


# ------------------------------------------------------------------------------------------------ grammar forms
@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("status:ACTIVE", (eq("status", "ACTIVE"),)),
        ("  status:ACTIVE \t siteCode:main\n", (eq("status", "ACTIVE"), eq("siteCode", "main"))),
        ("metadata.version:15", (eq("metadata.version", "15"),)),
        ("categoryRestricted:true", (eq("categoryRestricted", "true"),)),
        ("mixins.customAttributes.maxOrderQuantity:3", (eq("mixins.customAttributes.maxOrderQuantity", "3"),)),
        ("description.en:null", (Term("description.en", Op.NULL),)),
        ("mixins.mixinName:exists", (Term("mixins.mixinName", Op.EXISTS),)),
        ("name.de:missing", (Term("name.de", Op.MISSING),)),
        ("price:>10", (Term("price", Op.GT, (Value("10"),)),)),
        ("price:<10", (Term("price", Op.LT, (Value("10"),)),)),
        ("price:>=10.5", (Term("price", Op.GE, (Value("10.5"),)),)),
        ("price:<=-3", (Term("price", Op.LE, (Value("-3"),)),)),
        ('validity.from:>"2021-05-18T07:27Z"', (Term("validity.from", Op.GT, (Value("2021-05-18T07:27Z", True),)),)),
        ("validity.from:<2021-05-18T07:27Z", (Term("validity.from", Op.LT, (Value("2021-05-18T07:27Z"),)),)),
        ("price:(>=10 AND <=20)", (Term("price", Op.RANGE, bounds=((Op.GE, Value("10")), (Op.LE, Value("20")))),)),
        ("price:( > 1  and  < 2 )", (Term("price", Op.RANGE, bounds=((Op.GT, Value("1")), (Op.LT, Value("2")))),)),
        (
            'metadata.createdAt:(>="2021-05-18T07:27:27.455Z" AND <"2021-05-20T07:27:27.455Z")',
            (
                Term(
                    "metadata.createdAt",
                    Op.RANGE,
                    bounds=(
                        (Op.GE, Value("2021-05-18T07:27:27.455Z", True)),
                        (Op.LT, Value("2021-05-20T07:27:27.455Z", True)),
                    ),
                ),
            ),
        ),
        ("price:(>=10)", (Term("price", Op.GE, (Value("10"),)),)),
        ("id:(5c33f,5c334)", (Term("id", Op.IN, (Value("5c33f"), Value("5c334"))),)),
        ("id:( 5c33f , 5c334 )", (Term("id", Op.IN, (Value("5c33f"), Value("5c334"))),)),
        ('id:("a,b", c ,"d)")', (Term("id", Op.IN, (Value("a,b", True), Value("c"), Value("d)", True))),)),
        ("id:(Red Wine,White)", (Term("id", Op.IN, (Value("Red Wine"), Value("White"))),)),
        ("id:(single)", (Term("id", Op.IN, (Value("single"),)),)),
        ("code:~ABCD12", (Term("code", Op.REGEX, (Value("ABCD12"),)),)),
        ("code:(~AB CD)", (Term("code", Op.REGEX, (Value("AB CD"),)),)),
        ("code:( ~AB CD)", (Term("code", Op.REGEX, (Value("AB CD"),)),)),
        ("name.en:~(Yoghurt im)", (Term("name.en", Op.REGEX, (Value("Yoghurt im"),)),)),
        ("code:~(a|b)c", (Term("code", Op.REGEX, (Value("(a|b)c"),)),)),
        ("code:(~(a|b) [)] x)", (Term("code", Op.REGEX, (Value("(a|b) [)] x"),)),)),
        (r"code:~a\)b", (Term("code", Op.REGEX, (Value(r"a\)b"),)),)),
        ("code:~[[:alpha:]]+", (Term("code", Op.REGEX, (Value("[[:alpha:]]+"),)),)),
        ("code:~[]a]", (Term("code", Op.REGEX, (Value("[]a]"),)),)),
        ('name:"Red Wine"', (eq("name", "Red Wine", quoted=True),)),
        ('name:""', (eq("name", "", quoted=True),)),
        (r'name:"say \"hi\" \\ ok"', (eq("name", 'say "hi" \\ ok', quoted=True),)),
        (r'name:"C:\dir"', (eq("name", r"C:\dir", quoted=True),)),
        ('status:"null"', (eq("status", "null", quoted=True),)),
        ('status:"exists"', (eq("status", "exists", quoted=True),)),
        ("status:Null", (eq("status", "Null"),)),
        ("status:nullable", (eq("status", "nullable"),)),
        ("status:a:b(c)", (eq("status", "a:b(c)"),)),
        ("status:=x", (eq("status", "=x"),)),
        ("status:ACTIVE status:INACTIVE", (eq("status", "ACTIVE"), eq("status", "INACTIVE"))),
        ("name.en-US:x", (eq("name.en-US", "x"),)),
        ("status:Grüße", (eq("status", "Grüße"),)),
        ("", ()),
        (" \t\n ", ()),
    ],
)
def test_parse_forms(q: str, expected: tuple[Term, ...]) -> None:
    assert parse_q(q) == expected


def test_parse_results_are_cached() -> None:
    assert parse_q("status:ACTIVE id:(a,b)") is parse_q("status:ACTIVE id:(a,b)")


def test_general_parser_agrees_with_fast_path() -> None:
    q = 'a:1 b:>2 c:"x" d:(e, f) g:(>=1 AND <"z") h:null'
    fast = parse_q(q)
    slow, i, n = [], 0, len(q)
    while i < n:
        term, i = grammar._parse_term(q, i, n)
        slow.append(term)
        i = grammar._span(grammar._WS_RUN, q, i)
    assert tuple(slow) == fast


# ------------------------------------------------------------------------------------------------ syntax errors
@pytest.mark.parametrize(
    ("q", "message"),
    [
        ("status", "position 7: expected ':' after field name 'status'"),
        ("status ACTIVE", "expected ':' after field name 'status'"),
        ("a:1 b", "position 6: expected ':' after field name 'b'"),
        (":x", "expected a field name"),
        ("status:", "expected a value after 'status:'"),
        ("status: x", "expected a value after 'status:'"),
        ("a..b:1", "empty part between dots"),
        (".a:1", "empty part between dots"),
        ("mixins.a$:1", "unexpected '$' in field name"),
        ('status:"abc', "position 8: this double quote is never closed"),
        ('status:"abc\\"', "never closed"),
        ("id:(a,b", "position 4: '(' is never closed"),
        ('id:("a"', "'(' is never closed"),
        ("id:(a b", "'(' is never closed"),
        ("id:()", "the list for 'id' is empty"),
        ("id:( )", "the list for 'id' is empty"),
        ("id:(a,,b)", "empty value in the list for 'id'"),
        ("id:(a,)", "empty value in the list for 'id'"),
        ('id:("a" "b")', "expected ',' or ')' in the list for 'id'"),
        ("id:(a)b", "unexpected 'b' after the condition on 'id'"),
        ('status:"a"b', "unexpected 'b' after the condition on 'status'"),
        ("price:>", "expected a value after 'price:>'"),
        ("price:>= 5", "expected a value after 'price:>='"),
        ("price:(>=1 OR <2)", "expected ' AND ' or ')' in the range for 'price'"),
        ("price:(>=1AND <2)", "expected ' AND ' or ')'"),
        ("price:(>=1 AND)", "expected a comparison (>, <, >=, <=) after AND"),
        ("price:(>=1 AND 2)", "expected a comparison"),
        ("price:(>=1 AND <2", "'(' is never closed"),
        ("price:(>= )", "expected a value after '>='"),
        ("code:~", "empty regex for 'code'"),
        ("code:(~)", "empty regex for 'code'"),
        ("code:(~abc", "'(' is never closed"),
        ("code:~abc)", "unbalanced ')' in the regex"),
        ("code:~(abc", "unbalanced '(' in the regex"),
        ("code:~[abc", "unclosed '[' in the regex"),
        ("code:~[[:alpha]", "unclosed '[' in the regex"),
        ("code:~abc\\", "lone backslash"),
        ("status:a\x00b", "NUL"),
        ("status:\ud800", "surrogate"),
    ],
)
def test_syntax_errors(q: str, message: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_q(q)
    assert message in info.value.message
    assert str(info.value) == info.value.message
    assert info.value.message.endswith(".")


def test_limits() -> None:
    with pytest.raises(QueryError, match=f"maximum is {MAX_Q_LENGTH}"):
        parse_q("status:" + "x" * MAX_Q_LENGTH)
    assert len(parse_q(" ".join(["status:x"] * MAX_TERMS))) == MAX_TERMS
    with pytest.raises(QueryError, match=f"more than {MAX_TERMS} terms"):
        parse_q(" ".join(["status:x"] * (MAX_TERMS + 1)))
    assert len(parse_q("id:(" + ",".join(["v"] * MAX_IN_VALUES) + ")")[0].values) == MAX_IN_VALUES
    with pytest.raises(QueryError, match=f"more than {MAX_IN_VALUES} values"):
        parse_q("id:(" + ",".join(["v"] * (MAX_IN_VALUES + 1)) + ")")
    with pytest.raises(QueryError, match=f"more than {MAX_IN_VALUES} values"):
        parse_q("id:(" + ",".join(['""'] * (MAX_IN_VALUES + 1)) + ")")
    assert parse_q("code:~" + "a" * MAX_REGEX_LENGTH)[0].op is Op.REGEX
    for q in ("code:~" + "a" * (MAX_REGEX_LENGTH + 1), "code:(~" + "a " * 200 + ")"):
        with pytest.raises(QueryError, match=f"the maximum is {MAX_REGEX_LENGTH}"):
            parse_q(q)


# ------------------------------------------------------------------------------------------------ resolution
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("siteCode", Resolved("site_code", FieldKind.TEXT)),
        ("validity.from", Resolved("valid_from", FieldKind.DATETIME)),
        ("name", Resolved("name", FieldKind.LOCALIZED)),
        ("name.en", Resolved("(name ->> 'en')", FieldKind.TEXT)),
        ("name.de-CH", Resolved("(name ->> 'de-CH')", FieldKind.TEXT)),
        ("mixins", Resolved("mixins", FieldKind.JSON)),
        ("mixins.a", Resolved("(mixins #> '{a}')", FieldKind.JSON)),
        ("mixins.a.b_c.d-e.1", Resolved("(mixins #> '{a,b_c,d-e,1}')", FieldKind.JSON)),
        ("mixins.null.NULL", Resolved('(mixins #> \'{"null","NULL"}\')', FieldKind.JSON)),
    ],
)
def test_resolve_path(path: str, expected: Resolved) -> None:
    assert resolve_path(path, REGISTRY) == expected


def test_resolve_path_parenthesises_expressions() -> None:
    registry = {"full": Field("first || ' ' || last", FieldKind.TEXT), "t": Field("p.title", FieldKind.LOCALIZED)}
    assert resolve_path("full", registry).sql == "(first || ' ' || last)"
    assert resolve_path("t.en", registry).sql == "(p.title ->> 'en')"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("colour", "Unknown field 'colour'; known fields: active, id, metadata.version, mixins, name, siteCode, "),
        ("metadata.createdAt", "Unknown field 'metadata.createdAt'"),
        ("name.e", "'name' is localized"),
        ("name.toolonglanguage", "'name' is localized"),
        ("name.en.x", "'name' is localized"),
        ("name.e'n", "'name' is localized"),
        ("name.", "'name' is localized"),
        ("mixins.a'b", 'invalid key "a\'b"'),
        ("mixins.a}b", "invalid key 'a}b'"),
        ("mixins." + "k" * 101, "invalid key"),
        ("mixins.a..b", "invalid key ''"),
        ("mixins" + ".k" * (MAX_JSON_DEPTH + 1), f"deeper than {MAX_JSON_DEPTH} keys"),
        ("status.x", "'status' has no sub-fields"),
        ("validity.from.x", "'validity.from' has no sub-fields"),
    ],
)
def test_resolve_path_errors(path: str, message: str) -> None:
    with pytest.raises(QueryError) as info:
        resolve_path(path, REGISTRY)
    assert message in info.value.message


def test_json_depth_limit_is_inclusive() -> None:
    assert resolve_path("mixins" + ".k" * MAX_JSON_DEPTH, REGISTRY).kind is FieldKind.JSON


# ------------------------------------------------------------------------------------------------ compiling
def test_blank_q_is_no_filter() -> None:
    params: list[object] = ["tenant"]
    for q in (None, "", "   "):
        assert compile_q(q, REGISTRY, params) == "TRUE"
    assert params == ["tenant"]


def test_placeholders_continue_after_prefilled_params() -> None:
    sql, params = compiled("status:ACTIVE siteCode:main", ["tenant"])
    assert sql == "status = $2::text AND site_code = $3::text"
    assert params == ["tenant", "ACTIVE", "main"]


def test_failed_compile_leaves_params_untouched() -> None:
    params: list[object] = ["tenant"]
    with pytest.raises(QueryError):
        compile_q("status:ACTIVE metadata.version:abc", REGISTRY, params)
    assert params == ["tenant"]


@pytest.mark.parametrize(
    ("q", "sql", "params"),
    [
        ("status:ACTIVE", "status = $1::text", ["ACTIVE"]),
        ('status:"null"', "status = $1::text", ["null"]),
        ("status:null", "status IS NULL", []),
        ("status:missing", "status IS NULL", []),
        ("status:exists", "status IS NOT NULL", []),
        ("status:(A,B)", "status = ANY($1::text[])", [["A", "B"]]),
        ("status:>M", "status > $1::text", ["M"]),
        ("status:(>=A AND <B)", "(status >= $1::text AND status < $2::text)", ["A", "B"]),
        ("status:~^AC.*", "status ~ $1::text", ["^AC.*"]),
        ("status:(~A B)", "status ~ $1::text", ["A B"]),
    ],
)
def test_text_fields(q: str, sql: str, params: list[object]) -> None:
    assert compiled(q) == (sql, params)


@pytest.mark.parametrize(
    ("q", "sql", "params"),
    [
        ("metadata.version:15", "version = $1::numeric", [Decimal(15)]),
        ('metadata.version:"15"', "version = $1::numeric", [Decimal(15)]),
        ("metadata.version:-1.5e3", "version = $1::numeric", [Decimal("-1500")]),
        ("metadata.version:>.5", "version > $1::numeric", [Decimal("0.5")]),
        ("metadata.version:(1,2.5)", "version = ANY($1::numeric[])", [[Decimal(1), Decimal("2.5")]]),
        ("metadata.version:(>=1 AND <2)", "(version >= $1::numeric AND version < $2::numeric)", [1, 2]),
        ("metadata.version:null", "version IS NULL", []),
        ("metadata.version:exists", "version IS NOT NULL", []),
    ],
)
def test_number_fields(q: str, sql: str, params: list[object]) -> None:
    assert compiled(q) == (sql, params)


@pytest.mark.parametrize("value", ["abc", "1,5", "NaN", "Infinity", "0x10", "1e", "--1", "1e99999", "1e2000", "١٢"])
def test_bad_numbers(value: str) -> None:
    expect_error(f'metadata.version:"{value}"', "Field 'metadata.version' in q expects a number")


def test_number_rejects_regex() -> None:
    expect_error("metadata.version:~1", "'metadata.version' in q holds numbers; regex")


@pytest.mark.parametrize(
    ("q", "sql", "params"),
    [
        ("active:true", "active = $1::boolean", [True]),
        ("active:FALSE", "active = $1::boolean", [False]),
        ('active:"True"', "active = $1::boolean", [True]),
        ("active:null", "active IS NULL", []),
        ("active:missing", "active IS NULL", []),
        ("active:exists", "active IS NOT NULL", []),
    ],
)
def test_boolean_fields(q: str, sql: str, params: list[object]) -> None:
    assert compiled(q) == (sql, params)


@pytest.mark.parametrize(
    ("q", "message"),
    [
        ("active:yes", "Field 'active' in q expects true or false, got 'yes'"),
        ("active:1", "expects true or false"),
        ("active:(true,false)", "Field 'active' in q is a boolean; use active:true, active:false"),
        ("active:>false", "is a boolean"),
        ("active:~t", "is a boolean"),
        ("active:(>a AND <b)", "is a boolean"),
    ],
)
def test_boolean_errors(q: str, message: str) -> None:
    expect_error(q, message)


UTC_18 = datetime(2021, 5, 18, 7, 27, 27, 455000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("q", "sql", "params"),
    [
        ('validity.from:"2021-05-18T07:27:27.455Z"', "valid_from = $1::timestamptz", [UTC_18]),
        ("validity.from:>2021-05-18T07:27:27.455Z", "valid_from > $1::timestamptz", [UTC_18]),
        ("validity.from:2021-05-18T09:27:27.455+02:00", "valid_from = $1::timestamptz", [UTC_18]),
        ("validity.from:<=2021-05-18", "valid_from <= $1::timestamptz", [datetime(2021, 5, 18, tzinfo=UTC)]),
        ("validity.from:2021-05-18T07:27:27.455", "valid_from = $1::timestamptz", [UTC_18]),
        (
            'validity.from:(>="2021-05-18T07:27:27.455Z" AND <2021-05-20)',
            "(valid_from >= $1::timestamptz AND valid_from < $2::timestamptz)",
            [UTC_18, datetime(2021, 5, 20, tzinfo=UTC)],
        ),
        (
            "validity.from:(2021-05-18,2021-05-19)",
            "valid_from = ANY($1::timestamptz[])",
            [[datetime(2021, 5, 18, tzinfo=UTC), datetime(2021, 5, 19, tzinfo=UTC)]],
        ),
        ("validity.from:missing", "valid_from IS NULL", []),
    ],
)
def test_datetime_fields(q: str, sql: str, params: list[object]) -> None:
    assert compiled(q) == (sql, params)


@pytest.mark.parametrize("value", ["yesterday", "2021-13-01", "2021-05-18T25:00", "18.05.2021", "9999-12-31T23:59-14"])
def test_bad_dates(value: str) -> None:
    expect_error(f'validity.from:"{value}"', "'validity.from' in q expects an ISO 8601 date-time")


def test_datetime_rejects_regex() -> None:
    expect_error("validity.from:~2021", "'validity.from' in q holds date-times; regex")


ANY_LANG = (
    "EXISTS (SELECT 1 FROM jsonb_each_text(CASE WHEN jsonb_typeof(name) = 'object' THEN name END) AS q_l(k, v) WHERE "
)


@pytest.mark.parametrize(
    ("q", "sql", "params"),
    [
        ("name.en:Yoghurt", "(name ->> 'en') = $1::text", ["Yoghurt"]),
        ("name.en:~(Yoghurt im)", "(name ->> 'en') ~ $1::text", ["Yoghurt im"]),
        ("name.en:(a,b)", "(name ->> 'en') = ANY($1::text[])", [["a", "b"]]),
        ("name.en:null", "(name ->> 'en') IS NULL", []),
        ("name.en:exists", "(name ->> 'en') IS NOT NULL", []),
        ("name:Yoghurt", ANY_LANG + "q_l.v = $1::text)", ["Yoghurt"]),
        ("name:~^Yog", ANY_LANG + "q_l.v ~ $1::text)", ["^Yog"]),
        ("name:(a,b)", ANY_LANG + "q_l.v = ANY($1::text[]))", [["a", "b"]]),
        ("name:>m", ANY_LANG + "q_l.v > $1::text)", ["m"]),
        ("name:(>=a AND <b)", ANY_LANG + "(q_l.v >= $1::text AND q_l.v < $2::text))", ["a", "b"]),
        ("name:exists", "(name IS NOT NULL AND name <> '{}'::jsonb AND name <> 'null'::jsonb)", []),
        ("name:missing", "(name IS NULL OR name = '{}'::jsonb OR name = 'null'::jsonb)", []),
        ("name:null", "(name IS NULL OR name = '{}'::jsonb OR name = 'null'::jsonb)", []),
    ],
)
def test_localized_fields(q: str, sql: str, params: list[object]) -> None:
    assert compiled(q) == (sql, params)


def test_bad_language_tag_in_q() -> None:
    expect_error("name.e:x", "'name' is localized")


X = "(mixins #> '{a,b}')"
T = "(mixins #>> '{a,b}')"


@pytest.mark.parametrize(
    ("q", "sql", "params"),
    [
        ("mixins.a.b:15", f"{T} = $1::text", ["15"]),
        ('mixins.a.b:"15"', f"{T} = $1::text", ["15"]),
        ("mixins.a.b:true", f"{T} = $1::text", ["true"]),
        ("mixins.a.b:(x,1)", f"{T} = ANY($1::text[])", [["x", "1"]]),
        ("mixins.a.b:~^x", f"{T} ~ $1::text", ["^x"]),
        ("mixins.a.b:>5", f"CASE WHEN jsonb_typeof({X}) = 'number' THEN {T}::numeric END > $1::numeric", [Decimal(5)]),
        ('mixins.a.b:>"5"', f"CASE WHEN jsonb_typeof({X}) = 'string' THEN {T} END > $1::text", ["5"]),
        ("mixins.a.b:<=2021-05-18", f"CASE WHEN jsonb_typeof({X}) = 'string' THEN {T} END <= $1::text", ["2021-05-18"]),
        (
            "mixins.a.b:(>=1 AND <z)",
            f"(CASE WHEN jsonb_typeof({X}) = 'number' THEN {T}::numeric END >= $1::numeric"
            f" AND CASE WHEN jsonb_typeof({X}) = 'string' THEN {T} END < $2::text)",
            [Decimal(1), "z"],
        ),
        ("mixins.a.b:exists", f"({X} IS NOT NULL AND jsonb_typeof({X}) <> 'null')", []),
        ("mixins.a.b:missing", f"({X} IS NULL OR jsonb_typeof({X}) = 'null')", []),
        ("mixins.a.b:null", f"({X} IS NULL OR jsonb_typeof({X}) = 'null')", []),
        ("mixins:exists", "(mixins IS NOT NULL AND jsonb_typeof(mixins) <> 'null')", []),
        ("mixins:missing", "(mixins IS NULL OR jsonb_typeof(mixins) = 'null')", []),
    ],
)
def test_json_fields(q: str, sql: str, params: list[object]) -> None:
    assert compiled(q) == (sql, params)


@pytest.mark.parametrize("q", ["mixins:x", "mixins:(a,b)", "mixins:~x", "mixins:>1"])
def test_bare_json_supports_only_presence(q: str) -> None:
    expect_error(q, "'mixins' in q supports only exists and missing")


def test_unknown_field_in_q() -> None:
    expect_error("status:ACTIVE colour:red", "Unknown field 'colour'; known fields: active, id, ")


def test_several_terms_and_repeated_fields() -> None:
    sql, params = compiled("metadata.version:>1 metadata.version:<5 name.en:~Yog mixins.k:exists", ["t"])
    assert sql == (
        "version > $2::numeric AND version < $3::numeric AND (name ->> 'en') ~ $4::text"
        " AND ((mixins #> '{k}') IS NOT NULL AND jsonb_typeof((mixins #> '{k}')) <> 'null')"
    )
    assert params == ["t", Decimal(1), Decimal(5), "Yog"]


@pytest.mark.parametrize(
    "value",
    ["x' OR 1=1 --", "'; DROP TABLE segments; --", "$$x$$", "\\'", 'a"b', "{a,b}", "Robert'); --"],
)
def test_values_never_reach_sql_text(value: str) -> None:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    for q in (f'status:"{escaped}"', f'name:"{escaped}"', f'mixins.k:"{escaped}"', f'id:("{escaped}",x)'):
        sql, params = compiled(q)
        assert value not in sql
        assert value in params or [value, "x"] in params


# ------------------------------------------------------------------------------------------------ properties
QUERYISH = st.lists(st.sampled_from([*'ab1.:()~<>=",\\ \t-_AND[]^$|', "null", "exists", "name", "mixins"])).map("".join)
ANY_TEXT = st.text(max_size=200) | QUERYISH


@settings(max_examples=400)
@given(ANY_TEXT)
def test_parse_never_raises_anything_but_query_error(text: str) -> None:
    try:
        terms: tuple[Term, ...] | None = parse_q(text)
    except QueryError as exc:
        terms, failure = None, exc.message
    if terms is None:
        assert failure
    else:
        assert all(isinstance(term, Term) for term in terms)


FUZZ_FIELDS = st.sampled_from([*REGISTRY, "name.en", "name.de-CH", "mixins.a", "mixins.a.b", "unknown", "status.x"])
FUZZ_EXPR = st.lists(st.sampled_from([*'aZ19.-:()~<>=",\\ TtrueAND[]^', "2021-05-18", "null", "exists"])).map("".join)


@settings(max_examples=400)
@given(st.lists(st.tuples(FUZZ_FIELDS, FUZZ_EXPR), max_size=5), st.integers(0, 3), ANY_TEXT, st.booleans())
def test_compile_returns_sql_with_one_placeholder_per_param(
    pieces: list[tuple[str, str]], prefill: int, noise: str, use_noise: bool
) -> None:
    text = noise if use_noise else " ".join(f"{field}:{expr}" for field, expr in pieces)
    params: list[object] = ["p"] * prefill
    try:
        sql: str | None = compile_q(text, REGISTRY, params)
    except QueryError as exc:
        sql, failure = None, exc.message
    if sql is None:
        assert failure
        assert params == ["p"] * prefill  # untouched on failure
        return
    assert isinstance(sql, str)
    numbers = [int(n) for n in PLACEHOLDER.findall(sql)]
    assert len(numbers) == len(set(numbers)) == len(params) - prefill
    assert sorted(numbers) == list(range(prefill + 1, len(params) + 1))


# Strategy over the grammar: each draw renders one term and the Term it must parse to.
VALUE_CHARS = st.characters(codec="utf-8", exclude_characters=WS + "\x00")
FIELD_NAMES = st.from_regex(r"[A-Za-z0-9_\-]{1,8}(\.[A-Za-z0-9_\-]{1,8}){0,3}", fullmatch=True)
CMP_OPS = st.sampled_from([Op.GT, Op.GE, Op.LT, Op.LE])
WS_RUN = st.text(alphabet=st.sampled_from(list(WS)), min_size=1, max_size=3)
OPT_WS = st.text(alphabet=st.sampled_from(list(WS)), max_size=2)


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def quoted_values(draw: st.DrawFn) -> tuple[str, Value]:
    text = draw(st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20))
    return quote(text), Value(text, True)


@st.composite
def bare_values(draw: st.DrawFn, stop: str = "", first_not: str = '"(~<>') -> tuple[str, Value]:
    text = draw(st.text(VALUE_CHARS, min_size=1, max_size=20).filter(lambda t: t[0] not in first_not))
    text = "".join(ch for ch in text if ch not in stop) or "v"
    return text, Value(text)


@st.composite
def terms(draw: st.DrawFn) -> tuple[str, Term]:
    field = draw(FIELD_NAMES)
    form = draw(st.sampled_from(["eq", "quoted", "keyword", "cmp", "range", "in", "regex", "regex_paren", "paren_re"]))
    if form == "eq":
        rendered, value = draw(bare_values())
        keyword = {"null": Op.NULL, "exists": Op.EXISTS, "missing": Op.MISSING}.get(rendered)
        return f"{field}:{rendered}", Term(field, keyword) if keyword else Term(field, Op.EQ, (value,))
    if form == "quoted":
        rendered, value = draw(quoted_values())
        return f"{field}:{rendered}", Term(field, Op.EQ, (value,))
    if form == "keyword":
        word = draw(st.sampled_from(["null", "exists", "missing"]))
        return f"{field}:{word}", Term(field, Op(word))
    if form == "cmp":
        op = draw(CMP_OPS)
        rendered, value = draw(quoted_values() | bare_values(first_not='"='))
        return f"{field}:{op}{rendered}", Term(field, op, (value,))
    if form == "range":
        bounds, parts = [], []
        for _ in range(2):
            op = draw(CMP_OPS)
            rendered, value = draw(quoted_values() | bare_values(stop=")", first_not='"='))
            bounds.append((op, value))
            parts.append(f"{op}{draw(OPT_WS)}{rendered}")
        and_word = draw(st.sampled_from(["AND", "and", "And"]))
        rendered = f"({draw(OPT_WS)}{parts[0]}{draw(WS_RUN)}{and_word}{draw(WS_RUN)}{parts[1]}{draw(OPT_WS)})"
        return f"{field}:{rendered}", Term(field, Op.RANGE, bounds=tuple(bounds))
    if form == "in":
        items = draw(st.lists(quoted_values() | bare_values(stop=",)", first_not='"~<>'), min_size=1, max_size=5))
        items = [(r.strip(WS), v) if v.quoted else (r.strip(WS), Value(v.text.strip(WS))) for r, v in items]
        items = [(r, v) for r, v in items if r] or [("v", Value("v"))]
        body = ",".join(f"{draw(OPT_WS)}{r}{draw(OPT_WS)}" for r, _ in items)
        return f"{field}:({body})", Term(field, Op.IN, tuple(v for _, v in items))
    regex_chars = "abcXYZ019.*+?|^$-" + (" " if form != "regex" else "")
    # Within the cost bound (core/query/_regex.py), which refuses e.g. `a*+?*` (quantifiers nested 4 deep).
    regex = draw(st.text(st.sampled_from(regex_chars), min_size=1, max_size=40).filter(_within_regex_bound))
    rendered = {"regex": f"~{regex}", "regex_paren": f"(~{regex})", "paren_re": f"~({regex})"}[form]
    return f"{field}:{rendered}", Term(field, Op.REGEX, (Value(regex),))


def _within_regex_bound(regex: str) -> bool:
    try:
        check_regex(regex)
    except RegexRefused:
        return False
    return True


@settings(max_examples=500)
@given(st.lists(terms(), min_size=1, max_size=8), OPT_WS, OPT_WS, st.data())
def test_generated_queries_parse_to_expected_terms(
    drawn: list[tuple[str, Term]], lead: str, trail: str, data: st.DataObject
) -> None:
    separators = [data.draw(WS_RUN) for _ in drawn[1:]] + [""]
    text = lead + "".join(rendered + sep for (rendered, _), sep in zip(drawn, separators, strict=True)) + trail
    assert parse_q(text) == tuple(term for _, term in drawn)


@settings(max_examples=300)
@given(terms())
def test_general_parser_matches_fast_path_on_generated_terms(drawn: tuple[str, Term]) -> None:
    rendered, expected = drawn
    assert grammar._parse_term(rendered, 0, len(rendered)) == (expected, len(rendered))


@settings(max_examples=300)
@given(st.lists(terms(), min_size=1, max_size=4), st.data())
def test_damaged_queries_fail_cleanly(drawn: list[tuple[str, Term]], data: st.DataObject) -> None:
    text = " ".join(rendered for rendered, _ in drawn)
    cut = data.draw(st.integers(0, len(text)))
    junk = data.draw(st.sampled_from(["", *'"()~<>=,:\\ [']))
    damaged = text[:cut] + junk + text[cut + data.draw(st.integers(0, 2)) :]
    with contextlib.suppress(QueryError):  # any other exception fails the test
        compile_q(damaged, REGISTRY, [])


@settings(max_examples=500)
@given(QUERYISH | st.lists(terms(), min_size=1, max_size=1).map(lambda d: d[0][0]))
def test_fast_path_agrees_with_general_parser(text: str) -> None:
    match = grammar._FAST.match(text)
    fast = grammar._fast_term(match) if match else None
    if match is not None and fast is not None:
        assert grammar._parse_term(text, 0, len(text)) == (fast, match.end())


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("code:(A705197727 OR A705197726)", ("A705197727", "A705197726")),  # the product spec's own example
        ('code:("a b" OR "c")', ("a b", "c")),
        ("code:(a,b OR c)", ("a", "b", "c")),
    ],
)
def test_or_between_list_values_is_a_comma(q: str, expected: tuple[str, ...]) -> None:
    (term,) = parse_q(q)
    assert term.op is Op.IN
    assert tuple(v.text for v in term.values) == expected


def test_a_list_of_a_thousand_generated_ids_fits() -> None:
    ids = ",".join(f"{i:024x}" for i in range(1000))
    (term,) = parse_q(f"id:({ids})")
    assert len(term.values) == 1000
