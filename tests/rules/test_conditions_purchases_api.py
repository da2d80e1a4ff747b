"""Purchase conditions over HTTP (docs/rules.md#purchases): count, total, lastOrderAt and firstOrderAt, with the
window, statuses, site, currency, product and category filters, checked by which customers a saved rule makes
members."""

from __future__ import annotations

from typing import Any

import pytest

from tests.rules.condition_helpers import add_order, ago, matched
from tests.rules.helpers import RuleApi, attr

FIRST = "2020-01-10T00:00:00.000Z"


def orders(measure: str, op: str, value: Any = None, **spec: Any) -> dict[str, Any]:
    leaf: dict[str, Any] = {"orders": spec, "measure": measure, "op": op}
    if value is not None:
        leaf["value"] = value
    return leaf


@pytest.fixture
def buyers(rules: RuleApi) -> None:
    """c1: a COMPLETED order of p1 (100 EUR) on 2020-01-10 and one of p2 (50) and p3 (25) 20 days ago;
    c2: an order of p1 (30 USD, site `outlet`) 200 days ago; c3: a DECLINED order (999 EUR) 5 days ago; c4: none."""
    for customer in ("c1", "c2", "c3", "c4"):
        rules.create_customer(customer)
    add_order(rules, "c1", [("p1", 100)], created=FIRST, status="COMPLETED")
    add_order(rules, "c1", [("p2", 50), ("p3", 25)], created=ago(20))
    add_order(rules, "c2", [("p1", 30)], created=ago(200), currency="USD", siteCode="outlet")
    add_order(rules, "c3", [("p1", 999)], created=ago(5), status="DECLINED")


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (orders("count", "eq", 0), {"c3", "c4"}),
        (orders("count", "gte", 2), {"c1"}),
        (orders("count", "gt", 1), {"c1"}),
        (orders("count", "ne", 1), {"c1", "c3", "c4"}),
        (orders("count", "lt", 1), {"c3", "c4"}),
        (orders("count", "lte", 1), {"c2", "c3", "c4"}),
        (orders("count", "in", [1, 2]), {"c1", "c2"}),
        (orders("count", "nin", [0]), {"c1", "c2"}),
        (orders("count", "between", [1, 1]), {"c2"}),
        (orders("count", "exists"), {"c1", "c2", "c3", "c4"}),
        (orders("count", "gte", 1, within="P30D"), {"c1"}),
        (orders("count", "eq", 1, within="P365D"), {"c1", "c2"}),
        (orders("count", "eq", 0, within="PT12H"), {"c1", "c2", "c3", "c4"}),
        (orders("count", "eq", 1, statuses=["DECLINED"]), {"c3"}),
        (orders("count", "gte", 1, statuses=["COMPLETED"]), {"c1"}),
        (orders("count", "gte", 1, statuses=["CREATED", "DECLINED"]), {"c1", "c2", "c3"}),
        (orders("count", "gte", 1, within="P30D", statuses=["DECLINED"]), {"c3"}),
        (orders("count", "gte", 1, siteCode="outlet"), {"c2"}),
        (orders("count", "eq", 2, siteCode="main"), {"c1"}),
        (orders("count", "gte", 1, currency="USD"), {"c2"}),
        (orders("count", "eq", 0, currency="EUR"), {"c2", "c3", "c4"}),
        (orders("count", "gte", 1, product="p1"), {"c1", "c2"}),
        (orders("count", "eq", 1, product="p3", within="P30D"), {"c1"}),
        (orders("count", "gte", 1, product="p9"), set()),
    ],
)
def test_count(rules: RuleApi, buyers: None, condition: dict[str, Any], expected: set[str]) -> None:
    assert matched(rules, condition) == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (orders("total", "eq", 175), {"c1"}),
        (orders("total", "gt", 100), {"c1"}),
        (orders("total", "between", [25, 100]), {"c2"}),
        (orders("total", "lte", 0), {"c3", "c4"}),
        (orders("total", "ne", 0), {"c1", "c2"}),
        (orders("total", "in", [30, 175]), {"c1", "c2"}),
        (orders("total", "eq", 30, currency="USD"), {"c2"}),
        (orders("total", "eq", 75, within="P30D"), {"c1"}),
        (orders("total", "eq", 999, statuses=["DECLINED"]), {"c3"}),
        (orders("total", "eq", 50, product="p2"), {"c1"}),
        (orders("total", "gte", 100, product="p1"), {"c1"}),
        (orders("total", "eq", 30, product="p1"), {"c2"}),
    ],
)
def test_total(rules: RuleApi, buyers: None, condition: dict[str, Any], expected: set[str]) -> None:
    assert matched(rules, condition) == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (orders("lastOrderAt", "withinLast", "P30D"), {"c1"}),
        (orders("lastOrderAt", "olderThan", "P30D"), {"c2"}),
        (orders("lastOrderAt", "missing"), {"c3", "c4"}),
        (orders("lastOrderAt", "exists"), {"c1", "c2"}),
        (orders("lastOrderAt", "withinLast", "P30D", statuses=["DECLINED"]), {"c3"}),
        (orders("lastOrderAt", "olderThan", "P365D", product="p1"), {"c1"}),
        (orders("lastOrderAt", "missing", within="P100D"), {"c2", "c3", "c4"}),
        (orders("firstOrderAt", "eq", FIRST), {"c1"}),
        (orders("firstOrderAt", "ne", "2020-01-10T00:00:00Z"), {"c2"}),
        (orders("firstOrderAt", "in", ["2020-01-10T01:00:00+01:00", "2000-01-01T00:00:00Z"]), {"c1"}),
        (orders("firstOrderAt", "nin", ["2020-01-10T00:00:00Z"]), {"c2"}),
        (orders("firstOrderAt", "lt", "2020-06-01T00:00:00Z"), {"c1"}),
        (orders("firstOrderAt", "gt", "2020-06-01T00:00:00Z"), {"c2"}),
        (orders("firstOrderAt", "gte", "2020-01-10T00:00:00Z"), {"c1", "c2"}),
        (orders("firstOrderAt", "lte", "2020-01-10T00:00:00"), {"c1"}),
        (orders("firstOrderAt", "between", ["2020-01-01T00:00:00Z", "2020-01-10T00:00:00Z"]), {"c1"}),
        (orders("firstOrderAt", "olderThan", "P100D", within="P365D"), {"c2"}),
        (orders("firstOrderAt", "withinLast", "P30D", within="P365D"), {"c1"}),
    ],
)
def test_order_dates(rules: RuleApi, buyers: None, condition: dict[str, Any], expected: set[str]) -> None:
    assert matched(rules, condition) == expected


def test_the_documented_examples(rules: RuleApi, buyers: None) -> None:
    win_back = {
        "all": [orders("count", "gte", 1), orders("lastOrderAt", "olderThan", "P90D")],
    }
    assert matched(rules, win_back) == {"c2"}
    new_customers = {
        "all": [attr("customer.metadata.createdAt", "withinLast", "P30D"), orders("count", "eq", 0)],
    }
    assert matched(rules, new_customers) == {"c3", "c4"}
    champions = {
        "all": [
            orders("count", "gte", 1, within="P365D", currency="EUR"),
            orders("total", "gte", 70, within="P365D", currency="EUR"),
            orders("lastOrderAt", "withinLast", "P30D"),
        ]
    }
    assert matched(rules, champions) == {"c1"}


def test_an_order_moves_the_customer_at_once(rules: RuleApi, buyers: None) -> None:
    segment = rules.create_segment()
    rules.save_rule(segment, orders("count", "eq", 0))
    assert rules.member_ids(segment) == {"c3", "c4"}
    add_order(rules, "c4", [("p1", 5)])
    assert rules.member_ids(segment) == {"c3"}


def test_preview_counts_purchase_rules(rules: RuleApi, buyers: None) -> None:
    segment = rules.create_segment()
    rules.save_rule(segment, orders("count", "gte", 1))
    preview = rules.preview(segment, orders("count", "eq", 0))
    assert preview == {
        "matchCount": 2,
        "memberCount": 2,
        "added": {"count": 2, "sample": [{"customerId": "c3"}, {"customerId": "c4"}]},
        "removed": {"count": 2, "sample": [{"customerId": "c1"}, {"customerId": "c2"}]},
    }
    assert rules.member_ids(segment) == {"c1", "c2"}


def _post(rules: RuleApi, path: str, body: dict[str, Any]) -> None:
    response = rules.client.post(path, json=body, headers=rules.auth())
    assert response.status_code == 201, response.text


@pytest.fixture
def catalogue(rules: RuleApi, buyers: None) -> None:
    """Products p1..p3; categories garden > tools; p2 in tools, p3 in garden, p1 in none; `empty` without products."""
    for product in ("p1", "p2", "p3"):
        body = {"id": product, "code": product, "name": {"en": product}, "published": True}
        _post(rules, f"/product/{rules.tenant}/products", body)
    for category, parent in (("garden", None), ("tools", "garden"), ("empty", None)):
        body = {"id": category, "localizedName": {"en": category}, "published": True}
        _post(rules, f"/category/{rules.tenant}/categories", body | ({"parentId": parent} if parent else {}))
    _post(rules, f"/category/{rules.tenant}/categories/tools/assignments", {"ref": {"id": "p2", "type": "PRODUCT"}})
    _post(rules, f"/category/{rules.tenant}/categories/garden/assignments", {"ref": {"id": "p3", "type": "PRODUCT"}})


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (orders("count", "gte", 1, category="garden"), {"c1"}),
        (orders("total", "eq", 75, category="garden"), {"c1"}),
        (orders("total", "eq", 50, category="tools"), {"c1"}),
        (orders("count", "gte", 1, category="empty"), set()),
        (orders("count", "eq", 0, category="garden"), {"c2", "c3", "c4"}),
        (orders("lastOrderAt", "withinLast", "P30D", category="tools"), {"c1"}),
    ],
)
def test_category(rules: RuleApi, catalogue: None, condition: dict[str, Any], expected: set[str]) -> None:
    assert matched(rules, condition) == expected


def test_a_category_assignment_reevaluates_category_rules(rules: RuleApi, catalogue: None) -> None:
    segment = rules.create_segment()
    rules.save_rule(segment, orders("count", "gte", 1, category="garden"))
    assert rules.member_ids(segment) == {"c1"}
    _post(rules, f"/category/{rules.tenant}/categories/tools/assignments", {"ref": {"id": "p1", "type": "PRODUCT"}})
    assert rules.wait_ready(segment)["state"] == "READY"
    assert rules.member_ids(segment) == {"c1", "c2"}
