"""The rule grammar (docs/rules.md#conditions): a JSON condition parsed into a typed tree, every mistake a 400 that
names the JSON path of what is wrong. Pure: the compiler (rules/compiler.py) turns a tree into SQL."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from segment_service.core.errors import BadRequest
from segment_service.rules.fields import BOOLEAN, DATETIME, DYNAMIC, NUMBER, STRING, Field, resolve_field

MAX_DEPTH = 32
MAX_LEAVES = 1000
MAX_VALUES = 10_000
#: Purchase conditions in one rule: each is an aggregate joined to the subjects, and planning many joins costs more
#: than running them.
MAX_PURCHASE_LEAVES = 32
#: How long a chain of rules reading each other's segments may be (a write re-evaluates it link by link).
MAX_CHAIN = 32
#: Durations and date-times a rule may name: far enough for any data, near enough that `now - D` stays a date.
MAX_DURATION = timedelta(days=365 * 500)
MIN_YEAR, MAX_YEAR = 1000, 9000
SUBJECTS = ("CUSTOMER", "CONTACT")


#: Strings and JSON values take every operator; the other kinds those that mean something for them.
_EVERY_OP = frozenset(
    [
        "eq",
        "ne",
        "gt",
        "gte",
        "lt",
        "lte",
        "in",
        "nin",
        "contains",
        "startsWith",
        "exists",
        "missing",
        "between",
        "withinLast",
        "olderThan",
    ]
)
OPS_BY_KIND: dict[str, frozenset[str]] = {
    STRING: _EVERY_OP,
    NUMBER: frozenset(["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "between", "exists", "missing"]),
    BOOLEAN: frozenset(["eq", "ne", "exists", "missing"]),
    DATETIME: frozenset(
        ["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "between", "withinLast", "olderThan", "exists", "missing"]
    ),
    DYNAMIC: _EVERY_OP,
}
ALL_OPS = OPS_BY_KIND[DYNAMIC]
TIME_OPS = frozenset({"withinLast", "olderThan"})
MEASURES = {"count": NUMBER, "total": NUMBER, "lastOrderAt": DATETIME, "firstOrderAt": DATETIME}
ORDER_STATUSES = frozenset({"IN_CHECKOUT", "CREATED", "CONFIRMED", "SHIPPED", "COMPLETED", "DECLINED"})


_SEGMENT = re.compile(r"^[A-Za-z0-9_\-$@]+$")
_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


# --------------------------------------------------------------------------------------------------------- tree


@dataclass(frozen=True, slots=True)
class Attribute:
    field: Field
    path: str
    op: str
    value: Any  # typed: str, Decimal, bool, datetime, timedelta, or a tuple of those


@dataclass(frozen=True, slots=True)
class Orders:
    within: timedelta | None
    statuses: tuple[str, ...] | None
    site_code: str | None
    product: str | None
    category: str | None
    currency: str | None
    measure: str
    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class InSegment:
    segment_id: str


@dataclass(frozen=True, slots=True)
class Group:
    kind: str  # all | any | not
    items: tuple[Node, ...]


Node = Group | Attribute | Orders | InSegment


@dataclass(slots=True)
class Rule:
    """A parsed rule and what evaluating it needs to know."""

    subject: str
    condition: Node
    depends_on: tuple[str, ...] = ()
    time_relative: bool = False
    uses_orders: bool = False
    uses_categories: bool = False
    #: Whether a leaf reads a customer, legal entity or contact field (a profile change can move it).
    reads_attributes: bool = False
    leaves: int = 0
    purchase_leaves: int = 0
    #: The JSON path of the first leaf naming each segment (for errors about it).
    segment_paths: dict[str, str] = field(default_factory=dict)


def leaves(node: Node) -> list[Node]:
    """The leaves under a node, in order."""
    if isinstance(node, Group):
        return [leaf for item in node.items for leaf in leaves(item)]
    return [node]


# ------------------------------------------------------------------------------------------------------ parsing


def _bad(path: str, message: str) -> BadRequest:
    return BadRequest(f"{path}: {message}", field=path, type="invalid_value")


def parse_duration(text: Any, path: str) -> timedelta:
    """An ISO 8601 duration (`P30D`, `P1Y`, `PT12H`); years count 365 days, months 30."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None or text in ("P", "PT") or text.endswith("T"):
        raise _bad(path, f"expected an ISO 8601 duration such as P30D, got {text!r}")
    y, mo, w, d, h, mi, s = (int(g) if g else 0 for g in match.groups())
    try:
        duration = timedelta(days=365 * y + 30 * mo + 7 * w + d, hours=h, minutes=mi, seconds=s)
    except OverflowError:
        duration = MAX_DURATION + timedelta(days=1)
    if duration > MAX_DURATION:
        raise _bad(path, f"the duration {text!r} is longer than {MAX_DURATION.days // 365} years")
    return duration


def _datetime(value: Any, path: str) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and not MIN_YEAR <= parsed.year <= MAX_YEAR:
            raise _bad(path, f"a date-time must lie between the years {MIN_YEAR} and {MAX_YEAR}, got {value!r}")
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise _bad(path, f"expected an ISO 8601 date-time such as 2026-01-31T00:00:00Z, got {value!r}")


def _number(value: Any, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(path, f"expected a number, got {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise _bad(path, f"expected a finite number, got {value!r}") from None
    if not number.is_finite():
        raise _bad(path, f"expected a finite number, got {value!r}")
    return number


def _scalar(kind: str, value: Any, path: str, op: str) -> Any:
    """One comparison value, checked against the field's kind (DYNAMIC: the value's JSON kind)."""
    if kind == STRING or (kind == DYNAMIC and isinstance(value, str)):
        if not isinstance(value, str):
            raise _bad(path, f"expected a string, got {value!r}")
        if len(value) > 10_000:
            raise _bad(path, "a string value is longer than 10000 characters")
        return value
    if kind == DATETIME:
        return _datetime(value, path)
    if kind == BOOLEAN or (kind == DYNAMIC and isinstance(value, bool)):
        if not isinstance(value, bool):
            raise _bad(path, f"expected true or false, got {value!r}")
        return value
    if kind in (NUMBER, DYNAMIC):
        return _number(value, path)
    raise _bad(path, f"a {kind} field cannot be compared with {value!r}")  # pragma: no cover


def _values(kind: str, op: str, value: Any, path: str) -> Any:
    """The leaf's typed value for `op`."""
    if op in ("exists", "missing"):
        if value is not None:
            raise _bad(path, f"'{op}' takes no value")
        return None
    if op in TIME_OPS:
        if kind not in (DATETIME, DYNAMIC, STRING):
            raise _bad(path, f"'{op}' needs a date-time field")
        return parse_duration(value, path)
    if op in ("in", "nin"):
        if not isinstance(value, list) or not value:
            raise _bad(path, f"'{op}' takes a non-empty list of values")
        if len(value) > MAX_VALUES:
            raise _bad(path, f"a list may hold at most {MAX_VALUES} values, this one holds {len(value)}")
        typed = tuple(_scalar(kind, v, f"{path}[{i}]", op) for i, v in enumerate(value))
        if len({type(v) for v in typed}) > 1:
            raise _bad(path, "the values of one list must be of one type")
        return typed
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise _bad(path, "'between' takes [low, high]")
        low, high = (_scalar(kind, v, f"{path}[{i}]", op) for i, v in enumerate(value))
        if type(low) is not type(high) or isinstance(low, bool):
            raise _bad(path, "'between' takes two values of one comparable type")
        if low > high:
            raise _bad(path, "'between' takes [low, high] with low <= high")
        return (low, high)
    if value is None:
        raise _bad(path, f"'{op}' needs a value")
    typed = _scalar(kind, value, path, op)
    if op in ("contains", "startsWith") and kind != DYNAMIC and not isinstance(typed, str):
        raise _bad(path, f"'{op}' takes a string")
    if op == "startsWith" and not isinstance(typed, str):
        raise _bad(path, "'startsWith' takes a string")
    if op in ("gt", "gte", "lt", "lte") and isinstance(typed, bool):
        raise _bad(path, f"'{op}' cannot compare true/false")
    return typed


class _Parser:
    def __init__(self, subject: str, segment_id: str) -> None:
        self.rule = Rule(subject, Group("all", ()))
        self.segment_id = segment_id
        self.depends: list[str] = []

    def node(self, raw: Any, path: str, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise _bad(path, f"conditions may nest at most {MAX_DEPTH} deep")
        if not isinstance(raw, dict):
            raise _bad(path, "expected a condition object")
        for kind in ("all", "any"):
            if kind in raw:
                self._only(raw, {kind}, path)
                items = raw[kind]
                if not isinstance(items, list) or not items:
                    raise _bad(f"{path}.{kind}", "expected a non-empty list of conditions")
                return Group(kind, tuple(self.node(c, f"{path}.{kind}[{i}]", depth + 1) for i, c in enumerate(items)))
        if "not" in raw:
            self._only(raw, {"not"}, path)
            return Group("not", (self.node(raw["not"], f"{path}.not", depth + 1),))
        self.rule.leaves += 1
        if self.rule.leaves > MAX_LEAVES:
            raise _bad(path, f"a rule may have at most {MAX_LEAVES} conditions")
        if "attribute" in raw:
            return self.attribute(raw, path)
        if "orders" in raw:
            return self.orders(raw, path)
        if "inSegment" in raw:
            self._only(raw, {"inSegment"}, path)
            segment = raw["inSegment"]
            if not isinstance(segment, str) or not _SEGMENT.match(segment):
                raise _bad(f"{path}.inSegment", f"expected a segment id, got {segment!r}")
            if segment == self.segment_id:
                raise _bad(f"{path}.inSegment", "a segment's rule cannot depend on the segment itself")
            self.depends.append(segment)
            self.rule.segment_paths.setdefault(segment, f"{path}.inSegment")
            return InSegment(segment)
        raise _bad(path, "expected one of all, any, not, attribute, orders, inSegment")

    @staticmethod
    def _only(raw: dict[str, Any], keys: set[str], path: str) -> None:
        extra = sorted(set(raw) - keys)
        if extra:
            raise _bad(path, f"unexpected {', '.join(extra)} beside {', '.join(sorted(keys))}")

    def attribute(self, raw: dict[str, Any], path: str) -> Attribute:
        self._only(raw, {"attribute", "op", "value"}, path)
        field, name = resolve_field(self.rule.subject, raw["attribute"], f"{path}.attribute")
        op = self._op(raw, path)
        if op not in OPS_BY_KIND[field.kind]:
            allowed = " ".join(sorted(OPS_BY_KIND[field.kind]))
            raise _bad(f"{path}.op", f"'{op}' does not apply to {name} (a {field.kind}); use one of {allowed}")
        if op in TIME_OPS:
            self.rule.time_relative = True
        self.rule.reads_attributes = True
        return Attribute(field, name, op, _values(field.kind, op, raw.get("value"), f"{path}.value"))

    @staticmethod
    def _op(raw: dict[str, Any], path: str) -> str:
        op = raw.get("op")
        if not isinstance(op, str) or op not in ALL_OPS:
            raise _bad(f"{path}.op", f"expected one of {' '.join(sorted(ALL_OPS))}, got {op!r}")
        return op

    def orders(self, raw: dict[str, Any], path: str) -> Orders:
        self._only(raw, {"orders", "measure", "op", "value"}, path)
        spec = raw["orders"]
        where = f"{path}.orders"
        if not isinstance(spec, dict):
            raise _bad(where, "expected an object (within, statuses, siteCode, product, category, currency)")
        extra = sorted(set(spec) - {"within", "statuses", "siteCode", "product", "category", "currency"})
        if extra:
            raise _bad(where, f"unexpected {', '.join(extra)}")
        within = None if spec.get("within") is None else parse_duration(spec["within"], f"{where}.within")
        statuses = spec.get("statuses")
        if statuses is not None:
            if not isinstance(statuses, list) or not statuses or any(s not in ORDER_STATUSES for s in statuses):
                raise _bad(f"{where}.statuses", f"expected a non-empty list of {', '.join(sorted(ORDER_STATUSES))}")
            statuses = tuple(statuses)
        texts = {}
        for key in ("siteCode", "product", "category", "currency"):
            value = spec.get(key)
            if value is not None and (not isinstance(value, str) or not value or len(value) > 1000):
                raise _bad(f"{where}.{key}", f"expected an id, got {value!r}")
            texts[key] = value
        measure = raw.get("measure")
        if measure not in MEASURES:
            raise _bad(f"{path}.measure", f"expected one of {', '.join(MEASURES)}, got {measure!r}")
        kind = MEASURES[measure]
        op = self._op(raw, path)
        if op not in OPS_BY_KIND[kind]:
            raise _bad(f"{path}.op", f"'{op}' does not apply to the measure {measure} (a {kind})")
        self.rule.uses_orders = True
        self.rule.purchase_leaves += 1
        if self.rule.purchase_leaves > MAX_PURCHASE_LEAVES:
            raise _bad(path, f"a rule may have at most {MAX_PURCHASE_LEAVES} purchase (orders) conditions")
        if within is not None or op in TIME_OPS:
            self.rule.time_relative = True
        if texts["category"] is not None:
            self.rule.uses_categories = True
        return Orders(
            within,
            statuses,
            texts["siteCode"],
            texts["product"],
            texts["category"],
            texts["currency"],
            measure,
            op,
            _values(kind, op, raw.get("value"), f"{path}.value"),
        )


def parse_rule(subject: Any, condition: Any, segment_id: str) -> Rule:
    """The rule of a request body (or of a stored row): 400 naming the path of the first thing that is wrong."""
    if subject not in SUBJECTS:
        raise _bad("subject", f"expected CUSTOMER or CONTACT, got {subject!r}")
    parser = _Parser(subject, segment_id)
    parser.rule.condition = parser.node(condition, "condition", 1)
    parser.rule.depends_on = tuple(dict.fromkeys(parser.depends))
    return parser.rule
