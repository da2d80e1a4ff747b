"""Incremental evaluation equals a recomputation (docs/rules.md#freshness): random sequences of writes (customers,
orders, manual assignments, exclusions) against segments whose rules read attributes, purchases and other segments;
after every write the members are what a Python model of the data says, and re-saving every rule (a full
evaluation) changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient

from tests.factories import Tokens
from tests.rules.helpers import RuleApi, attr
from tests.rules.support import assign, call, exclude, in_segment, ok, orders_leaf, unassign, unexclude

NAMES = st.sampled_from(["Ann", "Bea", "Cid", None])
TIERS = st.sampled_from(["gold", "silver", None])
OPERATIONS = ("create", "update", "order", "delete order", "assign", "unassign", "exclude", "unexclude", "delete")
#: The segments manual assignments and exclusions go to (R2 only by its rule).
MANUAL_TARGETS = ("base", "r1", "r3")
EXCLUSION_TARGETS = ("base", "r1", "r3", "r4")


@dataclass
class Person:
    first_name: str | None
    tier: str | None
    orders: list[str] = field(default_factory=list)


@dataclass
class Model:
    people: dict[str, Person] = field(default_factory=dict)
    manual: dict[str, set[str]] = field(default_factory=lambda: {s: set() for s in (*EXCLUSION_TARGETS, "r2")})
    excluded: dict[str, set[str]] = field(default_factory=lambda: {s: set() for s in (*EXCLUSION_TARGETS, "r2")})

    def members(self) -> dict[str, dict[str, str]]:
        """segment -> customer -> assignment type, computed from the data in dependency order."""
        out: dict[str, dict[str, str]] = {}

        def members_of(segment: str, matches: set[str]) -> dict[str, str]:
            automatic = matches - self.excluded[segment] - self.manual[segment]
            return {c: "MANUAL" for c in self.manual[segment]} | {c: "AUTOMATIC" for c in automatic}

        people = self.people
        out["base"] = members_of("base", set())
        out["r1"] = members_of("r1", {c for c, p in people.items() if p.first_name == "Ann" or p.tier == "gold"})
        out["r2"] = members_of("r2", {c for c, p in people.items() if len(p.orders) >= 2})
        out["r3"] = members_of("r3", {c for c in people if (c in out["r1"] or c in out["base"]) and c not in out["r2"]})
        out["r4"] = members_of("r4", {c for c in out["r3"] if people[c].first_name not in (None, "Bea")})
        return out


RULES: dict[str, dict[str, Any]] = {
    "r1": {"any": [attr("customer.firstName", "eq", "Ann"), attr("customer.mixins.loyalty.tier", "eq", "gold")]},
    "r2": orders_leaf("count", "gte", 2),
    "r3": {"all": [{"any": [in_segment("r1"), in_segment("base")]}, {"not": in_segment("r2")}]},
    "r4": {"all": [in_segment("r3"), attr("customer.firstName", "ne", "Bea")]},
}


def actual(api: RuleApi) -> dict[str, dict[str, str]]:
    return {s: {c: kind for (c, _), kind in api.members(s).items()} for s in ("base", "r1", "r2", "r3", "r4")}


def profile(first_name: str | None, tier: str | None) -> dict[str, Any]:
    return {"firstName": first_name, "mixins": {"loyalty": {"tier": tier}}}


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_incremental_memberships_equal_a_recomputation(
    client: TestClient[Litestar], tokens: Tokens, data: st.DataObject
) -> None:
    api = RuleApi(client, tokens, f"rp{uuid4().hex[:12]}")
    for segment in ("base", "r1", "r2", "r3", "r4"):
        api.create_segment(id=segment)
    for segment, condition in RULES.items():
        api.save_rule(segment, condition)
    model = Model()
    created = 0
    for step in range(data.draw(st.integers(1, 12), label="steps")):
        alive = sorted(model.people)
        op = data.draw(st.sampled_from(OPERATIONS if alive else OPERATIONS[:1]), label=f"op {step}")
        customer = data.draw(st.sampled_from(alive), label=f"customer {step}") if alive and op != "create" else ""
        expected = model.members()
        if op == "create":
            customer, created = f"c{created}", created + 1
            person = Person(data.draw(NAMES), data.draw(TIERS))
            body = {k: v for k, v in profile(person.first_name, person.tier).items() if v is not None}
            api.create_customer(customer, **body)
            model.people[customer] = person
        elif op == "update":
            person = model.people[customer]
            person.first_name, person.tier = data.draw(NAMES), data.draw(TIERS)
            api.update_customer(customer, **profile(person.first_name, person.tier))
        elif op == "order":
            model.people[customer].orders.append(api.create_order(customer))
        elif op == "delete order":
            orders = model.people[customer].orders
            if orders:
                order = orders.pop(data.draw(st.integers(0, len(orders) - 1)))
                ok(call(api, "DELETE", f"/order-v2/{{tenant}}/salesorders/{order}"), 204)
        elif op == "assign":
            segment = data.draw(st.sampled_from(MANUAL_TARGETS))
            response = assign(api, segment, customer)
            if customer in model.excluded[segment]:
                assert response.status_code == 409, response.text
            else:
                ok(response, 204 if customer in expected[segment] else 201)
                model.manual[segment].add(customer)
        elif op == "unassign":
            segment = data.draw(st.sampled_from(MANUAL_TARGETS))
            response = unassign(api, segment, customer)
            if expected[segment].get(customer) == "AUTOMATIC":
                assert response.status_code == 400, response.text
            else:
                ok(response, 204)
                model.manual[segment].discard(customer)
        elif op == "exclude":
            segment = data.draw(st.sampled_from(EXCLUSION_TARGETS))
            ok(exclude(api, segment, customer), 204 if customer in model.excluded[segment] else 201)
            model.excluded[segment].add(customer)
            model.manual[segment].discard(customer)
        elif op == "unexclude":
            segment = data.draw(st.sampled_from(EXCLUSION_TARGETS))
            ok(unexclude(api, segment, customer), 204)
            model.excluded[segment].discard(customer)
        else:
            ok(call(api, "DELETE", f"/customer/{{tenant}}/customers/{customer}"), 202, 204)
            del model.people[customer]
            for segment in model.manual:
                model.manual[segment].discard(customer)
        assert actual(api) == model.members(), (step, op, customer)
    for segment, condition in RULES.items():  # a full evaluation of each rule finds nothing to change
        doc = api.save_rule(segment, condition)
        assert doc["memberCount"] == len(model.members()[segment]), (segment, doc)
    assert actual(api) == model.members()
