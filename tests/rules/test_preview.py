"""POST …/rule/preview (docs/rules.md#api) against a recomputation in Python: ~60 customers with random profiles,
mixins and orders, a segment with a rule, manual members and exclusions, and candidate rules of every leaf kind."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from tests.factories import run_sql
from tests.rules.helpers import RuleApi, attr
from tests.rules.support import assign, exclude, ok, orders_leaf

NAMES = ["Ann", "Bob", "Cid", "Dee", None]
CURRENT = attr("customer.firstName", "in", ["Ann", "Bob"])


@dataclass
class Person:
    id: str
    first_name: str | None
    last_name: str | None
    active: bool
    mixins: dict[str, Any]
    orders: list[tuple[float, str]] = field(default_factory=list)  # (gross, currency)

    @property
    def tier(self) -> Any:
        return self.mixins.get("loyalty", {}).get("tier")

    @property
    def points(self) -> Any:
        return self.mixins.get("loyalty", {}).get("points")


Predicate = Callable[[Person], bool]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


#: Candidate rules with what they mean, computed in Python.
CANDIDATES: list[tuple[str, dict[str, Any], Predicate]] = [
    ("ann", attr("customer.firstName", "eq", "Ann"), lambda p: p.first_name == "Ann"),
    ("not ann", {"not": attr("customer.firstName", "eq", "Ann")}, lambda p: p.first_name != "Ann"),
    ("ne ann", attr("customer.firstName", "ne", "Ann"), lambda p: p.first_name not in (None, "Ann")),
    (
        "tier",
        attr("customer.mixins.loyalty.tier", "in", ["gold", "silver"]),
        lambda p: p.tier in ("gold", "silver"),
    ),
    (
        "points",
        attr("customer.mixins.loyalty.points", "gte", 500),
        lambda p: _number(p.points) and p.points >= 500,
    ),
    (
        "points between",
        attr("customer.mixins.loyalty.points", "between", [100, 600]),
        lambda p: _number(p.points) and 100 <= p.points <= 600,
    ),
    (
        "vip and active",
        {"all": [attr("customer.mixins.tags", "contains", "vip"), attr("customer.active", "eq", True)]},
        lambda p: "vip" in p.mixins.get("tags", []) and p.active,
    ),
    ("two orders", orders_leaf("count", "gte", 2), lambda p: len(p.orders) >= 2),
    (
        "big EUR spender",
        orders_leaf("total", "gt", 100, currency="EUR"),
        lambda p: sum(Decimal(str(g)) for g, c in p.orders if c == "EUR") > 100,
    ),
    (
        "no last name or never bought",
        {"any": [attr("customer.lastName", "missing"), orders_leaf("lastOrderAt", "missing")]},
        lambda p: p.last_name is None or not p.orders,
    ),
    ("ids c1*", attr("customer.id", "startsWith", "c1"), lambda p: p.id.startswith("c1")),
    ("everyone", attr("customer.id", "exists"), lambda p: True),
    ("no one", attr("customer.firstName", "eq", "Zed"), lambda p: False),
]


def _person(rng: random.Random, n: int) -> Person:
    mixins: dict[str, Any] = {}
    loyalty: dict[str, Any] = {}
    if rng.random() < 0.7:
        loyalty["tier"] = rng.choice(["gold", "silver", "bronze"])
    if rng.random() < 0.7:
        loyalty["points"] = rng.choice([0, 50, 100, 250, 500, 600, 999, "many", True])
    if loyalty:
        mixins["loyalty"] = loyalty
    if rng.random() < 0.6:
        mixins["tags"] = rng.sample(["vip", "new", "b2b"], rng.randint(0, 3))
    orders = [
        (rng.choice([5.0, 20.0, 50.5, 120.0]), rng.choice(["EUR", "EUR", "CHF"])) for _ in range(rng.randint(0, 3))
    ]
    return Person(
        f"c{n:02d}",
        rng.choice(NAMES),
        rng.choice(["Roe", "Doe", None]),
        rng.random() < 0.8,
        mixins,
        orders,
    )


@dataclass
class World:
    people: list[Person]
    segment: str
    manual: set[str]
    excluded: set[str]

    def members(self, predicate: Predicate | None) -> set[str]:
        matched = {p.id for p in self.people if predicate is not None and predicate(p)}
        return self.manual | (matched - self.excluded)


def build(rules: RuleApi, seed: int, with_rule: bool) -> World:
    rng = random.Random(seed)
    people = [_person(rng, n) for n in range(60)]
    for p in people:
        profile: dict[str, Any] = {"active": p.active}
        if p.first_name is not None:
            profile["firstName"] = p.first_name
        if p.last_name is not None:
            profile["lastName"] = p.last_name
        if p.mixins:
            profile["mixins"] = p.mixins
        rules.create_customer(p.id, **profile)
        for gross, currency in p.orders:
            rules.create_order(p.id, gross=gross, currency=currency)
    segment = rules.create_segment()
    if with_rule:
        rules.save_rule(segment, CURRENT)
    ids = [p.id for p in people]
    manual = set(rng.sample(ids, 8))
    for customer in sorted(manual):
        ok(assign(rules, segment, customer), 201, 204)
    excluded = set(rng.sample(ids, 8))
    for customer in sorted(excluded):
        ok(exclude(rules, segment, customer), 201)
    return World(people, segment, manual - excluded, excluded)


def _current(world: World, with_rule: bool) -> Predicate | None:
    return (lambda p: p.first_name in ("Ann", "Bob")) if with_rule else None


def _snapshot(rules: RuleApi, database_url: str, segment: str) -> tuple[Any, ...]:
    rows = run_sql(
        database_url,
        "SELECT segment_id, customer_id, legal_entity_id, assignment_type, version, created_at, modified_at"
        " FROM segment_customer_assignments WHERE tenant = $1 ORDER BY 1, 2, 3",
        rules.tenant,
    )
    exclusions = ok(rules.request("GET", f"/segments/{segment}/exclusions", params={"pageSize": 1000}), 200).json()
    rule = rules.request("GET", f"/segments/{segment}/rule")
    outbox = run_sql(database_url, "SELECT count(*) FROM webhook_outbox WHERE tenant = $1", rules.tenant)[0][0]
    return [tuple(r) for r in rows], exclusions, rule.status_code, rule.json(), outbox


def _sample(ids: set[str]) -> list[dict[str, str]]:
    return [{"customerId": c} for c in sorted(ids)[:20]]


@pytest.mark.parametrize(("seed", "with_rule"), [(1, True), (2, True), (3, False)])
def test_preview_counts_and_samples_equal_a_recomputation(
    rules: RuleApi, database_url: str, seed: int, with_rule: bool
) -> None:
    world = build(rules, seed, with_rule)
    present = world.members(_current(world, with_rule))
    assert set(rules.member_ids(world.segment)) == present
    before = _snapshot(rules, database_url, world.segment)
    seen_big_change = False
    for name, condition, predicate in CANDIDATES:
        matched = {p.id for p in world.people if predicate(p)}
        future = world.members(predicate)
        added, removed = future - present, present - future
        expected = {
            "matchCount": len(matched),
            "memberCount": len(future),
            "added": {"count": len(added), "sample": _sample(added)},
            "removed": {"count": len(removed), "sample": _sample(removed)},
        }
        assert rules.preview(world.segment, condition) == expected, name
        seen_big_change = seen_big_change or len(added) > 20 or len(removed) > 20
    assert seen_big_change, "some candidate should change more than 20 members"
    assert _snapshot(rules, database_url, world.segment) == before


def test_a_contact_preview_names_the_legal_entities(rules: RuleApi, database_url: str) -> None:
    for customer in ("c1", "c2", "c3"):
        rules.create_customer(customer)
    rules.create_legal_entity("L1")
    rules.create_legal_entity("L2", type="SUBSIDIARY")
    rules.create_contact("L2", "c1")
    rules.create_contact("L1", "c1")
    rules.create_contact("L1", "c2")
    rules.create_contact("L1", "c3")
    segment = rules.create_segment()
    ok(assign(rules, segment, "c1", "L2"), 201)
    ok(exclude(rules, segment, "c3", "L1"), 201)
    before = _snapshot(rules, database_url, segment)
    company = attr("legalEntity.type", "eq", "COMPANY")
    assert rules.preview(segment, company, "CONTACT") == {
        "matchCount": 3,
        "memberCount": 3,
        "added": {
            "count": 2,
            "sample": [{"customerId": "c1", "legalEntityId": "L1"}, {"customerId": "c2", "legalEntityId": "L1"}],
        },
        "removed": {"count": 0, "sample": []},
    }
    assert _snapshot(rules, database_url, segment) == before
    rules.save_rule(segment, company, "CONTACT")
    before = _snapshot(rules, database_url, segment)
    subsidiary = attr("legalEntity.type", "eq", "SUBSIDIARY")
    assert rules.preview(segment, subsidiary, "CONTACT") == {
        "matchCount": 1,
        "memberCount": 1,
        "added": {"count": 0, "sample": []},
        "removed": {
            "count": 2,
            "sample": [{"customerId": "c1", "legalEntityId": "L1"}, {"customerId": "c2", "legalEntityId": "L1"}],
        },
    }
    assert rules.members(segment) == {("c1", "L1"): "AUTOMATIC", ("c1", "L2"): "MANUAL", ("c2", "L1"): "AUTOMATIC"}
    assert _snapshot(rules, database_url, segment) == before


def test_the_version_is_ignored_and_a_bad_rule_is_400(rules: RuleApi) -> None:
    rules.create_customer("c1", firstName="Ann")
    segment = rules.create_segment()
    body = {"subject": "CUSTOMER", "condition": attr("customer.firstName", "eq", "Ann"), "metadata": {"version": 7}}
    response = ok(rules.request("POST", f"/segments/{segment}/rule/preview", json=body), 200)
    assert response.json()["added"] == {"count": 1, "sample": [{"customerId": "c1"}]}
    bad = {"subject": "CUSTOMER", "condition": attr("customer.active", "gt", 1)}
    assert rules.request("POST", f"/segments/{segment}/rule/preview", json=bad).status_code == 400
    assert rules.request("POST", "/segments/nope/rule/preview", json=body).status_code == 404
    assert rules.request("GET", f"/segments/{segment}/rule").status_code == 404
