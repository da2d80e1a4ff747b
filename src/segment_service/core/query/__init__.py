r"""Emporix ``q`` query language: a hand-written parser and a compiler to parameterised PostgreSQL.

``q`` is a whitespace-separated list of ``field:expr`` terms that are ANDed together::

    status:ACTIVE  name.en:~(Yog hurt)  price:(>=10 AND <=20)  id:(a,"b c")  mixins.x.y:exists

An expr is a value (equality), ``null`` / ``missing`` / ``exists``, a comparison (``>v <v >=v <=v``), a range
``(>=a AND <b)``, a list ``(a,b)``, or a regex (``~re``, ``(~re with spaces)``, ``~(re with spaces)``). Values are
unquoted or double-quoted with ``\"`` / ``\\`` escapes; quoted words are never keywords. Keywords are lowercase.
Error positions are 1-based character offsets into q.

Terms are compiled against a per-resource registry that maps public field paths to trusted SQL expressions.
User input reaches the database only as bound ``$n`` parameters with explicit casts; the only user-derived
text embedded in SQL is language tags and JSON keys, and only after they match a strict whitelist pattern.
Regexes are checked for balanced groups and brackets and against a cost bound (`_regex`: no backreferences, bounded
repetition counts, nesting and size), so that none can occupy the database for long; PostgreSQL may still reject one
(SQLSTATE 2201B, invalid_regular_expression), which callers report as a bad request (core/db.py `input_error`).
"""

from segment_service.core.query._compile import (
    Field,
    FieldKind,
    Registry,
    Resolved,
    compile_q,
    compile_terms,
    resolve_path,
    spec_only,
)
from segment_service.core.query._parse import (
    MAX_IN_VALUES,
    MAX_JSON_DEPTH,
    MAX_Q_LENGTH,
    MAX_REGEX_LENGTH,
    MAX_TERMS,
    Op,
    QueryError,
    Term,
    Value,
    parse_q,
)
from segment_service.core.query._regex import (
    MAX_REGEX_EXPANSION,
    MAX_REGEX_GROUPS,
    MAX_REGEX_QUANTIFIED_NESTING,
    MAX_REGEX_REPEAT,
)

__all__ = [
    "MAX_IN_VALUES",
    "MAX_JSON_DEPTH",
    "MAX_Q_LENGTH",
    "MAX_REGEX_EXPANSION",
    "MAX_REGEX_GROUPS",
    "MAX_REGEX_LENGTH",
    "MAX_REGEX_QUANTIFIED_NESTING",
    "MAX_REGEX_REPEAT",
    "MAX_TERMS",
    "Field",
    "FieldKind",
    "Op",
    "QueryError",
    "Registry",
    "Resolved",
    "Term",
    "Value",
    "compile_q",
    "compile_terms",
    "parse_q",
    "resolve_path",
    "spec_only",
]
