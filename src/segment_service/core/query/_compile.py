"""From parsed ``q`` terms to parameterised PostgreSQL, over a per-resource field registry."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TypeAlias

from segment_service.core.query._parse import (
    MAX_JSON_DEPTH,
    Op,
    QueryError,
    Term,
    Value,
    _show,
    parse_q,
)


class FieldKind(StrEnum):
    """Storage kind of a registered field; decides the operators and parameter casts it gets."""

    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    LOCALIZED = "localized"
    JSON = "json"
    TEXT_ARRAY = "text_array"
    """A text[] column: a value matches when any element equals it (a list: any element is in it; a regex: any
    element matches); `missing`/`null` match an empty array."""
    ABSENT = "absent"
    """A field the resource's spec defines but the service does not store: absent from every resource, so
    `:null` and `:missing` match every resource and any other condition none (docs/behaviour.md#the-q-language)."""


@dataclass(frozen=True, slots=True)
class Field:
    """A queryable field; ``sql`` is written by developers and trusted verbatim."""

    sql: str
    kind: FieldKind
    sortable: bool = True


Registry: TypeAlias = Mapping[str, Field]


def spec_only(*paths: str) -> dict[str, Field]:
    """Registry entries for fields of the spec the service does not store (any sub-path of them too), so that a
    client sending q or sort on them, as SDKs do, gets an answer rather than a 400 "unknown field"."""
    return {path: Field("NULL::text", FieldKind.ABSENT) for path in paths}


@dataclass(frozen=True, slots=True)
class Resolved:
    """SQL expression for a public field path and its kind after resolution."""

    sql: str
    kind: FieldKind


# ---------------------------------------------------------------------------------------------------- resolving
_LANG = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*\Z")
_KEY = re.compile(r"[A-Za-z0-9_\-]{1,100}\Z")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\Z")


@dataclass(frozen=True, slots=True)
class _Target:
    resolved: Resolved
    text_sql: str | None = None  # `#>>` text form of a JSON key path; None for a bare JSON column


def _atom(sql: str) -> str:
    # Parenthesise non-trivial expressions so IS NULL / ~ / = cannot bind to half of, say, "a || b".
    return sql if _IDENT.match(sql) else f"({sql})"


def resolve_path(path: str, registry: Registry) -> Resolved:
    """Resolve a public field path to its SQL expression and kind; raise QueryError if it cannot be addressed."""
    return _resolve(path, registry).resolved


def _resolve(path: str, registry: Registry) -> _Target:
    field = registry.get(path)
    if field is not None:
        return _target(field, path, ())
    # Otherwise the longest registered prefix decides: "name.en" -> "name", "mixins.a.b" -> "mixins".
    cut = path.rfind(".")
    while cut > 0:
        field = registry.get(path[:cut])
        if field is not None:
            return _target(field, path[:cut], tuple(path[cut + 1 :].split(".")))
        cut = path.rfind(".", 0, cut)
    known = ", ".join(sorted((p for p, f in registry.items() if f.kind is not FieldKind.ABSENT), key=str.casefold))
    raise QueryError(f"Unknown field {_show(path)}; known fields: {known}.")


@functools.lru_cache(maxsize=1024)
def _target(field: Field, base: str, rest: tuple[str, ...]) -> _Target:
    # Cached because compile_q resolves every term on every request; the result depends only on these arguments.
    sql = _atom(field.sql)
    if not rest or field.kind is FieldKind.ABSENT:
        return _Target(Resolved(sql, field.kind))
    path = ".".join((base, *rest))
    if field.kind is FieldKind.LOCALIZED:
        if len(rest) != 1 or not _LANG.match(rest[0]):
            raise QueryError(
                f"Field {_show(path)} is not valid: '{base}' is localized, so add exactly one "
                f"language tag such as '{base}.en' or '{base}.de-CH'."
            )
        return _Target(Resolved(f"({sql} ->> '{rest[0]}')", FieldKind.TEXT))
    if field.kind is FieldKind.JSON:
        if len(rest) > MAX_JSON_DEPTH:
            raise QueryError(f"Field {_show(path)} nests deeper than {MAX_JSON_DEPTH} keys below '{base}'.")
        for key in rest:
            if not _KEY.match(key):
                raise QueryError(
                    f"Field {_show(path)} has an invalid key {_show(key)}; keys below '{base}' "
                    "may only use 1-100 letters, digits, '_' and '-'."
                )
        # Quote NULL-like keys: unquoted NULL in a PostgreSQL array literal would be a NULL element.
        keys = ",".join(f'"{k}"' if k.lower() == "null" else k for k in rest)
        return _Target(Resolved(f"({sql} #> '{{{keys}}}')", FieldKind.JSON), f"({sql} #>> '{{{keys}}}')")
    raise QueryError(f"Field {_show(path)} is not valid: '{base}' has no sub-fields.")


# ---------------------------------------------------------------------------------------------------- compiling
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?\Z")
_PRESENCE = (Op.NULL, Op.EXISTS, Op.MISSING)
_Convert: TypeAlias = Callable[[str, Value], object]


class _Binder:
    """Collects parameters locally so a failed compile leaves the caller's list untouched."""

    __slots__ = ("offset", "values")

    def __init__(self, offset: int) -> None:
        self.offset = offset
        self.values: list[object] = []

    def bind(self, value: object, cast: str) -> str:
        self.values.append(value)
        return f"${self.offset + len(self.values)}::{cast}"


def _number(text: str) -> Decimal | None:
    if not _NUMBER.match(text):
        return None
    number = Decimal(text)
    # Keep magnitudes sane so PostgreSQL never reports a numeric overflow for user input.
    return number if abs(number.adjusted()) <= 1000 else None


def _to_text(field: str, v: Value) -> object:
    return v.text


def _to_number(field: str, v: Value) -> object:
    number = _number(v.text)
    if number is None:
        raise QueryError(f"Field '{field}' in q expects a number such as 42 or -1.5, got {_show(v.text)}.")
    return number


def _to_boolean(field: str, v: Value) -> object:
    lowered = v.text.lower()
    if lowered not in ("true", "false"):
        raise QueryError(f"Field '{field}' in q expects true or false, got {_show(v.text)}.")
    return lowered == "true"


def _to_datetime(field: str, v: Value) -> object:
    try:
        moment = datetime.fromisoformat(v.text)
        # A naive date-time (or a bare date, meaning midnight) is taken as UTC.
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise QueryError(
            f"Field '{field}' in q expects an ISO 8601 date-time such as \"2021-05-18T07:27:27.455Z\" "
            f"or a date such as 2021-05-18, got {_show(v.text)}."
        ) from None


_ALL_OPS = frozenset(Op)
_SCALAR: dict[FieldKind, tuple[_Convert, str, frozenset[Op]]] = {
    FieldKind.TEXT: (_to_text, "text", _ALL_OPS),
    FieldKind.NUMBER: (_to_number, "numeric", _ALL_OPS - {Op.REGEX}),
    FieldKind.DATETIME: (_to_datetime, "timestamptz", _ALL_OPS - {Op.REGEX}),
    FieldKind.BOOLEAN: (_to_boolean, "boolean", frozenset({Op.EQ})),
}


def compile_q(text: str | None, registry: Registry, params: list[object]) -> str:
    """Compile q to a SQL boolean expression, appending its bound values to `params` ("TRUE" when q is blank)."""
    terms = parse_q(text) if text else ()
    if not terms:
        return "TRUE"
    return compile_terms(terms, registry, params)


def compile_terms(terms: Sequence[Term], registry: Registry, params: list[object]) -> str:
    """Compile parsed q terms (at least one) to a SQL boolean expression, appending their bound values to
    `params`; on error `params` is left untouched."""
    binder = _Binder(len(params))
    sql = " AND ".join(_compile_term(term, registry, binder) for term in terms)
    params.extend(binder.values)
    return sql


def _compile_term(term: Term, registry: Registry, b: _Binder) -> str:
    target = _resolve(term.field, registry)
    x, kind, op, name = target.resolved.sql, target.resolved.kind, term.op, term.field
    if kind is FieldKind.ABSENT:
        return "TRUE" if op in (Op.NULL, Op.MISSING) else "FALSE"
    if kind is FieldKind.JSON:
        if op is Op.EXISTS:
            return f"({x} IS NOT NULL AND jsonb_typeof({x}) <> 'null')"
        if op in _PRESENCE:
            return f"({x} IS NULL OR jsonb_typeof({x}) = 'null')"
        if target.text_sql is None:
            raise QueryError(
                f"Field '{name}' in q supports only exists and missing; "
                f"address a key inside it such as '{name}.someKey'."
            )
        return _json_condition(x, target.text_sql, term, b)
    if kind is FieldKind.LOCALIZED:
        # An empty map or JSON null holds no translation, so it counts as missing.
        if op is Op.EXISTS:
            return f"({x} IS NOT NULL AND {x} <> '{{}}'::jsonb AND {x} <> 'null'::jsonb)"
        if op in _PRESENCE:
            return f"({x} IS NULL OR {x} = '{{}}'::jsonb OR {x} = 'null'::jsonb)"
        # The CASE keeps jsonb_each_text from raising on a stray non-object value; it matches if ANY language does.
        condition = _typed("q_l.v", term, _to_text, "text", b)
        return (
            f"EXISTS (SELECT 1 FROM jsonb_each_text(CASE WHEN jsonb_typeof({x}) = 'object' THEN {x} END)"
            f" AS q_l(k, v) WHERE {condition})"
        )
    if kind is FieldKind.TEXT_ARRAY:
        return _array_condition(x, term, b)
    if op is Op.EXISTS:
        return f"{x} IS NOT NULL"
    if op in _PRESENCE:
        return f"{x} IS NULL"
    convert, cast, allowed = _SCALAR[kind]
    if op not in allowed:
        if kind is FieldKind.BOOLEAN:
            raise QueryError(
                f"Field '{name}' in q is a boolean; use {name}:true, {name}:false, "
                f"{name}:null, {name}:exists or {name}:missing."
            )
        noun = "numbers" if kind is FieldKind.NUMBER else "date-times"
        raise QueryError(f"Field '{name}' in q holds {noun}; regex (~) works only on text fields.")
    return _typed(x, term, convert, cast, b)


def _typed(lhs: str, term: Term, convert: _Convert, cast: str, b: _Binder) -> str:
    op, name = term.op, term.field
    if op is Op.IN:
        return f"{lhs} = ANY({b.bind([convert(name, v) for v in term.values], cast + '[]')})"
    if op is Op.REGEX:
        return f"{lhs} ~ {b.bind(term.values[0].text, 'text')}"
    if op is Op.RANGE:
        return "(" + " AND ".join(f"{lhs} {o} {b.bind(convert(name, v), cast)}" for o, v in term.bounds) + ")"
    return f"{lhs} {op} {b.bind(convert(name, term.values[0]), cast)}"


def _array_condition(x: str, term: Term, b: _Binder) -> str:
    op, name = term.op, term.field
    if op is Op.EXISTS:
        return f"cardinality({x}) > 0"
    if op in _PRESENCE:
        return f"coalesce(cardinality({x}), 0) = 0"
    if op is Op.EQ:
        return f"{b.bind(term.values[0].text, 'text')} = ANY({x})"
    if op is Op.IN:
        return f"{x} && {b.bind([v.text for v in term.values], 'text[]')}"
    if op is Op.REGEX:
        return f"EXISTS (SELECT 1 FROM unnest({x}) AS q_a(v) WHERE q_a.v ~ {b.bind(term.values[0].text, 'text')})"
    raise QueryError(f"Field '{name}' in q holds a list of ids; use {name}:value, {name}:(a,b) or {name}:~regex.")


def _json_condition(x: str, text: str, term: Term, b: _Binder) -> str:
    # Equality, lists and regexes use the text form, so :15 matches 15 and "15", and :true matches JSON true.
    op = term.op
    if op in (Op.EQ, Op.IN, Op.REGEX):
        return _typed(text, term, _to_text, "text", b)
    bounds = term.bounds if op is Op.RANGE else ((op, term.values[0]),)
    parts = []
    for bound_op, v in bounds:
        number = None if v.quoted else _number(v.text)
        if number is not None:  # numeric order, applied to JSON numbers only
            parts.append(
                f"CASE WHEN jsonb_typeof({x}) = 'number' THEN {text}::numeric END {bound_op} "
                f"{b.bind(number, 'numeric')}"
            )
        else:  # text order, applied to JSON strings only
            parts.append(f"CASE WHEN jsonb_typeof({x}) = 'string' THEN {text} END {bound_op} {b.bind(v.text, 'text')}")
    return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"
