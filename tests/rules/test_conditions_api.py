"""Attribute conditions over HTTP (docs/rules.md#attributes): every operator on the kinds it applies to, checked by
which customers a saved rule makes members, with customers that match, that do not, and that lack the field; and
all/any/not nesting."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from segment_service.core import clock
from tests.rules.condition_helpers import ago, matched
from tests.rules.helpers import RuleApi, attr

#: people: ann (MR, active, company a date 10 days ago, version 1), bob (MS, inactive, company 100 days ago,
#: version 2), carl (no title, company "Acme", version 3), dora (no title, no company, version 1).
EVERYONE = {"ann", "bob", "carl", "dora"}


@pytest.fixture
def people(rules: RuleApi) -> dict[str, str]:
    """The four customers, and each one's `metadata.createdAt` (created a few milliseconds apart)."""
    rules.create_customer("ann", firstName="Ann", lastName="Smith", title="MR", company=ago(10))
    time.sleep(0.003)  # separates the creation times by more than their millisecond resolution
    rules.create_customer("bob", firstName="Bob", title="MS", company=ago(100), active=False)
    time.sleep(0.003)
    rules.create_customer("carl", firstName="Carl", company="Acme")
    time.sleep(0.003)
    rules.create_customer("dora", firstName="Dora")
    rules.update_customer("bob", lastName="Brown")
    rules.update_customer("carl", lastName="Clark")
    rules.update_customer("carl", lastName="Clarke")
    created: dict[str, str] = {}
    for customer, version in (("ann", 1), ("bob", 2), ("carl", 3), ("dora", 1)):
        response = rules.client.get(f"/customer/{rules.tenant}/customers/{customer}", headers=rules.auth())
        assert response.status_code == 200, response.text
        metadata = response.json()["metadata"]
        assert metadata["version"] == version, metadata
        created[customer] = metadata["createdAt"]
    assert created["ann"] < created["bob"] < created["carl"] < created["dora"], created
    return created


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (attr("customer.title", "eq", "MR"), {"ann"}),
        (attr("customer.title", "ne", "MR"), {"bob"}),
        ({"not": attr("customer.title", "eq", "MR")}, {"bob", "carl", "dora"}),
        (attr("customer.title", "in", ["MR", "MS"]), {"ann", "bob"}),
        (attr("customer.title", "nin", ["MR"]), {"bob"}),
        ({"not": attr("customer.title", "in", ["MR"])}, {"bob", "carl", "dora"}),
        (attr("customer.firstName", "gt", "Bob"), {"carl", "dora"}),
        (attr("customer.firstName", "gte", "Bob"), {"bob", "carl", "dora"}),
        (attr("customer.firstName", "lt", "Bob"), {"ann"}),
        (attr("customer.firstName", "lte", "Bob"), {"ann", "bob"}),
        (attr("customer.firstName", "between", ["Bob", "Carl"]), {"bob", "carl"}),
        (attr("customer.firstName", "contains", "ar"), {"carl"}),
        (attr("customer.firstName", "startsWith", "Do"), {"dora"}),
        (attr("customer.lastName", "contains", "Clark"), {"carl"}),
        (attr("customer.lastName", "ne", "Smith"), {"bob", "carl"}),
        (attr("customer.title", "exists"), {"ann", "bob"}),
        (attr("customer.title", "missing"), {"carl", "dora"}),
        (attr("customer.company", "withinLast", "P30D"), {"ann"}),
        (attr("customer.company", "withinLast", "P2W"), {"ann"}),
        (attr("customer.company", "olderThan", "P30D"), {"bob"}),
        (attr("customer.company", "olderThan", "P1D"), {"ann", "bob"}),
        (attr("customer.id", "in", ["ann", "dora", "nobody"]), {"ann", "dora"}),
        (attr("customer.customerNumber", "eq", "carl"), {"carl"}),
        (attr("customer.contactEmail", "startsWith", "bo"), {"bob"}),
    ],
)
def test_string_attributes(
    rules: RuleApi, people: dict[str, str], condition: dict[str, Any], expected: set[str]
) -> None:
    assert matched(rules, condition) == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (attr("customer.metadata.version", "eq", 2), {"bob"}),
        (attr("customer.metadata.version", "ne", 1), {"bob", "carl"}),
        (attr("customer.metadata.version", "gt", 1), {"bob", "carl"}),
        (attr("customer.metadata.version", "gte", 2), {"bob", "carl"}),
        (attr("customer.metadata.version", "lt", 2), {"ann", "dora"}),
        (attr("customer.metadata.version", "lte", 2), {"ann", "bob", "dora"}),
        (attr("customer.metadata.version", "in", [1, 3]), {"ann", "carl", "dora"}),
        (attr("customer.metadata.version", "nin", [1]), {"bob", "carl"}),
        (attr("customer.metadata.version", "between", [2, 3]), {"bob", "carl"}),
        (attr("customer.metadata.version", "between", [1.5, 2.5]), {"bob"}),
        (attr("customer.metadata.version", "exists"), EVERYONE),
        (attr("customer.metadata.version", "missing"), set()),
    ],
)
def test_number_attributes(
    rules: RuleApi, people: dict[str, str], condition: dict[str, Any], expected: set[str]
) -> None:
    assert matched(rules, condition) == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (attr("customer.active", "eq", True), {"ann", "carl", "dora"}),
        (attr("customer.active", "eq", False), {"bob"}),
        (attr("customer.active", "ne", True), {"bob"}),
        ({"not": attr("customer.active", "eq", False)}, {"ann", "carl", "dora"}),
        (attr("customer.active", "exists"), EVERYONE),
        (attr("customer.active", "missing"), set()),
    ],
)
def test_boolean_attributes(
    rules: RuleApi, people: dict[str, str], condition: dict[str, Any], expected: set[str]
) -> None:
    assert matched(rules, condition) == expected


def test_date_time_attributes(rules: RuleApi, people: dict[str, str]) -> None:
    created = "customer.metadata.createdAt"
    assert matched(rules, attr(created, "gte", people["bob"])) == {"bob", "carl", "dora"}
    assert matched(rules, attr(created, "gt", "2000-01-01T00:00:00Z")) == EVERYONE
    assert matched(rules, attr(created, "lt", people["bob"])) == {"ann"}
    assert matched(rules, attr(created, "lte", "2000-01-01T00:00:00")) == set()
    assert matched(rules, attr(created, "between", [people["bob"], people["dora"]])) == {"bob", "carl"}
    assert matched(rules, attr(created, "ne", "2000-01-01T00:00:00Z")) == EVERYONE
    assert matched(rules, attr(created, "nin", ["2000-01-01T00:00:00Z"])) == EVERYONE
    assert matched(rules, attr(created, "in", ["2000-01-01T00:00:00Z", "2001-01-01T00:00:00+02:00"])) == set()
    assert matched(rules, attr(created, "eq", "2000-01-01T00:00:00Z")) == set()
    assert matched(rules, attr(created, "withinLast", "PT1H")) == EVERYONE
    assert matched(rules, attr(created, "olderThan", "PT1H")) == set()
    assert matched(rules, attr("customer.metadata.modifiedAt", "gte", people["dora"])) == {"bob", "carl", "dora"}
    assert matched(rules, attr(created, "exists")) == EVERYONE


def test_date_time_windows_follow_the_rule_clock(rules: RuleApi, people: dict[str, str], rule_clock: None) -> None:
    clock.advance(timedelta(days=10))
    assert matched(rules, attr("customer.metadata.createdAt", "withinLast", "P1D")) == set()
    assert matched(rules, attr("customer.metadata.createdAt", "olderThan", "P1W")) == EVERYONE
    assert matched(rules, attr("customer.metadata.createdAt", "withinLast", "P1M")) == EVERYONE
    assert matched(rules, attr("customer.company", "withinLast", "P2W")) == set()
    assert matched(rules, attr("customer.company", "withinLast", "P30D")) == {"ann"}
    assert matched(rules, attr("customer.company", "withinLast", "P1Y")) == {"ann", "bob"}


@pytest.fixture
def loyal(rules: RuleApi) -> None:
    """j1..j5: mixins `loyalty` with values of every JSON kind, of the wrong kind (j3), null (j4) and none (j5)."""
    rules.create_customer(
        "j1",
        mixins={"loyalty": {"tier": "gold", "points": 5, "vip": True, "tags": ["a", "b"], "nums": [1, 2]}},
        metadata={"mixins": {"loyalty": "https://example.com/loyalty.json"}},
    )
    rules.update_customer("j1", mixins={"loyalty": {"since": ago(10)}})
    rules.create_customer(
        "j2",
        mixins={"loyalty": {"tier": "silver", "points": 12.5, "vip": False, "tags": ["c"], "since": ago(100)}},
    )
    rules.create_customer(
        "j3", mixins={"loyalty": {"tier": 7, "points": "5", "vip": "true", "tags": "a b", "since": "soon"}}
    )
    rules.create_customer("j4", mixins={"loyalty": {"tier": None, "points": None, "vip": None, "tags": None}})
    rules.create_customer("j5")


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (attr("customer.mixins.loyalty.tier", "eq", "gold"), {"j1"}),
        (attr("customer.mixins.loyalty.tier", "ne", "gold"), {"j2"}),
        ({"not": attr("customer.mixins.loyalty.tier", "eq", "gold")}, {"j2", "j3", "j4", "j5"}),
        (attr("customer.mixins.loyalty.tier", "gt", "gold"), {"j2"}),
        (attr("customer.mixins.loyalty.tier", "gte", "gold"), {"j1", "j2"}),
        (attr("customer.mixins.loyalty.tier", "lt", "silver"), {"j1"}),
        (attr("customer.mixins.loyalty.tier", "lte", "silver"), {"j1", "j2"}),
        (attr("customer.mixins.loyalty.tier", "in", ["gold", "silver"]), {"j1", "j2"}),
        (attr("customer.mixins.loyalty.tier", "nin", ["gold"]), {"j2"}),
        (attr("customer.mixins.loyalty.tier", "between", ["a", "h"]), {"j1"}),
        (attr("customer.mixins.loyalty.tier", "contains", "ilv"), {"j2"}),
        (attr("customer.mixins.loyalty.tier", "startsWith", "go"), {"j1"}),
        (attr("customer.mixins.loyalty.tier", "eq", 7), {"j3"}),
        (attr("customer.mixins.loyalty.tier", "exists"), {"j1", "j2", "j3"}),
        (attr("customer.mixins.loyalty.tier", "missing"), {"j4", "j5"}),
        (attr("customer.metadata.mixins.loyalty", "startsWith", "https://"), {"j1"}),
    ],
)
def test_json_strings(rules: RuleApi, loyal: None, condition: dict[str, Any], expected: set[str]) -> None:
    assert matched(rules, condition) == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (attr("customer.mixins.loyalty.points", "eq", 5), {"j1"}),
        (attr("customer.mixins.loyalty.points", "ne", 5), {"j2"}),
        (attr("customer.mixins.loyalty.points", "gt", 5), {"j2"}),
        (attr("customer.mixins.loyalty.points", "gte", 5), {"j1", "j2"}),
        (attr("customer.mixins.loyalty.points", "lt", 12.5), {"j1"}),
        (attr("customer.mixins.loyalty.points", "lte", 5.0), {"j1"}),
        (attr("customer.mixins.loyalty.points", "in", [5, 12.5]), {"j1", "j2"}),
        (attr("customer.mixins.loyalty.points", "nin", [5]), {"j2"}),
        (attr("customer.mixins.loyalty.points", "between", [1, 10]), {"j1"}),
        (attr("customer.mixins.loyalty.points", "eq", "5"), {"j3"}),
        (attr("customer.mixins.loyalty.points", "missing"), {"j4", "j5"}),
        (attr("customer.mixins.loyalty.vip", "eq", True), {"j1"}),
        (attr("customer.mixins.loyalty.vip", "eq", False), {"j2"}),
        (attr("customer.mixins.loyalty.vip", "ne", True), {"j2"}),
        ({"not": attr("customer.mixins.loyalty.vip", "eq", True)}, {"j2", "j3", "j4", "j5"}),
        (attr("customer.mixins.loyalty.vip", "eq", "true"), {"j3"}),
        (attr("customer.mixins.loyalty.vip", "exists"), {"j1", "j2", "j3"}),
    ],
)
def test_json_numbers_and_booleans(rules: RuleApi, loyal: None, condition: dict[str, Any], expected: set[str]) -> None:
    assert matched(rules, condition) == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (attr("customer.mixins.loyalty.tags", "contains", "a"), {"j1", "j3"}),
        (attr("customer.mixins.loyalty.tags", "contains", "c"), {"j2"}),
        (attr("customer.mixins.loyalty.tags", "contains", "z"), set()),
        (attr("customer.mixins.loyalty.nums", "contains", 2), {"j1"}),
        (attr("customer.mixins.loyalty.nums", "contains", "2"), set()),
        (attr("customer.mixins.loyalty.tags", "exists"), {"j1", "j2", "j3"}),
        (attr("customer.mixins.loyalty.tags", "missing"), {"j4", "j5"}),
        (attr("customer.mixins.loyalty", "exists"), {"j1", "j2", "j3", "j4"}),
        (attr("customer.mixins.loyalty.since", "withinLast", "P30D"), {"j1"}),
        (attr("customer.mixins.loyalty.since", "olderThan", "P30D"), {"j2"}),
        (attr("customer.mixins.loyalty.since", "olderThan", "P1D"), {"j1", "j2"}),
    ],
)
def test_json_arrays_objects_and_dates(
    rules: RuleApi, loyal: None, condition: dict[str, Any], expected: set[str]
) -> None:
    assert matched(rules, condition) == expected


NESTED = {
    "any": [
        {"all": [attr("customer.title", "eq", "MR"), attr("customer.active", "eq", True)]},
        {"not": {"any": [attr("customer.firstName", "in", ["Ann", "Bob", "Carl"]), attr("customer.title", "exists")]}},
    ]
}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (NESTED, {"ann", "dora"}),
        (
            {
                "all": [
                    {"not": {"not": attr("customer.active", "eq", True)}},
                    {"any": [attr("customer.title", "missing")]},
                    {"not": attr("customer.id", "eq", "carl")},
                ]
            },
            {"dora"},
        ),
        ({"all": [{"any": [attr("customer.firstName", "eq", "Bob")]}]}, {"bob"}),
        ({"any": [attr("customer.title", "eq", "MS"), attr("customer.company", "eq", "Acme")]}, {"bob", "carl"}),
        ({"all": [attr("customer.active", "eq", True), {"not": attr("customer.company", "exists")}]}, {"dora"}),
        (
            {"not": {"all": [attr("customer.active", "eq", True), attr("customer.title", "exists")]}},
            {"bob", "carl", "dora"},
        ),
    ],
)
def test_all_any_not(rules: RuleApi, people: dict[str, str], condition: dict[str, Any], expected: set[str]) -> None:
    assert matched(rules, condition) == expected


def test_explain_evaluates_every_node_of_a_nested_rule(rules: RuleApi, people: dict[str, str]) -> None:
    segment = rules.create_segment()
    rules.save_rule(segment, NESTED)
    assert rules.explain(segment, "dora") == {
        "member": True,
        "because": "RULE",
        "condition": {
            "result": True,
            "any": [
                {
                    "result": False,
                    "all": [
                        {**attr("customer.title", "eq", "MR"), "actual": None, "result": False},
                        {**attr("customer.active", "eq", True), "actual": True, "result": True},
                    ],
                },
                {
                    "result": True,
                    "not": {
                        "result": False,
                        "any": [
                            {
                                **attr("customer.firstName", "in", ["Ann", "Bob", "Carl"]),
                                "actual": "Dora",
                                "result": False,
                            },
                            {**attr("customer.title", "exists"), "actual": None, "result": False},
                        ],
                    },
                },
            ],
        },
    }
    answer = rules.explain(segment, "carl")
    assert (answer["member"], answer["because"], answer["condition"]["result"]) == (False, "NO_MATCH", False)
